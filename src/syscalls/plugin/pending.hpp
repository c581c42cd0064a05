// Syscall entries waiting for their return, keyed by guest thread: the task pointer
// plus the pt_regs pointer (or the stack pointer at the return site). Never by
// process or vCPU: threads of one process and a thread migrating between vCPUs
// must not meet. Several vCPU threads (MTTCG) use it at once: lock-striped shards,
// each a fixed open-addressing table allocated up front (no allocation per event).
#pragma once
#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>

#include "event/record.hpp"
#include "os/linux/kernel.hpp"

namespace vmitrace::syscalls {

struct PendingKey {
  uint64_t task = 0;   // 0 when the frame alone identifies the thread (pt_regs)
  uint64_t frame = 0;  // pt_regs pointer, or rsp expected at the return site
  bool operator==(const PendingKey&) const = default;
};

struct PendingEntry {
  PendingKey key;
  uint64_t regs = 0;        // pt_regs pointer (0 when the hook had none)
  int64_t tid = -1;         // to refuse a recycled task_struct at return
  oslinux::ProcessContext ctx;  // the entry's context, repeated on the sysret
  uint64_t args[6] = {};    // the entry's argument values (out arguments at return)
  uint32_t nr = 0;
  uint16_t hook = 0;        // index of the entry hook (Module)
  event::Abi abi = event::Abi::linux_x64;
  bool used = false;
  bool rate_limited = false;  // entry dropped by the rate limit: drop its return too
};

class PendingTable {
 public:
  static constexpr unsigned kShards = 64;
  static constexpr unsigned kSlots = 256;  // per shard: 16384 threads inside syscalls

  PendingTable();
  // Stores e; returns false when it replaced an older entry of the same key or
  // evicted one (both count as a lost entry).
  bool put(const PendingEntry& e);
  // Removes and returns the entry of key; false when there is none.
  bool take(const PendingKey& key, PendingEntry& out);
  size_t size() const;
  // Lock-free hint for the return hook: true when no entry waits at all (with a
  // filter, most returns belong to untraced syscalls and stop here, reading nothing).
  bool empty() const { return live_.load(std::memory_order_acquire) == 0; }
  // fn(nonempty) is called when the table stops being empty and when it becomes
  // empty again. Calls are serialised and each passes the state at its time, so
  // the last call always gives the current state even when put and take race on
  // two vCPUs. The plugin opens and closes the backend's hook gate with it.
  void set_watcher(std::function<void(bool nonempty)> fn) { watcher_ = std::move(fn); }

 private:
  struct Shard {
    mutable std::mutex mu;
    PendingEntry slots[kSlots];
    unsigned count = 0;
  };
  static uint64_t hash(const PendingKey& k);
  Shard& shard_of(uint64_t h) { return shards_[h % kShards]; }
  std::unique_ptr<Shard[]> shards_;
  void notify_watcher();
  std::atomic<uint64_t> live_{0};
  std::function<void(bool)> watcher_;
  std::mutex watcher_mu_;
};

}  // namespace vmitrace::syscalls

// Syscall entries waiting for their return, keyed by guest thread: the task pointer
// plus the pt_regs pointer (or the stack pointer at the return site). Never by
// process or vCPU: threads of one process and a thread migrating between vCPUs
// must not meet. Several vCPU threads (MTTCG) use it at once: lock-striped shards,
// each a fixed open-addressing table allocated on its first put (a plugin that never
// sees a syscall, e.g. one fuzz input, pays no multi-MB zeroing; later events
// allocate nothing).
//
// One table for both guest OSes: the payload is a template parameter (the Linux
// tracer's entry in syscalls/linux/pending_entry.hpp, the Windows tracer's in
// syscalls/windows/tracer.cpp). An entry type needs `PendingKey key` and `bool used`.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace vmitrace::syscalls {

struct PendingKey {
  uint64_t task = 0;   // 0 when the frame alone identifies the thread (pt_regs)
  uint64_t frame = 0;  // pt_regs pointer, or rsp expected at the return site
  bool operator==(const PendingKey&) const = default;
};

template <class Entry>
class BasicPendingTable {
 public:
  static constexpr unsigned kShards = 64;
  static constexpr unsigned kSlots = 256;  // per shard: 16384 threads inside syscalls

  BasicPendingTable() : shards_(new Shard[kShards]) {}
  // Stores e; returns false when it replaced an older entry of the same key or
  // evicted one (both count as a lost entry).
  bool put(const Entry& e);
  // Removes and returns the entry of key; false when there is none.
  bool take(const PendingKey& key, Entry& out);
  size_t size() const;
  // Shards whose slots are allocated (tests: allocation is lazy).
  unsigned allocated_shards() const;
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
    std::unique_ptr<Entry[]> slots;  // kSlots, allocated by the first put (under mu)
    unsigned count = 0;
  };
  static uint64_t hash(const PendingKey& k) {
    uint64_t h = k.task * 0x9e3779b97f4a7c15ull ^ (k.frame + 0x632be59bd9b4e019ull + (k.task >> 7));
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
  }
  static unsigned home_of(uint64_t h) { return static_cast<unsigned>((h / kShards) % kSlots); }
  Shard& shard_of(uint64_t h) { return shards_[h % kShards]; }
  void notify_watcher();

  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> live_{0};
  std::function<void(bool)> watcher_;
  std::mutex watcher_mu_;
};

template <class Entry>
bool BasicPendingTable<Entry>::put(const Entry& e) {
  const uint64_t h = hash(e.key);
  Shard& s = shard_of(h);
  const unsigned home = home_of(h);
  std::lock_guard lock(s.mu);
  if (!s.slots) s.slots.reset(new Entry[kSlots]);  // once per shard, ever
  for (unsigned i = 0; i < kSlots; ++i) {
    Entry& slot = s.slots[(home + i) % kSlots];
    if (!slot.used) {
      slot = e;
      slot.used = true;
      ++s.count;
      if (live_.fetch_add(1, std::memory_order_acq_rel) == 0) notify_watcher();
      return true;
    }
    if (slot.key == e.key) {  // the previous entry of this thread never returned
      slot = e;
      slot.used = true;
      return false;
    }
  }
  // Full shard (thousands of threads blocked in syscalls): evict the home slot.
  // Evicting breaks no probe chain: the slot stays used.
  Entry& victim = s.slots[home];
  victim = e;
  victim.used = true;
  return false;
}

template <class Entry>
bool BasicPendingTable<Entry>::take(const PendingKey& key, Entry& out) {
  const uint64_t h = hash(key);
  Shard& s = shard_of(h);
  const unsigned home = home_of(h);
  std::lock_guard lock(s.mu);
  if (!s.slots) return false;
  unsigned i = 0;
  for (; i < kSlots; ++i) {
    const Entry& slot = s.slots[(home + i) % kSlots];
    if (!slot.used) return false;
    if (slot.key == key) break;
  }
  if (i == kSlots) return false;
  unsigned hole = (home + i) % kSlots;
  out = s.slots[hole];
  // Backward-shift deletion: keeps probe chains intact without tombstones.
  unsigned j = hole;
  // At most one lap: a full shard has no empty slot to stop at.
  for (unsigned step = 1; step < kSlots; ++step) {
    j = (j + 1) % kSlots;
    Entry& next = s.slots[j];
    if (!next.used) break;
    const unsigned want = home_of(hash(next.key));
    // Move next into the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (want > hole && want <= j) : (want > hole || want <= j);
    if (!stays) {
      s.slots[hole] = next;
      hole = j;
    }
  }
  s.slots[hole].used = false;
  --s.count;
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) notify_watcher();
  return true;
}

template <class Entry>
void BasicPendingTable<Entry>::notify_watcher() {
  if (!watcher_) return;
  std::lock_guard lock(watcher_mu_);
  watcher_(live_.load(std::memory_order_acquire) != 0);
}

template <class Entry>
size_t BasicPendingTable<Entry>::size() const {
  size_t n = 0;
  for (unsigned i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].count;
  }
  return n;
}

template <class Entry>
unsigned BasicPendingTable<Entry>::allocated_shards() const {
  unsigned n = 0;
  for (unsigned i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].slots != nullptr;
  }
  return n;
}

}  // namespace vmitrace::syscalls

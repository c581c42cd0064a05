// Per-process rate limit (`--rate-limit N`): at most N syscalls per second per guest
// process (PID = tgid), with a burst of N; a syscall over the limit is dropped
// together with its return and counted, by process.
//
// Why per process and not DRAKVUF's traps-ttl: traps-ttl counts hits per *trap*
// and removes the trap when it fires too often. vmitrace hooks one dispatcher
// (x64_sys_call) for every syscall, so a per-trap limit would let one noisy
// process switch tracing off for the whole guest. A per-process bucket silences
// only the process that floods, and everything dropped is accounted for.
//
// Runs on vCPU threads (several at once under MTTCG): a fixed table allocated up
// front, lock-striped; no allocation per event.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "event/record.hpp"

namespace vmitrace::syscalls {

struct RateLimitedProcess {
  int64_t pid = -1;
  char name[event::kCommLen] = {};  // not necessarily NUL-terminated
  uint64_t dropped = 0;
};

class RateLimiter {
 public:
  static constexpr unsigned kStripes = 16;
  static constexpr unsigned kSlots = 64;  // per stripe: 1024 processes tracked at once

  explicit RateLimiter(uint32_t per_second);  // 0: no limit (allow() is always true)
  bool enabled() const { return rate_ != 0; }
  // One syscall of process pid at host time now_ns: true if it may be traced,
  // false if it is over the limit (counted as one dropped event).
  bool allow(int64_t pid, const char* name, uint64_t now_ns);
  // Counts one more dropped event of pid (the return of a dropped syscall).
  void count_drop(int64_t pid, const char* name);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // The processes with the most drops, most first (at most n). Drops of processes
  // whose slot was reused are in dropped() but not in this list.
  std::vector<RateLimitedProcess> top(size_t n) const;

 private:
  struct Slot {
    int64_t pid = -1;         // -1: free
    uint64_t tokens = 0;      // in 1e-9 tokens (fixed point)
    uint64_t last_ns = 0;     // last refill / use
    uint64_t dropped = 0;
    char name[event::kCommLen] = {};
  };
  struct Stripe {
    mutable std::mutex mu;
    Slot slots[kSlots];
  };
  Slot& slot_of(Stripe& st, int64_t pid, const char* name, uint64_t now_ns);

  uint64_t rate_;  // tokens per second (= burst)
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace vmitrace::syscalls

// Return-site hooking, shared by the Linux plugin's return-address fallback and the
// Windows tracer: at entry the hooked routine's return address is on top of the
// kernel stack; each distinct address gets one hook, placed the first time it is
// seen (a handful exist: the dispatchers). The pending entry is keyed by the guest
// thread plus the stack pointer the return site will see once `ret` has popped, so
// threads never meet and an entry a thread left behind is replaced by its next one.
//
// The set is fixed-size and read lock-free on the entry path; adding one takes the
// owner's lock (which also guards the owner's hook list). No allocation per event.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>

#include "syscalls/core/pending.hpp"

namespace vmitrace::syscalls {

class ReturnSites {
 public:
  static constexpr unsigned kMax = 64;
  explicit ReturnSites(unsigned limit) : limit_(limit < kMax ? limit : kMax) {}

  // True when addr has a return hook (placed now or earlier). Otherwise, under mu,
  // calls place() to hook addr; place returns false to refuse (tracing stopped).
  // False as well once `limit` sites exist: that call gets no return event.
  template <class Place>
  bool ensure(uint64_t addr, std::mutex& mu, Place&& place) {
    if (known(addr, n_.load(std::memory_order_acquire))) return true;
    std::lock_guard lock(mu);
    const unsigned n = n_.load(std::memory_order_relaxed);
    if (known(addr, n)) return true;
    if (n >= limit_ || !place()) return false;
    sites_[n].store(addr, std::memory_order_relaxed);
    n_.store(n + 1, std::memory_order_release);
    return true;
  }
  unsigned size() const { return n_.load(std::memory_order_acquire); }

  // The key of an entry whose caller's `ret` pops the return address (ptr bytes) and
  // pop more (x86 stdcall `ret N`): the stack pointer as the return site sees it.
  static PendingKey entry_key(uint64_t thread, uint64_t sp, unsigned ptr, uint32_t pop = 0) {
    return {thread, narrow(sp, ptr) + ptr + pop};
  }
  // The key to take at the return site.
  static PendingKey site_key(uint64_t thread, uint64_t sp, unsigned ptr) { return {thread, narrow(sp, ptr)}; }

 private:
  static uint64_t narrow(uint64_t sp, unsigned ptr) { return ptr == 4 ? sp & 0xffffffffu : sp; }
  bool known(uint64_t addr, unsigned n) const {
    for (unsigned i = 0; i < n; ++i)
      if (sites_[i].load(std::memory_order_relaxed) == addr) return true;
    return false;
  }

  std::atomic<uint64_t> sites_[kMax] = {};
  std::atomic<unsigned> n_{0};
  const unsigned limit_;
};

}  // namespace vmitrace::syscalls

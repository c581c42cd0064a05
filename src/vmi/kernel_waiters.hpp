// The bookkeeping behind Backend::when_in_kernel, one implementation for every
// backend: the callbacks still waiting for a vCPU in kernel mode, each with the
// kernel space its caller gave, and a lock-free pre-test for a backend's hot path
// (QEMU's translation callback asks "could code at this address be wanted?").
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "vmi/vmi.hpp"

namespace vmitrace::vmi {

class KernelWaiters {
 public:
  using Fn = std::function<bool(Vcpu&)>;

  // Thread-safe, also from inside a waiter's callback (taken up by the next offer).
  void add(const KernelSpace& space, Fn fn);
  // Lock-free: some waiter's range (for vCPUs of pointer size ptr) may hold ip.
  // Tests the hull of the ranges: a cheap filter, offer() decides exactly.
  bool may_want(uint64_t ip, unsigned ptr) const;
  bool wanted() const { return wanted_.load(std::memory_order_acquire); }

  enum class Offer { busy, waiting, done };
  // Offers cpu, executing at ip, to each waiter whose range for cpu.pointer_size()
  // holds ip; a waiter that returns true is dropped. Never blocks: `busy` when another
  // thread is offering. `done` when this call dropped the last waiter. A callback's
  // exception propagates after its waiter is dropped (the list stays consistent).
  Offer offer(Vcpu& cpu, uint64_t ip);

 private:
  struct Waiter {
    KernelSpace space;
    Fn fn;
  };
  void grow_hull_locked(const KernelSpace& s);
  bool settle();  // after an offer: recompute the hulls; true when none wait

  std::mutex offer_mu_;     // one offering thread at a time (try-locked)
  std::vector<Waiter> waiters_;  // guarded by offer_mu_
  std::mutex incoming_mu_;  // add() and the hulls
  std::vector<Waiter> incoming_;
  std::atomic<bool> wanted_{false};
  std::atomic<uint64_t> lo_[2] = {UINT64_MAX, UINT64_MAX}, hi_[2] = {0, 0};  // [0]: 4-byte, [1]: 8-byte
};

}  // namespace vmitrace::vmi

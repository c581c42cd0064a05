#include "vmi/kernel_waiters.hpp"

#include <algorithm>

namespace vmitrace::vmi {

void KernelWaiters::grow_hull_locked(const KernelSpace& s) {
  for (unsigned i = 0; i < 2; ++i) {
    const VaRange& r = s.for_pointer_size(i ? 8 : 4);
    if (r.empty()) continue;
    lo_[i].store(std::min(lo_[i].load(std::memory_order_relaxed), r.first), std::memory_order_relaxed);
    hi_[i].store(std::max(hi_[i].load(std::memory_order_relaxed), r.last), std::memory_order_relaxed);
  }
}

void KernelWaiters::add(const KernelSpace& space, Fn fn) {
  std::lock_guard lock(incoming_mu_);
  incoming_.push_back({space, std::move(fn)});
  grow_hull_locked(space);
  wanted_.store(true, std::memory_order_release);
}

bool KernelWaiters::may_want(uint64_t ip, unsigned ptr) const {
  if (!wanted()) return false;
  const unsigned i = ptr == 8 ? 1 : 0;
  return ip >= lo_[i].load(std::memory_order_relaxed) && ip <= hi_[i].load(std::memory_order_relaxed);
}

bool KernelWaiters::settle() {
  std::lock_guard in(incoming_mu_);
  for (unsigned i = 0; i < 2; ++i) {
    lo_[i].store(UINT64_MAX, std::memory_order_relaxed);
    hi_[i].store(0, std::memory_order_relaxed);
  }
  for (const Waiter& w : waiters_) grow_hull_locked(w.space);
  for (const Waiter& w : incoming_) grow_hull_locked(w.space);
  const bool none = waiters_.empty() && incoming_.empty();
  wanted_.store(!none, std::memory_order_release);
  return none;
}

KernelWaiters::Offer KernelWaiters::offer(Vcpu& cpu, uint64_t ip) {
  std::unique_lock busy(offer_mu_, std::try_to_lock);
  if (!busy.owns_lock()) return Offer::busy;  // another vCPU is in there; it will do
  {
    std::lock_guard in(incoming_mu_);
    for (auto& w : incoming_) waiters_.push_back(std::move(w));
    incoming_.clear();
  }
  if (waiters_.empty()) return Offer::waiting;  // a previous offer already said done
  const unsigned ptr = cpu.pointer_size();
  for (size_t i = 0; i < waiters_.size();) {
    if (!waiters_[i].space.contains(ip, ptr)) {
      ++i;
      continue;
    }
    bool done = true;
    try {
      done = waiters_[i].fn(cpu);
    } catch (...) {
      waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(i));
      settle();
      throw;
    }
    if (done)
      waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(i));
    else
      ++i;
  }
  return settle() ? Offer::done : Offer::waiting;
}

}  // namespace vmitrace::vmi

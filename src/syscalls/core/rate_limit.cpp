#include "syscalls/core/rate_limit.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::syscalls {
namespace {

constexpr uint64_t kOne = 1'000'000'000;  // one token in fixed point (1e-9 units)

uint64_t mix(int64_t pid) {
  uint64_t h = static_cast<uint64_t>(pid) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

// A comm buffer need not end in a NUL, and a shorter C string must not be over-read.
void copy_comm(char* dst, const char* name) {
  std::memset(dst, 0, event::kCommLen);
  std::memcpy(dst, name, strnlen(name, event::kCommLen));
}

}  // namespace

RateLimiter::RateLimiter(uint32_t per_second)
    : rate_(per_second), stripes_(per_second ? std::make_unique<Stripe[]>(kStripes) : nullptr) {}

// The slot of pid in its stripe (caller holds the stripe lock): found by linear
// probing from the hash; a new process takes a free slot, else replaces the least
// recently seen process, preferring one that never had a drop (so the report loses
// as little as possible). A new bucket starts full.
RateLimiter::Slot& RateLimiter::slot_of(Stripe& st, int64_t pid, const char* name,
                                        uint64_t now_ns) {
  const unsigned start = static_cast<unsigned>(mix(pid) / kStripes % kSlots);
  Slot* victim = nullptr;
  for (unsigned i = 0; i < kSlots; ++i) {
    Slot& s = st.slots[(start + i) % kSlots];
    if (s.pid == pid) return s;
    if (s.pid == -1) {
      victim = &s;
      break;
    }
    auto older = [](const Slot& a, const Slot& b) {
      if ((a.dropped == 0) != (b.dropped == 0)) return a.dropped == 0;
      return a.last_ns < b.last_ns;
    };
    if (!victim || older(s, *victim)) victim = &s;
  }
  victim->pid = pid;
  victim->tokens = rate_ * kOne;
  victim->last_ns = now_ns;
  victim->dropped = 0;
  copy_comm(victim->name, name);
  return *victim;
}

bool RateLimiter::allow(int64_t pid, const char* name, uint64_t now_ns) {
  if (!rate_) return true;
  Stripe& st = stripes_[mix(pid) % kStripes];
  std::lock_guard lock(st.mu);
  Slot& s = slot_of(st, pid, name, now_ns);
  // Refill: rate tokens per second, at most one second's worth (the burst). The
  // clock is the host's: a step backwards refills nothing.
  if (now_ns > s.last_ns) {
    const uint64_t dt = std::min<uint64_t>(now_ns - s.last_ns, kOne);
    s.tokens = std::min(rate_ * kOne, s.tokens + dt * rate_);
    s.last_ns = now_ns;
  }
  if (s.tokens >= kOne) {
    s.tokens -= kOne;
    return true;
  }
  ++s.dropped;
  copy_comm(s.name, name);  // the name at the time of the drop
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void RateLimiter::count_drop(int64_t pid, const char* name) {
  if (!rate_) return;
  Stripe& st = stripes_[mix(pid) % kStripes];
  std::lock_guard lock(st.mu);
  Slot& s = slot_of(st, pid, name, 0);
  ++s.dropped;
  dropped_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<RateLimitedProcess> RateLimiter::top(size_t n) const {
  std::vector<RateLimitedProcess> out;
  if (!rate_) return out;
  for (unsigned k = 0; k < kStripes; ++k) {
    std::lock_guard lock(stripes_[k].mu);
    for (const Slot& s : stripes_[k].slots) {
      if (s.pid == -1 || s.dropped == 0) continue;
      RateLimitedProcess p;
      p.pid = s.pid;
      p.dropped = s.dropped;
      std::memcpy(p.name, s.name, event::kCommLen);
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.dropped != b.dropped ? a.dropped > b.dropped : a.pid < b.pid;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace vmitrace::syscalls

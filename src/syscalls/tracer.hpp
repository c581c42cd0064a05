// One guest OS's syscall tracer, as every layer above sees it: hooks placed by
// start(), counters and the rate limiter kept here once for every OS (so no caller
// can reach a counter one OS lacks), the fatal error and the plan text. The Linux
// tracer (syscalls/plugin/plugin.cpp) and the Windows one (syscalls/windows/) derive
// from it; syscalls::Plugin picks one from the profile.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "syscalls/plugin/rate_limit.hpp"

namespace vmitrace::syscalls {

struct PluginStats {
  uint64_t syscalls = 0, sysrets = 0;
  uint64_t returns_unpaired = 0;     // return without a pending entry (e.g. fork child)
  uint64_t entries_lost = 0;         // entry replaced before its return came
  uint64_t read_failures = 0;        // guest reads that failed (marked values)
  uint64_t pending = 0;              // entries waiting for their return now
  uint64_t rate_limited = 0;         // events dropped by rate_limit (entries + returns)
};

class Tracer {
 public:
  virtual ~Tracer() = default;
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Asks the backend to call back in kernel mode; there the tracer finds the kernel
  // and places its hooks.
  virtual void start() = 0;
  virtual std::string hook_plan() const = 0;
  virtual bool tracing() const = 0;
  virtual std::string error() const = 0;  // "" while none

  virtual PluginStats stats() const {
    PluginStats s;
    s.syscalls = n_syscalls.load();
    s.sysrets = n_sysrets.load();
    s.returns_unpaired = n_unpaired.load();
    s.entries_lost = n_lost.load();
    s.read_failures = n_read_fail.load();
    s.pending = pending_entries();
    s.rate_limited = limiter.dropped();
    return s;
  }
  virtual std::vector<RateLimitedProcess> rate_limited_top(size_t n) const { return limiter.top(n); }

 protected:
  explicit Tracer(uint32_t rate_limit) : limiter(rate_limit) {}
  virtual size_t pending_entries() const = 0;

  // Shared by the vCPU threads (relaxed increments). The limiter decides per process
  // before anything is captured; a dropped entry's return is dropped and counted too.
  RateLimiter limiter;
  std::atomic<uint64_t> n_syscalls{0}, n_sysrets{0}, n_unpaired{0}, n_lost{0}, n_read_fail{0};
};

}  // namespace vmitrace::syscalls

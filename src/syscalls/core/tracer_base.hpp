// One guest OS's syscall tracer, as every layer above sees it: hooks placed by
// start(), counters and the rate limiter kept here once for every OS (so no caller
// can reach a counter one OS lacks), the fatal error and the plan text; and what a
// tracer is told (TracerConfig). The Linux tracer (syscalls/linux/) and the Windows
// one (syscalls/windows/) derive from it; syscalls/tracer.hpp picks one from the
// profile, and is what the layers above include.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "options/capture_options.hpp"
#include "syscalls/core/rate_limit.hpp"

namespace vmitrace::syscalls {

// How far the start-up got (published for "waiting for the guest kernel" messages
// and --start-timeout; the numbers travel in the event ring's header).
enum class StartPhase : uint64_t {
  waiting = 0,           // no vCPU seen in kernel mode yet (firmware, boot loader)
  kernel_code_seen = 1,  // kernel-mode code runs, the profile's kernel not located yet
  tracing = 2,           // located, hooks placed
};

// What the tracer is told (options/capture_options.hpp: the same struct the CLI fills
// and the QEMU module receives), plus how it reports a fatal error.
struct TracerConfig : options::CaptureOptions {
  bool warn_unknown_filter_names = true;  // off for validate(): the tracer that traces warns
  // Called once, on a vCPU thread, when tracing stops for good at run time (e.g. the
  // profile does not match the running kernel). The message is also on stderr.
  std::function<void(const std::string&)> on_fatal;
  // Called once per phase reached (kernel_code_seen, tracing), on a vCPU thread.
  std::function<void(StartPhase)> on_start_phase;
};

struct TracerStats {
  uint64_t syscalls = 0, sysrets = 0;
  uint64_t returns_unpaired = 0;     // return without a pending entry (e.g. fork child)
  uint64_t entries_lost = 0;         // entry replaced before its return came
  uint64_t read_failures = 0;        // guest reads that failed (marked values)
  uint64_t pending = 0;              // entries waiting for their return now
  uint64_t rate_limited = 0;         // events dropped by rate_limit (entries + returns)
};

class Tracer {
 public:
  virtual ~Tracer() = default;  // removes its hooks: the backend must outlive the tracer
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Asks the backend to call back in kernel mode; there the tracer finds the kernel
  // (KASLR) and places its hooks. The chosen hook points are printed once on stderr.
  virtual void start() = 0;
  // One line: "x64 via x64_sys_call, ia32 via ia32_sys_call, return via ...".
  virtual std::string hook_plan() const = 0;
  // True once the hooks are in place.
  virtual bool tracing() const = 0;
  // The fatal run-time error ("" while none), e.g. the banner mismatch.
  virtual std::string error() const = 0;

  TracerStats stats() const {
    TracerStats s;
    s.syscalls = n_syscalls.load();
    s.sysrets = n_sysrets.load();
    s.returns_unpaired = n_unpaired.load();
    s.entries_lost = n_lost.load();
    s.read_failures = n_read_fail.load();
    s.pending = pending_entries();
    s.rate_limited = limiter.dropped();
    return s;
  }
  // The processes with the most events dropped by the rate limit (at most n).
  std::vector<RateLimitedProcess> rate_limited_top(size_t n) const { return limiter.top(n); }

 protected:
  explicit Tracer(uint32_t rate_limit) : limiter(rate_limit) {}
  virtual size_t pending_entries() const = 0;

  // Shared by the vCPU threads (relaxed increments). The limiter decides per process
  // before anything is captured; a dropped entry's return is dropped and counted too.
  RateLimiter limiter;
  std::atomic<uint64_t> n_syscalls{0}, n_sysrets{0}, n_unpaired{0}, n_lost{0}, n_read_fail{0};
};

}  // namespace vmitrace::syscalls

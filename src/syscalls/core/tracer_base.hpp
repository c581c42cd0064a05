// One guest OS's syscall tracer, as every layer above sees it: hooks placed by
// start(), counters and the rate limiter kept here once for every OS (so no caller
// can reach a counter one OS lacks), the fatal error, the start phases, the hook
// list and its teardown, and the plan text; and what a tracer is told (TracerConfig). The Linux tracer (syscalls/linux/) and the Windows
// one (syscalls/windows/) derive from it; syscalls/tracer.hpp picks one from the
// profile, and is what the layers above include.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "options/capture_options.hpp"
#include "syscalls/core/rate_limit.hpp"
#include "syscalls/core/return_sites.hpp"
#include "vmi/vmi.hpp"

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
  void start();
  // One line: "x64 via x64_sys_call, ia32 via ia32_sys_call, return via ...".
  virtual std::string hook_plan() const = 0;
  // True once the hooks are in place.
  bool tracing() const { return tracing_on_.load(); }
  // The fatal run-time error ("" while none), e.g. the banner mismatch.
  std::string error() const;

  // Virtual for a tracer that hands over to another (syscalls/linux/memory_start.hpp).
  virtual TracerStats stats() const {
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
  virtual std::vector<RateLimitedProcess> rate_limited_top(size_t n) const { return limiter.top(n); }

 protected:
  // space: where this OS's kernel code runs (the backend probes vCPUs against it).
  Tracer(const TracerConfig& c, vmi::Backend& b, const vmi::KernelSpace& space)
      : cfg(c), backend(b), limiter(c.rate_limit), space_(space) {}
  // On a vCPU in kernel mode, until it returns true (vmi::Backend::when_in_kernel).
  virtual bool on_kernel(vmi::Vcpu& cpu) = 0;
  // Why this tracer cannot trace the backend's guest at all ("" when it may: e.g. a
  // profile of another architecture than vmi::Backend::machine()); start() makes it
  // the fatal error instead of waiting for a kernel that never comes.
  virtual std::string start_refusal() const { return {}; }
  virtual size_t pending_entries() const = 0;

  // Tracing stops for good: the first message is kept (error()), printed on stderr
  // and passed to cfg.on_fatal; later ones are dropped. Takes mu.
  void fatal(const std::string& msg);
  // The same for a message already printed (by a tracer this one handed over to).
  void fatal_printed(const std::string& msg);
  // Start phases for cfg.on_start_phase: kernel code seen (reported once), tracing
  // (sets tracing(); call once the hooks are placed).
  void saw_kernel_code();
  void now_tracing();
  // Return-site hooking: addr gets one hook (gated: vmi::Backend::add_gated_hook) the
  // first time it is seen. False when it has none: tracing stopped, or `sites` full.
  bool hook_return_site(ReturnSites& sites, uint64_t addr, bool gated, vmi::HookFn fn);
  // Removes every hook; callbacks still in flight see `failed` and return at once.
  // Each tracer's destructor calls it first, while the members its hooks use live.
  void remove_hooks();

  const TracerConfig cfg;
  vmi::Backend& backend;
  mutable std::mutex mu;             // hooks, return sites, the error text (and each
                                     // tracer's own start-up state, where it says so)
  std::vector<vmi::HookId> hooks;    // under mu
  std::atomic<bool> failed{false};   // after fatal() or at teardown: callbacks return

  // Shared by the vCPU threads (relaxed increments). The limiter decides per process
  // before anything is captured; a dropped entry's return is dropped and counted too.
  RateLimiter limiter;
  std::atomic<uint64_t> n_syscalls{0}, n_sysrets{0}, n_unpaired{0}, n_lost{0}, n_read_fail{0};

 private:
  const vmi::KernelSpace space_;
  std::atomic<bool> started_{false}, tracing_on_{false}, kernel_seen_{false};
  std::string error_text_;  // under mu
  bool keep_error(const std::string& msg);  // the first one only; sets failed
};

}  // namespace vmitrace::syscalls

// The syscalls plugin: decides the hook plan for the guest kernel, captures each
// syscall entry (number, arguments, the memory they point to, process context) and
// its return, and emits plain event records to a sink. Backend-agnostic: it sees
// only vmi::Backend / vmi::Vcpu.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "options/capture_options.hpp"
#include "syscalls/plugin/rate_limit.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls {
namespace windows { class Tracer; }

// What the tracer is told (options/capture_options.hpp: the same struct the CLI fills
// and the QEMU module receives), plus how it reports a fatal error.
struct PluginConfig : options::CaptureOptions {
  // Called once, on a vCPU thread, when tracing stops for good at run time (e.g. the
  // profile does not match the running kernel). The message is also on stderr.
  std::function<void(const std::string&)> on_fatal;
};

struct PluginStats {
  uint64_t syscalls = 0, sysrets = 0;
  uint64_t returns_unpaired = 0;     // return without a pending entry (e.g. fork child)
  uint64_t entries_lost = 0;         // entry replaced before its return came
  uint64_t read_failures = 0;        // guest reads that failed (marked values)
  uint64_t pending = 0;              // entries waiting for their return now
  uint64_t rate_limited = 0;         // events dropped by rate_limit (entries + returns)
};

class Plugin {
 public:
  // Loads the profile and the filter; throws vmitrace::Error("FILE: problem"),
  // also when the profile has no usable hook point.
  Plugin(const PluginConfig& cfg, vmi::Backend& backend, vmi::EventSink& sink);
  // Same with a profile already in memory (tests, profiles built from a kernel image).
  Plugin(const PluginConfig& cfg, profile::Profile prof, vmi::Backend& backend,
         vmi::EventSink& sink);
  ~Plugin();  // removes its hooks: the backend must outlive the plugin
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Asks the backend to find the kernel (KASLR) and then places the hooks. The
  // chosen hook points are printed once on stderr.
  void start();
  PluginStats stats() const;
  // The processes with the most events dropped by the rate limit (at most n).
  std::vector<RateLimitedProcess> rate_limited_top(size_t n) const;
  // One line: "x64 via x64_sys_call, ia32 via ia32_sys_call, return via ...".
  std::string hook_plan() const;
  // True once the hooks are in place.
  bool tracing() const;
  // The fatal run-time error ("" while none), e.g. the banner mismatch.
  std::string error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<windows::Tracer> win_;  // instead of impl_ for Windows profiles
};

}  // namespace vmitrace::syscalls

// The syscalls plugin: picks the tracer for the guest OS from the profile (Linux ISF
// or Windows PDB ISF; both are a syscalls::Tracer), which decides the hooks, captures
// each syscall entry (number, arguments, the memory they point to, process context)
// and its return, and emits plain event records to a sink. Backend-agnostic: it sees
// only vmi::Backend / vmi::Vcpu. No layer above knows which OS it traces.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "options/capture_options.hpp"
#include "syscalls/tracer.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

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
struct PluginConfig : options::CaptureOptions {
  bool warn_unknown_filter_names = true;  // off for Plugin::validate: the tracer that traces warns
  // Called once, on a vCPU thread, when tracing stops for good at run time (e.g. the
  // profile does not match the running kernel). The message is also on stderr.
  std::function<void(const std::string&)> on_fatal;
  // Called once per phase reached (kernel_code_seen, tracing), on a vCPU thread.
  std::function<void(StartPhase)> on_start_phase;
};

class Plugin {
 public:
  // Loads the profile and the filter; throws vmitrace::Error("FILE: problem"),
  // also when the profile has no usable hook point. Without cfg.profile_path a Linux
  // kernel's profile is built from guest memory once it runs (memory_start.hpp).
  Plugin(const PluginConfig& cfg, vmi::Backend& backend, vmi::EventSink& sink);
  // Same with a profile already in memory (tests, profiles built from a kernel image).
  Plugin(const PluginConfig& cfg, profile::Profile prof, vmi::Backend& backend,
         vmi::EventSink& sink);
  ~Plugin();  // removes its hooks: the backend must outlive the plugin
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // What the constructor would refuse (profile, filter, win32k profile, hook plan),
  // checked by constructing the same tracer without a guest: the CLI calls it before
  // it starts or stops a VM. Throws vmitrace::Error("FILE: problem").
  static void validate(const PluginConfig& cfg);

  // Asks the backend to find the kernel (KASLR) and then places the hooks. The
  // chosen hook points are printed once on stderr.
  void start() { tracer_->start(); }
  PluginStats stats() const { return tracer_->stats(); }
  // The processes with the most events dropped by the rate limit (at most n).
  std::vector<RateLimitedProcess> rate_limited_top(size_t n) const { return tracer_->rate_limited_top(n); }
  // One line: "x64 via x64_sys_call, ia32 via ia32_sys_call, return via ...".
  std::string hook_plan() const { return tracer_->hook_plan(); }
  // True once the hooks are in place.
  bool tracing() const { return tracer_->tracing(); }
  // The fatal run-time error ("" while none), e.g. the banner mismatch.
  std::string error() const { return tracer_->error(); }

 private:
  std::unique_ptr<Tracer> tracer_;  // never null
};

}  // namespace vmitrace::syscalls

// The syscalls plugin: picks the tracer for the guest OS from the profile (Linux ISF
// or Windows PDB ISF; both are a syscalls::Tracer), which decides the hooks, captures
// each syscall entry (number, arguments, the memory they point to, process context)
// and its return, and emits plain event records to a sink. Backend-agnostic: it sees
// only vmi::Backend / vmi::Vcpu. No layer above knows which OS it traces.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "syscalls/core/tracer_base.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls {

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

// The factory: the profile's metadata picks the guest OS's tracer.
#include "syscalls/tracer.hpp"

#include "profile/profile.hpp"
#include "syscalls/linux/tracer.hpp"
#include "syscalls/windows/tracer.hpp"

namespace vmitrace::syscalls {

// A guest that never runs: Plugin::validate constructs the tracer over it.
struct NoGuest final : vmi::Backend, vmi::EventSink {
  std::string name() const override { return "none"; }
  vmi::HookId add_hook(uint64_t, vmi::HookFn) override { return 0; }
  void remove_hook(vmi::HookId) override {}
  void when_in_kernel(const vmi::KernelSpace&, std::function<bool(vmi::Vcpu&)>) override {}
  void emit(const void*, size_t) override {}
};

Plugin::Plugin(const PluginConfig& cfg, vmi::Backend& backend, vmi::EventSink& sink)
    : Plugin(cfg, profile::Profile::load(cfg.profile_path), backend, sink) {}

Plugin::Plugin(const PluginConfig& cfg, profile::Profile prof, vmi::Backend& backend,
               vmi::EventSink& sink) {
  if (prof.metadata.os == "windows")
    tracer_ = make_windows_tracer(cfg, std::move(prof), backend, sink);
  else
    tracer_ = make_linux_tracer(cfg, std::move(prof), backend, sink);
}

Plugin::~Plugin() = default;

void Plugin::validate(const PluginConfig& cfg) {
  NoGuest none;
  Plugin check(cfg, none, none);
}

}  // namespace vmitrace::syscalls

// The factory: the profile's metadata picks the guest OS's tracer.
#include "syscalls/tracer.hpp"

#include "profile/profile.hpp"
#include "syscalls/linux/tracer.hpp"
#include "syscalls/windows/tracer.hpp"

namespace vmitrace::syscalls {
namespace {

// A guest that never runs: validate() makes the tracer over it.
struct NoGuest final : vmi::Backend, vmi::EventSink {
  std::string name() const override { return "none"; }
  vmi::HookId add_hook(uint64_t, vmi::HookFn) override { return 0; }
  void remove_hook(vmi::HookId) override {}
  void when_in_kernel(const vmi::KernelSpace&, std::function<bool(vmi::Vcpu&)>) override {}
  void emit(const void*, size_t) override {}
};

}  // namespace

std::unique_ptr<Tracer> make_tracer(const TracerConfig& cfg, vmi::Backend& backend,
                                    vmi::EventSink& sink) {
  return make_tracer(cfg, profile::Profile::load(cfg.profile_path), backend, sink);
}

std::unique_ptr<Tracer> make_tracer(const TracerConfig& cfg, profile::Profile prof,
                                    vmi::Backend& backend, vmi::EventSink& sink) {
  if (prof.metadata.os == "windows") return make_windows_tracer(cfg, std::move(prof), backend, sink);
  return make_linux_tracer(cfg, std::move(prof), backend, sink);
}

void validate(const TracerConfig& cfg) {
  NoGuest none;
  make_tracer(cfg, none, none);
}

}  // namespace vmitrace::syscalls

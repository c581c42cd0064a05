// What every OS's tracer does the same way: start-up request, fatal error, start
// phases, teardown of the hooks.
#include "syscalls/core/tracer_base.hpp"

#include <cstdio>

namespace vmitrace::syscalls {

void Tracer::start() {
  if (started_.exchange(true)) return;
  if (const std::string why = start_refusal(); !why.empty()) {
    fatal(why);
    return;
  }
  std::fprintf(stderr, "vmitrace: hooks: %s\n", hook_plan().c_str());
  backend.when_in_kernel(space_, [this](vmi::Vcpu& c) { return on_kernel(c); });
}

std::string Tracer::error() const {
  std::lock_guard lock(mu);
  return error_text_;
}

bool Tracer::keep_error(const std::string& msg) {
  std::lock_guard lock(mu);
  if (failed.exchange(true)) return false;
  error_text_ = msg;
  return true;
}

void Tracer::fatal(const std::string& msg) {
  if (!keep_error(msg)) return;
  std::fprintf(stderr, "vmitrace: error: %s\n", msg.c_str());
  if (cfg.on_fatal) cfg.on_fatal(msg);
}

void Tracer::fatal_printed(const std::string& msg) {
  if (keep_error(msg) && cfg.on_fatal) cfg.on_fatal(msg);
}

void Tracer::saw_kernel_code() {
  if (!kernel_seen_.exchange(true) && cfg.on_start_phase) cfg.on_start_phase(StartPhase::kernel_code_seen);
}

void Tracer::now_tracing() {
  tracing_on_.store(true);
  if (cfg.on_start_phase) cfg.on_start_phase(StartPhase::tracing);
}

bool Tracer::hook_return_site(ReturnSites& sites, uint64_t addr, bool gated, vmi::HookFn fn) {
  return sites.ensure(addr, mu, [&] {
    if (failed.load()) return false;
    hooks.push_back(gated ? backend.add_gated_hook(addr, std::move(fn)) : backend.add_hook(addr, std::move(fn)));
    return true;
  });
}

void Tracer::remove_hooks() {
  std::vector<vmi::HookId> ids;
  {
    std::lock_guard lock(mu);
    failed.store(true);  // callbacks still in flight return at once
    ids.swap(hooks);
  }
  for (vmi::HookId id : ids) backend.remove_hook(id);
}

}  // namespace vmitrace::syscalls

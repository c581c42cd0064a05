#include "syscalls/linux/memory_start.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/error.hpp"
#include "os/linux/kernel.hpp"
#include "os/linux/profile_probe.hpp"
#include "syscalls/core/filter.hpp"

namespace vmitrace::syscalls {
namespace {

class MemoryProfileTracer final : public Tracer {
 public:
  MemoryProfileTracer(const TracerConfig& cfg, vmi::Backend& backend, TracerFactory make)
      : Tracer(0), cfg_(cfg), backend_(backend), make_(std::move(make)),
        probe_({"guest memory", true, cfg.profile_cache, ""}) {
    // The filter is read again by the tracer that traces; it warns then, not here.
    if (!cfg_.filter_file.empty()) (void)load_linux_filter(cfg_.filter_file, false);
  }

  ~MemoryProfileTracer() override {
    std::lock_guard lock(mu_);
    if (initcall_hook_) backend_.remove_hook(initcall_hook_);
  }

  void start() override {
    if (started_.exchange(true)) return;
    backend_.when_in_kernel(oslinux::kKernelSpace, [this](vmi::Vcpu& c) { return on_kernel(c); });
  }
  std::string hook_plan() const override {
    const Tracer* t = inner_.load();
    return t ? t->hook_plan() : std::string("(not chosen yet: the profile comes from guest memory)");
  }
  bool tracing() const override {
    const Tracer* t = inner_.load();
    return t && t->tracing();
  }
  std::string error() const override {
    if (const Tracer* t = inner_.load()) return t->error();
    std::lock_guard lock(mu_);
    return error_;
  }
  TracerStats stats() const override {
    const Tracer* t = inner_.load();
    return t ? t->stats() : TracerStats{};
  }
  std::vector<RateLimitedProcess> rate_limited_top(size_t n) const override {
    const Tracer* t = inner_.load();
    return t ? t->rate_limited_top(n) : std::vector<RateLimitedProcess>{};
  }

 protected:
  size_t pending_entries() const override { return stats().pending; }

 private:
  bool on_kernel(vmi::Vcpu& cpu) {
    if (!kernel_seen_.exchange(true) && cfg_.on_start_phase) cfg_.on_start_phase(StartPhase::kernel_code_seen);
    std::unique_lock busy(mu_, std::try_to_lock);
    if (!busy.owns_lock()) return false;  // another vCPU is at it
    if (done_) return true;
    const oslinux::ProfileProbe::Step step = probe_.offer(cpu);
    if (step == oslinux::ProfileProbe::Step::retry && probe_.waiting_for_offset()) {
      // Offered every kernel block, the wait for vmcoreinfo would cost the boot dearly
      // (a call into the module and three locks per block): from here on only each
      // initcall asks, at do_one_initcall, where vmcoreinfo's own initcall ends.
      if (auto at = probe_.running_address("do_one_initcall")) {
        initcall_hook_ = backend_.add_hook(*at, [this](vmi::Vcpu& c, uint64_t) { on_initcall(c); });
        return true;
      }
    }
    return settle(step);
  }

  void on_initcall(vmi::Vcpu& cpu) {
    std::unique_lock busy(mu_, std::try_to_lock);
    if (!busy.owns_lock() || done_) return;
    const oslinux::ProfileProbe::Step step = probe_.offer(cpu, true);
    if (step == oslinux::ProfileProbe::Step::retry) return;
    backend_.remove_hook(initcall_hook_);  // safe inside its own callback
    initcall_hook_ = 0;
    settle(step);
  }

  // After an offer (under mu_): true when this waiter is done.
  bool settle(oslinux::ProfileProbe::Step step) {
    switch (step) {
      case oslinux::ProfileProbe::Step::retry: return false;
      case oslinux::ProfileProbe::Step::failed: fatal(probe_.error()); return true;
      case oslinux::ProfileProbe::Step::done: break;
    }
    std::fprintf(stderr, "vmitrace: %s\n", probe_.summary().c_str());
    TracerConfig c = cfg_;
    c.profile_path = probe_.cache_path().empty() ? "guest memory" : probe_.cache_path();  // names it in messages
    try {
      owned_ = make_(c, probe_.take());
    } catch (const Error& e) {  // e.g. no hook point in this kernel
      fatal(e.what());
      return true;
    }
    inner_.store(owned_.get());
    done_ = true;
    owned_->start();  // asks the backend for a vCPU in kernel mode again
    return true;
  }

  void fatal(const std::string& msg) {  // under mu_
    done_ = true;
    error_ = msg;
    std::fprintf(stderr, "vmitrace: error: %s\n", msg.c_str());
    if (cfg_.on_fatal) cfg_.on_fatal(msg);
  }

  TracerConfig cfg_;
  vmi::Backend& backend_;
  TracerFactory make_;
  mutable std::mutex mu_;  // the probe, done_, error_
  oslinux::ProfileProbe probe_;
  bool done_ = false;
  std::string error_;
  vmi::HookId initcall_hook_ = 0;
  std::unique_ptr<Tracer> owned_;
  std::atomic<const Tracer*> inner_{nullptr};
  std::atomic<bool> started_{false}, kernel_seen_{false};
};

}  // namespace

std::unique_ptr<Tracer> make_memory_profile_tracer(const TracerConfig& cfg, vmi::Backend& backend,
                                                   TracerFactory make) {
  return std::make_unique<MemoryProfileTracer>(cfg, backend, std::move(make));
}

}  // namespace vmitrace::syscalls

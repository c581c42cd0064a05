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
  MemoryProfileTracer(const TracerConfig& c, vmi::Backend& b, TracerFactory make)
      : Tracer(c, b, oslinux::kKernelSpace), make_(std::move(make)),
        probe_({"guest memory", true, c.profile_cache, "", b.machine() == "arm64"}) {
    // The filter is read again by the tracer that traces; it warns then, not here.
    if (!cfg.filter_file.empty()) (void)load_linux_filter(cfg.filter_file, false);
  }

  ~MemoryProfileTracer() override {
    std::lock_guard lock(probe_mu_);
    if (initcall_hook_) backend.remove_hook(initcall_hook_);
  }

  std::string hook_plan() const override {
    const Tracer* t = inner_.load();
    return t ? t->hook_plan() : std::string("chosen once the profile is built from guest memory");
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

  bool on_kernel(vmi::Vcpu& cpu) override {
    saw_kernel_code();
    std::unique_lock busy(probe_mu_, std::try_to_lock);
    if (!busy.owns_lock()) return false;  // another vCPU is at it
    if (done_) return true;
    const oslinux::ProfileProbe::Step step = probe_.offer(cpu);
    if (step == oslinux::ProfileProbe::Step::retry && probe_.waiting_for_offset()) {
      // Offered every kernel block, the wait for vmcoreinfo would cost the boot dearly
      // (a call into the module and three locks per block): from here on only each
      // initcall asks, at do_one_initcall, where vmcoreinfo's own initcall ends.
      if (auto at = probe_.running_address("do_one_initcall")) {
        initcall_hook_ = backend.add_hook(*at, [this](vmi::Vcpu& c, uint64_t) { on_initcall(c); });
        return true;
      }
    }
    return settle(step);
  }

 private:
  void on_initcall(vmi::Vcpu& cpu) {
    std::unique_lock busy(probe_mu_, std::try_to_lock);
    if (!busy.owns_lock() || done_) return;
    const oslinux::ProfileProbe::Step step = probe_.offer(cpu, true);
    if (step == oslinux::ProfileProbe::Step::retry) return;
    backend.remove_hook(initcall_hook_);  // safe inside its own callback
    initcall_hook_ = 0;
    settle(step);
  }

  // After an offer (under probe_mu_): true when this waiter is done.
  bool settle(oslinux::ProfileProbe::Step step) {
    switch (step) {
      case oslinux::ProfileProbe::Step::retry: return false;
      case oslinux::ProfileProbe::Step::failed:
        done_ = true;
        fatal(probe_.error());
        return true;
      case oslinux::ProfileProbe::Step::done: break;
    }
    done_ = true;
    std::fprintf(stderr, "vmitrace: %s\n", probe_.summary().c_str());
    TracerConfig c = cfg;
    c.profile_path = probe_.cache_path().empty() ? "guest memory" : probe_.cache_path();  // names it in messages
    // The inner tracer's phases and fatal error are this tracer's (it printed the error).
    c.on_start_phase = [this](StartPhase p) {
      if (p == StartPhase::tracing) now_tracing();
    };
    c.on_fatal = [this](const std::string& m) { fatal_printed(m); };
    try {
      owned_ = make_(c, probe_.take());
    } catch (const Error& e) {  // e.g. no hook point in this kernel
      fatal(e.what());
      return true;
    }
    inner_.store(owned_.get());
    owned_->start();  // asks the backend for a vCPU in kernel mode again
    return true;
  }

  TracerFactory make_;
  std::mutex probe_mu_;  // the probe, done_, initcall_hook_
  oslinux::ProfileProbe probe_;
  bool done_ = false;
  vmi::HookId initcall_hook_ = 0;
  std::unique_ptr<Tracer> owned_;
  std::atomic<const Tracer*> inner_{nullptr};
};

}  // namespace

std::unique_ptr<Tracer> make_memory_profile_tracer(const TracerConfig& cfg, vmi::Backend& backend,
                                                   TracerFactory make) {
  return std::make_unique<MemoryProfileTracer>(cfg, backend, std::move(make));
}

}  // namespace vmitrace::syscalls

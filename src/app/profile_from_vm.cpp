#include "app/profile_from_vm.hpp"

#include <fmt/core.h>

#include <atomic>
#include <optional>

#include "backends/gdb/gdb_backend.hpp"
#include "common/error.hpp"
#include "os/linux/kernel.hpp"
#include "os/linux/profile_probe.hpp"

namespace vmitrace::app {

profile::Profile profile_from_backend(gdb::GdbBackend& backend, const FromVmOptions& o) {
  std::atomic<bool> stop{false};
  oslinux::ProfileProbe probe({o.endpoint, o.wait_for_boot, o.cache_dir,
                               o.guest_ram.empty() ? "through the stub" : "from " + o.guest_ram,
                               backend.machine() == "arm64"});
  oslinux::ProfileProbe::Step step = oslinux::ProfileProbe::Step::retry;
  bool said_waiting = false;
  backend.when_in_kernel(oslinux::kKernelSpace, [&](vmi::Vcpu& cpu) {
    step = probe.offer(cpu);
    if (step == oslinux::ProfileProbe::Step::retry && probe.waiting_for_offset() && !said_waiting) {
      said_waiting = true;
      fmt::print(stderr, "vmitrace: the guest kernel is still booting (no KASLR offset in its vmcoreinfo yet): "
                         "waiting for it to build the profile\n");
    }
    if (step == oslinux::ProfileProbe::Step::retry) return false;
    stop.store(true);
    return true;
  });
  backend.run(stop);
  if (step == oslinux::ProfileProbe::Step::failed) throw Error(probe.error());
  if (step != oslinux::ProfileProbe::Step::done) throw Error(o.endpoint + ": no vCPU reached kernel mode");
  fmt::print(stderr, "vmitrace: {}\n", probe.summary());
  return probe.take();
}

profile::Profile profile_from_vm(const FromVmOptions& o) {
  gdb::GdbBackendOptions bo;
  bo.endpoint = o.endpoint;
  bo.guest_ram = o.guest_ram;
  bo.machine = o.machine == "q35" ? gdb::Machine::q35 : gdb::Machine::pc;
  bo.timeout_ms = o.timeout_ms;
  gdb::GdbBackend backend(bo);  // the guest is stopped from here until detach
  std::optional<profile::Profile> p;
  try {
    p = profile_from_backend(backend, o);
  } catch (...) {
    backend.detach();
    throw;
  }
  std::string why;
  if (!backend.detach(&why)) fmt::print(stderr, "vmitrace: {}: detach failed: {}\n", o.endpoint, why);
  return std::move(*p);
}

}  // namespace vmitrace::app

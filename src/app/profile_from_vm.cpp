#include "app/profile_from_vm.hpp"

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <optional>

#include "backends/gdb/gdb_backend.hpp"
#include "common/error.hpp"
#include "os/linux/kernel.hpp"
#include "profile/memory_profile.hpp"

namespace vmitrace::app {

namespace {

// A vCPU in kernel mode may still be on KPTI's user page tables (entry code):
// such an offer sees no kernel image and is retried after the guest ran a little.
constexpr int kMaxOffers = 50;

std::string grouped(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

}  // namespace

profile::Profile profile_from_vm(const FromVmOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  gdb::GdbBackendOptions bo;
  bo.endpoint = o.endpoint;
  bo.guest_ram = o.guest_ram;
  bo.machine = o.machine == "q35" ? gdb::Machine::q35 : gdb::Machine::pc;
  bo.timeout_ms = o.timeout_ms;
  gdb::GdbBackend backend(bo);  // the guest is stopped from here until detach

  std::atomic<bool> stop{false};
  std::optional<profile::Profile> built;
  profile::MemoryProfileInfo info;
  std::string error;
  int offers = 0;
  backend.when_in_kernel(oslinux::kKernelSpace, [&](vmi::Vcpu& cpu) {
    uint64_t ip = 0;
    cpu.read_reg(vmi::Reg::rip, ip);
    profile::GuestMemory mem{[&cpu](uint64_t va, void* buf, size_t len) { return cpu.read_virt(va, buf, len); },
                             cpu.pointer_size(), ip};
    try {
      built = profile::profile_from_memory(mem, o.endpoint, &info);
    } catch (const profile::KernelNotMapped& e) {
      if (++offers < kMaxOffers) return false;
      error = e.what();
    } catch (const Error& e) {
      error = e.what();
    }
    stop.store(true);
    return true;
  });
  try {
    backend.run(stop);
  } catch (...) {
    backend.detach();
    throw;
  }
  std::string why;
  if (!backend.detach(&why))
    fmt::print(stderr, "vmitrace: {}: detach failed: {}\n", o.endpoint, why);
  if (!built) throw Error(error.empty() ? o.endpoint + ": no vCPU reached kernel mode" : error);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(stderr,
             "vmitrace: profile from guest memory: Linux {}, {} symbols, {} types, {:.1f} s ({:.1f} MiB read "
             "{}; KASLR offset {:#x})\n",
             info.release, grouped(built->symbols.size()), grouped(built->user_types.size()), secs,
             double(info.bytes_read) / (1 << 20), o.guest_ram.empty() ? "through the stub" : "from " + o.guest_ram,
             info.kaslr_offset);
  return std::move(*built);
}

}  // namespace vmitrace::app

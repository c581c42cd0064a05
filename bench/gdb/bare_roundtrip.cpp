// The floor of the gdbstub backend: the same GdbBackend `vmitrace attach` uses, with
// one breakpoint on the x64 syscall dispatcher and a hook that does nothing (no
// register or memory reads of its own; the backend reads rip once per stop to know
// which breakpoint was hit, then steps over it and continues).
// Usage: gdb_bare_roundtrip unix:SOCK PROFILE.json
// Runs until SIGINT/SIGTERM (or the guest ends), detaches, prints one line:
//   bare: HITS hits in SECS s = RATE/s
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "backends/gdb/client.hpp"
#include "backends/gdb/gdb_backend.hpp"
#include "os/linux/kernel.hpp"
#include "profile/profile.hpp"

using namespace vmitrace;

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s unix:SOCK|tcp:HOST:PORT PROFILE.json\n", argv[0]);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  try {
    profile::Profile prof = profile::Profile::load(argv[2]);
    oslinux::LinuxKernel kernel(prof, argv[2]);
    auto sym = prof.symbols.find("x64_sys_call");
    if (sym == prof.symbols.end()) throw Error(argv[2], "no x64_sys_call");
    const uint64_t link = sym->second.address;
    gdb::GdbBackendOptions o;
    o.endpoint = argv[1];
    gdb::GdbBackend backend(o);
    uint64_t hits = 0;
    std::chrono::steady_clock::time_point t0;
    backend.when_in_kernel(oslinux::kKernelSpace, [&](vmi::Vcpu& cpu) {
      if (kernel.locate(cpu, nullptr) != oslinux::LinuxKernel::Locate::found) return false;
      backend.add_hook(kernel.runtime(link), [&](vmi::Vcpu&, uint64_t) { ++hits; });
      t0 = std::chrono::steady_clock::now();
      std::printf("bare: attached, breakpoint at %#llx\n",
                  static_cast<unsigned long long>(kernel.runtime(link)));
      std::fflush(stdout);
      return true;
    });
    std::string why;
    try {
      backend.run(g_stop);
    } catch (const gdb::GdbError& e) {
      why = e.what();  // the guest powered off: the count so far stands
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    backend.detach();
    std::printf("bare: %llu hits in %.2f s = %.1f/s%s\n", static_cast<unsigned long long>(hits),
                secs, secs > 0 ? hits / secs : 0.0, why.empty() ? "" : (" (ended: " + why + ")").c_str());
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gdb_bare_roundtrip: %s\n", e.what());
    return 1;
  }
}

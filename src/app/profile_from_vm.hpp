// `vmitrace profile --from-vm`: the profile of a running guest's kernel built from its
// memory through QEMU's gdbstub (profile/memory_profile.hpp does the work; this
// file connects, finds a vCPU in kernel mode and detaches, leaving the guest running).
#pragma once
#include <string>

#include "profile/profile.hpp"

namespace vmitrace::app {

struct FromVmOptions {
  std::string endpoint;   // unix:PATH or tcp:HOST:PORT
  std::string guest_ram;  // QEMU's RAM file; empty: reads through the stub
  std::string machine = "pc";
  int timeout_ms = 5000;
};

// Builds the profile (link-time addresses) and prints on stderr what it found and
// what it cost. Throws Error in one line when the kernel cannot be profiled.
profile::Profile profile_from_vm(const FromVmOptions& o);

}  // namespace vmitrace::app

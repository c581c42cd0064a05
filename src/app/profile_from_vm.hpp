// The profile of a running guest's kernel built from its memory through QEMU's
// gdbstub (profile/memory_profile.hpp does the work; this file finds a vCPU in kernel
// mode for it): `vmitrace profile --from-vm`, and `vmitrace attach` without -r.
#pragma once
#include <string>

#include "profile/profile.hpp"

namespace vmitrace::gdb { class GdbBackend; }

namespace vmitrace::app {

struct FromVmOptions {
  std::string endpoint;   // unix:PATH or tcp:HOST:PORT
  std::string guest_ram;  // QEMU's RAM file; empty: reads through the stub
  std::string machine = "pc";
  int timeout_ms = 5000;
  // attach: a kernel still booting (vmcoreinfo not written yet, e.g. attached at
  // reset) is waited for; profile --from-vm: an error (it reads what is there now).
  bool wait_for_boot = false;
  std::string cache_dir;  // built profiles kept and reused here; "": none
};

// Runs the attached backend until a vCPU in kernel mode gave the kernel's profile
// (link-time addresses); returns with the guest stopped. Prints on stderr what it
// found and what it cost. Throws Error in one line when the kernel cannot be profiled.
profile::Profile profile_from_backend(gdb::GdbBackend& backend, const FromVmOptions& o);

// Connects, builds the profile as above and detaches: the guest runs on.
profile::Profile profile_from_vm(const FromVmOptions& o);

}  // namespace vmitrace::app

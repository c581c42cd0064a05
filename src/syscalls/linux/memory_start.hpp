// The tracer of a Linux guest whose profile is built from its memory (`vmitrace run`
// with neither -r nor -kernel: a VM booted from a disk, or any QEMU command line):
// it waits for the kernel in kernel mode, builds the profile there with the same
// code as the gdbstub route (oslinux::ProfileProbe, fed by this backend's reads),
// or takes the one cached for this kernel's banner and build id (waiting for the KASLR
// offset at each do_one_initcall, not at every kernel block), then hands over to
// the ordinary tracer, which locates the kernel, checks the profile against it and
// places its hooks, all before init runs (see profile_probe.hpp for when).
#pragma once
#include <functional>
#include <memory>

#include "profile/profile.hpp"
#include "syscalls/core/tracer_base.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::syscalls {

// Makes the tracer for a profile (make_tracer's choice of OS tracer).
using TracerFactory = std::function<std::unique_ptr<Tracer>(const TracerConfig&, profile::Profile)>;

// cfg.profile_path is empty; cfg.profile_cache names the cache directory ("" none).
// Checks the filter file now (throws Error naming it), as the tracer will.
std::unique_ptr<Tracer> make_memory_profile_tracer(const TracerConfig& cfg, vmi::Backend& backend,
                                                   TracerFactory make);

}  // namespace vmitrace::syscalls

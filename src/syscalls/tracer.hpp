// The syscalls tracer, as the layers above use it (the CLI, the backends' entry
// points): make_tracer picks the tracer for the guest OS from the profile (Linux ISF
// or Windows PDB ISF; both are a syscalls::Tracer, core/tracer_base.hpp), which
// decides the hooks, captures each syscall entry (number, arguments, the memory they
// point to, process context) and its return, and emits plain event records to a sink.
// Backend-agnostic: it sees only vmi::Backend / vmi::Vcpu. No layer above knows which
// OS it traces, and none includes syscalls/linux or syscalls/windows.
#pragma once
#include <memory>

#include "syscalls/core/tracer_base.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls {

// Loads the profile and the filter; throws vmitrace::Error("FILE: problem"), also
// when the profile has no usable hook point. Never null.
std::unique_ptr<Tracer> make_tracer(const TracerConfig& cfg, vmi::Backend& backend,
                                    vmi::EventSink& sink);
// Same with a profile already in memory (tests, profiles built from a kernel image).
std::unique_ptr<Tracer> make_tracer(const TracerConfig& cfg, profile::Profile prof,
                                    vmi::Backend& backend, vmi::EventSink& sink);

// What make_tracer would refuse (profile, filter, win32k profile, hook plan), checked
// by making the same tracer without a guest: the CLI calls it before it starts or
// stops a VM. Throws vmitrace::Error("FILE: problem").
void validate(const TracerConfig& cfg);

}  // namespace vmitrace::syscalls

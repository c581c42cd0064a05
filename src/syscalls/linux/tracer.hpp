// The syscalls tracer for Linux guests: KASLR and the start-up self-check, one hook
// plan from the profile's symbols (dispatchers, else per-syscall functions), entry
// capture by the kernel's calling convention, returns paired per thread. Chosen by
// syscalls/tracer.hpp when the profile is a Linux ISF.
#pragma once
#include <memory>

#include "syscalls/core/tracer_base.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls {

// Throws vmitrace::Error("FILE: problem") for a profile that lacks what tracing
// needs (no usable hook point, task_struct fields...) or an unreadable filter.
std::unique_ptr<Tracer> make_linux_tracer(const TracerConfig& cfg, profile::Profile prof,
                                          vmi::Backend& backend, vmi::EventSink& sink);

}  // namespace vmitrace::syscalls

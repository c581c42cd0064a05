// The syscalls tracer for Windows guests: service tables read from memory, one hook
// per service routine (nt, and win32k with a win32k profile), arguments by the
// Windows calling convention, returns paired per thread + stack pointer. Chosen by
// syscalls/tracer.hpp when the profile says "windows"; a syscalls::Tracer.
#pragma once
#include <memory>

#include "syscalls/core/tracer_base.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls {

// Throws vmitrace::Error("FILE: problem") for a profile that lacks what tracing
// needs, an unreadable filter or win32k profile.
std::unique_ptr<Tracer> make_windows_tracer(const TracerConfig& cfg, profile::Profile prof,
                                            vmi::Backend& backend, vmi::EventSink& sink);

}  // namespace vmitrace::syscalls

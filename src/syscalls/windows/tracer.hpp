// The syscalls tracer for Windows guests: service tables read from memory, one hook
// per service routine (nt, and win32k with a win32k profile), arguments by the
// Windows calling convention, returns paired per thread + stack pointer. Chosen by
// syscalls::Plugin when the profile says "windows"; the syscalls::Tracer contract.
#pragma once
#include <memory>

#include "syscalls/plugin/plugin.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls::windows {

// Throws vmitrace::Error("FILE: problem") for a profile that lacks what tracing
// needs, an unreadable filter or win32k profile.
std::unique_ptr<syscalls::Tracer> make_tracer(const PluginConfig& cfg, profile::Profile prof,
                                              vmi::Backend& backend, vmi::EventSink& sink);

}  // namespace vmitrace::syscalls::windows

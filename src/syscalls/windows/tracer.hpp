// The syscalls plugin for Windows guests: service tables read from memory, one hook
// per service routine (nt, and win32k with a win32k profile), arguments by the
// Windows calling convention, returns paired per thread + stack pointer. Chosen by
// syscalls::Plugin when the profile says "windows"; same contract as the Linux path.
#pragma once
#include <memory>
#include <string>

#include "syscalls/plugin/plugin.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls::windows {

class Tracer {
 public:
  // Throws vmitrace::Error("FILE: problem") for a profile that lacks what tracing
  // needs, an unreadable filter or win32k profile.
  Tracer(const PluginConfig& cfg, profile::Profile prof, vmi::Backend& backend,
         vmi::EventSink& sink);
  ~Tracer();  // removes its hooks
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  void start();
  PluginStats stats() const;
  std::string hook_plan() const;
  bool tracing() const;
  std::string error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmitrace::syscalls::windows

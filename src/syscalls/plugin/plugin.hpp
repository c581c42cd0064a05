// The syscalls plugin: decides the hook plan for the guest kernel, captures each
// syscall entry (number, arguments, the memory they point to, process context) and
// its return, and emits plain event records to a sink. Backend-agnostic: it sees
// only vmi::Backend / vmi::Vcpu.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "vmi/vmi.hpp"

namespace vmitrace::syscalls {

struct PluginConfig {
  std::string profile_path;          // ISF of the guest kernel
  std::string filter_file;           // syscalls_filter_file; empty = every syscall
  bool disable_sysret = false;       // no return hooks at all
  uint32_t string_limit = 256;       // bytes captured per string argument
};

struct PluginStats {
  uint64_t syscalls = 0, sysrets = 0;
  uint64_t returns_unpaired = 0;     // return without a pending entry (e.g. fork child)
  uint64_t entries_lost = 0;         // entry replaced before its return came
  uint64_t read_failures = 0;        // guest reads that failed (marked values)
};

class Plugin {
 public:
  // Loads the profile and the filter; throws vmitrace::Error("FILE: problem").
  Plugin(const PluginConfig& cfg, vmi::Backend& backend, vmi::EventSink& sink);
  ~Plugin();
  // Asks the backend to find the kernel (KASLR) and then places the hooks. The
  // chosen hook points are printed once on stderr.
  void start();
  PluginStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmitrace::syscalls

// The syscalls plugin: decides the hook plan for the guest kernel, captures each
// syscall entry (number, arguments, the memory they point to, process context) and
// its return, and emits plain event records to a sink. Backend-agnostic: it sees
// only vmi::Backend / vmi::Vcpu.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "syscalls/plugin/rate_limit.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::profile { class Profile; }

namespace vmitrace::syscalls {
namespace windows { class Tracer; }

// How far the start-up got (published for "waiting for the guest kernel" messages
// and --start-timeout; the numbers travel in the event ring's header).
enum class StartPhase : uint64_t {
  waiting = 0,           // no vCPU seen in kernel mode yet (firmware, boot loader)
  kernel_code_seen = 1,  // kernel-mode code runs, the profile's kernel not located yet
  tracing = 2,           // located, hooks placed
};

struct PluginConfig {
  std::string profile_path;          // ISF of the guest kernel
  std::string filter_file;           // syscalls_filter_file; empty = every syscall
  bool disable_sysret = false;       // no return hooks at all
  uint32_t string_limit = 256;       // bytes captured per string argument (max 8192;
                                     // argv/envp: per string)
  bool fd_paths = true;              // <arg>_path keys for fd arguments
  uint32_t capture_buffers = 0;      // first bytes of read/write/recv/send buffers
                                     // (0 = none; max 8192)
  bool warn_unknown_filter_names = true;  // off when the CLI already warned
  uint32_t rate_limit = 0;           // syscalls per second per process; 0 = no limit
  std::string win32k_profile;        // Windows: ISF of win32k(full).sys; empty = nt only
  // Called once, on a vCPU thread, when tracing stops for good at run time (e.g. the
  // profile does not match the running kernel). The message is also on stderr.
  std::function<void(const std::string&)> on_fatal;
  // Called once per phase reached (kernel_code_seen, tracing), on a vCPU thread.
  std::function<void(StartPhase)> on_start_phase;
};

struct PluginStats {
  uint64_t syscalls = 0, sysrets = 0;
  uint64_t returns_unpaired = 0;     // return without a pending entry (e.g. fork child)
  uint64_t entries_lost = 0;         // entry replaced before its return came
  uint64_t read_failures = 0;        // guest reads that failed (marked values)
  uint64_t pending = 0;              // entries waiting for their return now
  uint64_t rate_limited = 0;         // events dropped by rate_limit (entries + returns)
};

class Plugin {
 public:
  // Loads the profile and the filter; throws vmitrace::Error("FILE: problem"),
  // also when the profile has no usable hook point.
  Plugin(const PluginConfig& cfg, vmi::Backend& backend, vmi::EventSink& sink);
  // Same with a profile already in memory (tests, profiles built from a kernel image).
  Plugin(const PluginConfig& cfg, profile::Profile prof, vmi::Backend& backend,
         vmi::EventSink& sink);
  ~Plugin();  // removes its hooks: the backend must outlive the plugin
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Asks the backend to find the kernel (KASLR) and then places the hooks. The
  // chosen hook points are printed once on stderr.
  void start();
  PluginStats stats() const;
  // The processes with the most events dropped by the rate limit (at most n).
  std::vector<RateLimitedProcess> rate_limited_top(size_t n) const;
  // One line: "x64 via x64_sys_call, ia32 via ia32_sys_call, return via ...".
  std::string hook_plan() const;
  // True once the hooks are in place.
  bool tracing() const;
  // The fatal run-time error ("" while none), e.g. the banner mismatch.
  std::string error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<windows::Tracer> win_;  // instead of impl_ for Windows profiles
};

}  // namespace vmitrace::syscalls

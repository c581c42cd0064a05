// What the capture side (the syscalls tracer) is told, the same for every backend:
// set by `vmitrace run` and `vmitrace attach` (app/trace_options.hpp), carried to the
// QEMU module in its -plugin argument (options/module_args.hpp) and read by the
// tracer (syscalls::TracerConfig extends it). One struct, so the forms cannot drift.
#pragma once
#include <cstdint>
#include <string>

namespace vmitrace::options {

inline constexpr uint32_t kMaxStringLimit = 8192;    // --string-limit 1..8192
inline constexpr uint32_t kMaxBufferCapture = 8192;  // --capture-buffers 0..8192
inline constexpr uint32_t kMaxRateLimit = 10000000;  // --rate-limit 0..10^7

struct CaptureOptions {
  std::string profile_path;          // ISF of the guest kernel; "": built from guest memory (Linux)
  std::string profile_cache;         // without profile_path: where profiles built from memory are kept
  std::string filter_file;           // syscalls_filter_file; empty = every syscall
  std::string win32k_profile;        // Windows: ISF of win32k(full).sys; empty = nt only
  bool disable_sysret = false;       // no return hooks at all
  uint32_t string_limit = 256;       // bytes captured per string argument (argv/envp: per string)
  bool fd_paths = true;              // <arg>_path keys for fd arguments
  uint32_t capture_buffers = 0;      // first bytes of read/write/recv/send buffers (0 = none)
  uint32_t rate_limit = 0;           // syscalls per second per process; 0 = no limit
  // i386's socketcall reported as the call it makes (socket, connect...), as strace shows
  // it: with --args rich. Off (raw, DRAKVUF's view): socketcall as the guest called it.
  bool socket_calls = false;

  bool operator==(const CaptureOptions&) const = default;
};

}  // namespace vmitrace::options

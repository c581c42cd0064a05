// The arguments vmitrace passes to the QEMU plugin: -plugin LIB,key=value,...
#pragma once
#include <cstdint>
#include <string>

namespace vmitrace::backends::qemu {

struct PluginArgs {
  std::string ring;           // ring=PATH      shared-memory event ring (required)
  std::string profile;        // profile=PATH   ISF of the guest kernel (required)
  std::string filter;         // filter=PATH    syscalls_filter_file
  std::string win32k;         // win32k=PATH    win32k profile (Windows guests)
  bool sysret = true;         // sysret=on|off
  uint32_t string_limit = 256;  // strlen=N (1..8192)
  bool fd_paths = true;         // fdpaths=on|off
  uint32_t capture_buffers = 0; // bufs=N (0..8192): first bytes of read/write buffers
  bool block = true;          // backpressure=block|drop
  uint32_t rate_limit = 0;    // ratelimit=N syscalls per second per process (0 = none)
};

// Parses argv entries "key=value"; throws vmitrace::Error("qemu plugin: ...")
// naming the bad argument.
PluginArgs parse_plugin_args(int argc, const char* const* argv);

}  // namespace vmitrace::backends::qemu

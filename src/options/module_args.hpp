// The QEMU module's argument: `-plugin file=LIB,ring=PATH,profile=PATH,...`. vmitrace
// encodes it (app/cmd_run.cpp), QEMU splits it into "key=value" entries (its option
// syntax: ',' separates, ",," is a literal comma) and the module parses those
// (backends/qemu_plugin/entry.cpp). Both ends are here, so they cannot drift.
#pragma once
#include <string>

#include "options/capture_options.hpp"

namespace vmitrace::options {

struct ModuleArgs {
  std::string ring;        // ring=PATH: the shared-memory event ring (required)
  bool block = true;       // backpressure=block|drop
  CaptureOptions capture;  // profile= or profile_cache= (one of them), filter=, win32k=,
                           // sysret=, strlen=, fdpaths=, bufs=, ratelimit=

  bool operator==(const ModuleArgs&) const = default;
};

// The value of QEMU's -plugin option for the module at module_path.
std::string encode_module_args(const std::string& module_path, const ModuleArgs& args);

// Parses the argv QEMU hands the module ("key=value" entries, no module path);
// throws vmitrace::Error("qemu plugin: ...") naming the bad argument.
ModuleArgs parse_module_args(int argc, const char* const* argv);

}  // namespace vmitrace::options

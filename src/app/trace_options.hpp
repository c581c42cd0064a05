// The options `vmitrace run` and `vmitrace attach` share, declared once: one struct,
// one function that adds them to a subcommand, and the checks of the files they name.
// What the capture side needs is options::CaptureOptions (options/capture_options.hpp),
// also what the QEMU module receives (options/module_args.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/write_file.hpp"
#include "options/capture_options.hpp"
#include "output/format.hpp"

namespace vmitrace::app {

// --ring-mb: the ring is allocated in /dev/shm (RAM) before QEMU starts, whole.
inline constexpr uint32_t kMaxRingMb = 1024;

struct TraceOptions {
  options::CaptureOptions capture;
  std::vector<std::string> config_files;  // read by expand_config_files; kept to never write over them
  std::string format = "json";
  std::string output;                     // "" = stdout
  std::string args_style = "raw";
  std::string user_names;                 // --user-names: "android", a passwd file, or "" (uid 0 = root)
  std::string backpressure = "block";
  uint32_t ring_mb = 64;
  uint64_t max_events = 0;                // 0: no limit
  uint32_t start_timeout = 0;             // seconds until the guest kernel must be found; 0: none
};

// Adds --config, -r/--profile, -o/--format, --output, the filter, -W, --disable_sysret,
// --args, --string-limit, --capture-buffers, --no-fd-paths, --on-backpressure,
// --user-names, --ring-mb, --max-events, --rate-limit and --start-timeout (each with its aliases) to cmd.
void add_trace_options(CLI::App& cmd, TraceOptions& o);

output::FormatOptions format_options(const TraceOptions& o);

// Before anything is opened for writing: every input (the profile, filter, win32k
// profile and config files, plus `extra`, e.g. run's kernel image) must be a readable
// file, --output must be creatable or writable and must not be one of the inputs
// (compared as files: device and inode; a new output is fine). Nothing is created or
// truncated. Throws Error naming the file.
void check_trace_files(const TraceOptions& o, const std::vector<NamedInput>& extra = {});

// The event ring of o.ring_mb MiB must fit in the free space of dir (where it is
// created), checked before it is allocated. Throws Error naming --ring-mb.
void check_ring_fits(const TraceOptions& o, const std::string& dir = "/dev/shm");

}  // namespace vmitrace::app

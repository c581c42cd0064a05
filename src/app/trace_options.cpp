#include "app/trace_options.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"

namespace vmitrace::app {

void add_trace_options(CLI::App& cmd, TraceOptions& o) {
  options::CaptureOptions& c = o.capture;
  // Expanded before parsing (app/config_file.hpp), which leaves --config=FILE.
  cmd.add_option("--config", o.config_files,
                 "Read options from this file: one 'name = value' per line, same names as the options, "
                 "'#' comments (also after a value); an option also on the command line: the command line wins");
  cmd.add_option("-r,--profile", c.profile_path, "ISF profile of the guest kernel");
  cmd.add_option("-o,--format", o.format, "Output format: json, kv, csv or default")
      ->check(CLI::IsMember({"json", "kv", "csv", "default"}));
  cmd.add_option("--output", o.output, "Write events to this file (default: stdout)");
  cmd.add_option("--syscalls_filter_file,--syscalls-filter-file", c.filter_file,
                 "Trace only the syscalls named in this file (one per line, # comments)");
  cmd.add_option("-W,--win32k_profile,--win32k-profile", c.win32k_profile,
                 "win32k profile (Windows guests: also trace win32k services; unused for Linux)");
  cmd.add_flag("--disable_sysret,--disable-sysret", c.disable_sysret,
               "Do not hook syscall returns (no sysret events)");
  cmd.add_option("--args", o.args_style,
                 "Argument rendering: raw (DRAKVUF's hex) or rich (as strace prints them; i386's "
                 "socketcall shown as the call it makes)")
      ->check(CLI::IsMember({"raw", "rich"}))
      ->each([&c](const std::string& v) { c.socket_calls = v == "rich"; });
  cmd.add_option("--user-names,--user_names", o.user_names,
                 "Linux UserName from the uid: 'android' (root, system, shell, u0_a52, u0_i3, ...) "
                 "or a passwd file copied from the guest (default: root for uid 0, else empty)");
  // The capture's own bounds: never clamped silently.
  cmd.add_option("--string-limit,--string_limit", c.string_limit,
                 "Bytes captured per string argument (1..8192)")
      ->check(CLI::Range(1u, options::kMaxStringLimit));
  cmd.add_option("--capture-buffers,--capture_buffers", c.capture_buffers,
                 "First N bytes of read/write/recv/send buffers (0..8192, default 0: none)")
      ->check(CLI::Range(0u, options::kMaxBufferCapture));
  cmd.add_flag_callback("--no-fd-paths,--no_fd_paths", [&c] { c.fd_paths = false; },
                        "No <arg>_path keys (fd -> path costs a few guest reads per fd argument)");
  cmd.add_option("--on-backpressure,--on_backpressure", o.backpressure,
                 "When the writer cannot keep up: block the guest or drop events (counted)")
      ->check(CLI::IsMember({"block", "drop"}));
  cmd.add_option("--ring-mb,--ring_mb", o.ring_mb,
                 "Size of the event ring in MiB (1..1024, default 64), allocated in /dev/shm at start")
      ->check(CLI::Range(1u, kMaxRingMb));
  cmd.add_option("--max-events,--max_events", o.max_events,
                 "Stop after writing this many events, exit 0 (run: QEMU is asked to quit; attach: "
                 "detach, the guest runs on); 0 = no limit")
      // A negative number would wrap to a huge one: refuse anything absurd.
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 48));
  cmd.add_option("--rate-limit,--rate_limit", c.rate_limit,
                 "At most N syscalls per second per guest process (burst N); the rest are "
                 "dropped with their returns and counted per process (0 = no limit)")
      ->check(CLI::Range(0u, options::kMaxRateLimit));
  cmd.add_option("--start-timeout,--start_timeout", o.start_timeout,
                 "Fail (QEMU stopped / detached, exit 1) if the guest kernel is not found within S "
                 "seconds; while waiting, what is missing is said every 10 s (0 = wait for ever)")
      ->check(CLI::Range(0u, 86400u));
}

output::FormatOptions format_options(const TraceOptions& o) {
  output::FormatOptions fo;
  fo.format = output::parse_format(o.format);
  if (o.args_style == "raw") fo.args = output::ArgStyle::raw;
  else if (o.args_style == "rich") fo.args = output::ArgStyle::rich;
  else throw Error("--args", "expected raw or rich, got '" + excerpt(o.args_style) + "'");
  fo.string_limit = o.capture.string_limit;
  if (!o.user_names.empty()) fo.user_names = output::UserNames::from_option(o.user_names);
  return fo;
}

namespace {

// Would OutputFile open path? Answered without creating or truncating it.
void check_output_path(const std::string& path) {
  if (path.empty()) return;  // stdout
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(path, "cannot open output: is a directory");
    if (::access(path.c_str(), W_OK) != 0) throw Error(path, "cannot open output: " + std::string(std::strerror(errno)));
    return;
  }
  if (errno != ENOENT) throw Error(path, "cannot open output: " + std::string(std::strerror(errno)));
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(path, "cannot open output: No such file or directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(path, "cannot open output: " + std::string(std::strerror(errno)));
}

}  // namespace

void check_trace_files(const TraceOptions& o, const std::vector<NamedInput>& extra) {
  std::vector<NamedInput> inputs{{"the profile (-r)", o.capture.profile_path},
                                 {"the filter file", o.capture.filter_file},
                                 {"the win32k profile (-W)", o.capture.win32k_profile}};
  if (!o.user_names.empty() && o.user_names != "android")
    inputs.push_back({"the passwd file (--user-names)", o.user_names});
  for (const NamedInput& in : inputs)
    if (!in.path.empty()) check_readable_file(in.path);
  for (const NamedInput& in : extra)
    if (!in.path.empty()) check_readable_file(in.path);
  inputs.insert(inputs.end(), extra.begin(), extra.end());
  for (const std::string& c : o.config_files) inputs.push_back({"the config file", c});
  check_output_path(o.output);
  refuse_input_as_output(o.output, inputs);
}

void check_ring_fits(const TraceOptions& o, const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return;  // creating the ring reports it
  const uint64_t free_mb = (uint64_t{vfs.f_bavail} * vfs.f_frsize) >> 20;
  // The ring's header page comes on top of the data: one MiB of margin.
  if (uint64_t{o.ring_mb} + 1 > free_mb)
    throw Error("--ring-mb", std::to_string(o.ring_mb) + " MiB does not fit in " + dir + " (" +
                                 std::to_string(free_mb) + " MiB free); give a smaller --ring-mb (1.." +
                                 std::to_string(kMaxRingMb) + ")");
}

}  // namespace vmitrace::app

// `vmitrace run [options] -- qemu-system-x86_64 ARGS...`: starts QEMU with the
// capture plugin, reads the events it publishes in a shared-memory ring, formats
// them on a writer thread and writes them out; exits with QEMU's status.
//
// Signals (app/qemu_child.hpp): SIGINT/SIGTERM/SIGHUP are forwarded to QEMU (a
// second one kills it); whatever QEMU published before it died is drained and written.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/core.h>

#include "app/commands.hpp"
#include "app/event_writer.hpp"
#include "app/profile_cache.hpp"
#include "app/qemu_child.hpp"
#include "app/start_watch.hpp"
#include "app/trace_options.hpp"
#include "common/error.hpp"
#include "event/record.hpp"
#include "ipc/ring.hpp"
#include "options/module_args.hpp"
#include "output/format.hpp"
#include "syscalls/tracer.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::app {
namespace {

namespace fs = std::filesystem;

struct RunOptions {
  TraceOptions trace;
  std::string debug_file;  // DWARF vmlinux for building the profile of a kernel without BTF
  std::string profile_from;  // without -r: "kernel-file" (-kernel IMAGE) or "memory"; "": the first that applies
  std::string plugin;      // the QEMU module
  std::vector<std::string> qemu;
};

// ---- checks and paths -----------------------------------------------------------

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.string();
}

std::string self_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

// The plugin is looked for next to the binary (the build tree), then where
// `meson install` puts it.
std::string default_plugin() {
  std::string dir = self_dir();
  for (const char* rel : {"/libvmitrace-qemu.so", "/../lib/vmitrace/libvmitrace-qemu.so",
                          "/../lib/x86_64-linux-gnu/vmitrace/libvmitrace-qemu.so"}) {
    std::string p = dir + rel;
    if (::access(p.c_str(), R_OK) == 0) return fs::weakly_canonical(p).string();
  }
  throw Error("libvmitrace-qemu.so", "QEMU plugin not found next to vmitrace (use --plugin PATH)");
}

// ---- the run ------------------------------------------------------------------

// Removes the ring file on every way out of its scope.
struct Unlinker {
  std::string path;
  ~Unlinker() { ::unlink(path.c_str()); }
};

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

std::string ring_path() {
  std::random_device rd;
  return fmt::format("/dev/shm/vmitrace-{}-{:08x}.ring", ::getpid(), rd());
}

int run(const RunOptions& r) {
  auto t0 = std::chrono::steady_clock::now();
  const TraceOptions& t = r.trace;
  const options::CaptureOptions& o = t.capture;  // what the QEMU module is told
  if (r.qemu.empty()) throw Error("run", "no QEMU command given (vmitrace run [options] -- qemu-system-x86_64 ...)");
  output::FormatOptions fo = format_options(t);
  std::string plugin = r.plugin.empty() ? default_plugin() : r.plugin;
  check_trace_files(t, {{"the QEMU module (--plugin)", plugin},
                       {"QEMU's -kernel image", find_kernel_arg(r.qemu)},
                       {"the --debug-file", r.debug_file}});
  check_qemu(r.qemu[0]);

  // The profile: -r, else built from the -kernel image (cached), else built by the
  // QEMU module from guest memory once the kernel runs (cached by its banner and build id).
  std::string profile, memory_cache;
  const std::string kernel = find_kernel_arg(r.qemu);
  if (!o.profile_path.empty() && !r.debug_file.empty())
    throw Error("--debug-file", "builds the profile from QEMU's -kernel image: give it or -r PROFILE, not both");
  if (!o.profile_path.empty() && !r.profile_from.empty())
    throw Error("--profile-from", "says where to build the profile from: give it or -r PROFILE, not both");
  const std::string from = r.profile_from.empty() ? (kernel.empty() ? "memory" : "kernel-file") : r.profile_from;
  if (!o.profile_path.empty()) {
    profile = absolute(o.profile_path);
  } else if (from == "kernel-file") {
    if (kernel.empty())
      throw Error("--profile-from kernel-file", "no -kernel IMAGE on QEMU's command line to build the profile from "
                                                "(give -r PROFILE, or build it from guest memory: --profile-from memory)");
    profile = profile_for_kernel(kernel, r.debug_file);
  } else {
    if (!r.debug_file.empty())
      throw Error("--debug-file", "builds the profile from QEMU's -kernel image, not from guest memory "
                                  "(--profile-from kernel-file)");
    memory_cache = profile_cache_dir();
  }

  // What the plugin would refuse inside QEMU (an empty filter, a profile it cannot
  // trace with) is checked here by the same code, so that it is one line and QEMU
  // never starts.
  {
    syscalls::TracerConfig check{o};
    check.profile_path = profile;
    check.profile_cache = memory_cache;
    check.warn_unknown_filter_names = false;  // the tracer warns, once
    syscalls::validate(check);
  }
  if (!memory_cache.empty())
    fmt::print(stderr, "vmitrace: no profile given: the QEMU module builds it from guest memory once the kernel "
                       "runs (cached in {})\n", memory_cache);
  // Opened (truncated) only once every input is read and checked: a run that fails
  // at start leaves an existing output untouched.
  check_ring_fits(t);
  OutputFile sink(t.output);

  // The ring file is unlinked as soon as it is created and open: QEMU inherits the
  // descriptor (ring=/proc/self/fd/N), so nothing is left in /dev/shm however
  // vmitrace or QEMU end, SIGKILL included.
  ipc::EventRing ring;
  int ring_fd = -1;
  {
    Unlinker unlinker{ring_path()};
    ring = ipc::EventRing::create(unlinker.path, size_t{t.ring_mb} << 20);
    ring_fd = ::open(unlinker.path.c_str(), O_RDWR | O_CLOEXEC);
    if (ring_fd < 0) throw Error(unlinker.path, std::string("cannot open event ring: ") + std::strerror(errno));
  }
  FdCloser ring_fd_closer{ring_fd};

  // Paths as QEMU's working directory may not resolve them.
  options::ModuleArgs margs{"/proc/self/fd/" + std::to_string(ring_fd), t.backpressure == "block", o};
  margs.capture.profile_path = profile;
  margs.capture.profile_cache = memory_cache;
  if (!o.filter_file.empty()) margs.capture.filter_file = absolute(o.filter_file);
  if (!o.win32k_profile.empty()) margs.capture.win32k_profile = absolute(o.win32k_profile);
  std::vector<std::string> args = r.qemu;
  args.push_back("-plugin");
  args.push_back(options::encode_module_args(absolute(plugin), margs));
  QemuChild qemu(std::move(args), ring_fd);

  std::atomic<bool> producer_done{false};
  std::atomic<bool> output_failed{false};
  std::atomic<bool> limit_reached{false};
  EventCounts counts;
  std::string ring_error;
  auto stop_capture = [&] {
    // Nothing more can be written: stop the guest, and do not let QEMU block on a
    // full ring waiting for us.
    if (!output_failed.exchange(true)) {
      ring.mark_reader_gone();
      qemu.request_quit();
    }
  };
  std::thread writer([&] {
    try {
      writer_loop(ring, sink, fo, producer_done, counts, stop_capture, t.max_events, [&] {
        // A clean stop: QEMU quits on SIGTERM and the plugin closes the ring.
        if (!limit_reached.exchange(true)) qemu.request_quit();
      });
    } catch (const std::exception& e) {  // a corrupt ring: stop reading it
      ring_error = e.what();
      stop_capture();
    }
  });

  bool ending = false;  // QEMU asked to quit on a fatal error or the start timeout
  bool start_timed_out = false;
  StartWatch start_watch(t.start_timeout);
  qemu.wait([&] {
    if (ending) return;
    // The plugin stopped tracing for good (it printed why), or the guest kernel was
    // not found in time: the run is over, QEMU is asked to quit (killed after a
    // grace period).
    start_timed_out = start_watch.expired(ring.counter(ipc::Counter::start_phase));
    if (start_timed_out || ring.counter(ipc::Counter::fatal)) {
      ending = true;
      qemu.request_quit();
    }
  });
  producer_done.store(true, std::memory_order_release);
  writer.join();
  sink.close_file();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int code = qemu.exit_code();
  int got_signal = qemu.first_signal();
  // Interrupted by the user: QEMU exits 0 on SIGTERM, the run still did not finish.
  if (code == 0 && got_signal) code = 128 + got_signal;
  // Stopped by --max-events: QEMU was asked to quit; that is a normal end.
  if (limit_reached && !got_signal && (code == 0 || code == 128 + SIGTERM)) code = 0;
  if (!ring.producer_attached()) {
    fmt::print(stderr, "vmitrace: QEMU exited (status {}) before the plugin started: see QEMU's "
                       "message above (plugin {} failed to load?)\n", code, plugin);
    return code ? code : 1;
  }
  print_summary(counts, ring, secs, t.max_events);
  if (ring.counter(ipc::Counter::fatal)) {
    fmt::print(stderr, "vmitrace: tracing stopped on the plugin's error above\n");
    // The error ended the run, not QEMU: a QEMU still starting dies of the SIGTERM
    // that stops it (128 + 15), one already running exits 0.
    return 1;
  }
  if (start_timed_out) {
    fmt::print(stderr, "vmitrace: {}: QEMU stopped\n", start_watch.timeout_error());
    return 1;
  }
  if (!ring_error.empty()) {
    fmt::print(stderr, "vmitrace: {}\n", ring_error);
    return code ? code : 1;
  }
  if (!sink.ok()) {
    fmt::print(stderr, "vmitrace: {} ({} events not written)\n", sink.error(),
               counts.unwritten_lines);
    return code ? code : 1;
  }
  return code;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Start a QEMU guest with the capture plugin and trace its system calls "
             "(like strace -- cmd).");
  add_trace_options(*cmd, o->trace);
  cmd->get_option("--profile")
      ->description("ISF profile of the guest kernel (default: built from QEMU's -kernel image, else from guest "
                    "memory once the kernel runs; cached)");
  cmd->add_option("--profile-from", o->profile_from,
                  "Without -r, build the profile from QEMU's -kernel image (kernel-file, the default when there "
                  "is one) or from the running kernel's memory (memory: kallsyms and .BTF as it keeps them)")
      ->check(CLI::IsMember({"kernel-file", "memory"}));
  cmd->add_option("--debug-file", o->debug_file,
                  "vmlinux with DWARF of the -kernel image (its -dbg package), for kernels without BTF "
                  "(e.g. Debian's i386 686-pae); used when the profile is built from -kernel");
  cmd->add_option("--plugin", o->plugin,
                  "QEMU plugin library (default: libvmitrace-qemu.so next to vmitrace)");
  cmd->add_option("qemu", o->qemu, "QEMU command line (after --)")->required();
  cmd->footer(
      "Examples:\n"
      "  vmitrace run -- qemu-system-x86_64 -kernel vmlinuz -initrd initrd.gz -nographic\n"
      "  vmitrace run -- qemu-system-x86_64 -drive file=debian.img,format=raw -nographic\n"
      "  vmitrace run -r kernel.json -o kv --output log.txt -- qemu-system-x86_64 ...\n"
      "Exit status: QEMU's (128+N if it was killed by signal N).");
  cmd->callback([o] { exit_status = run(*o); });
}

}  // namespace vmitrace::app

// `vmitrace attach -d unix:PATH|tcp:HOST:PORT [-r PROFILE] [options]`: attaches to a
// running QEMU (KVM or TCG) through its gdbstub, runs the syscalls plugin on the
// gdbstub backend and writes the events as `vmitrace run` does. Without -r the Linux
// kernel's profile is built from guest memory first (profile_from_vm.hpp).
//
// SIGINT/SIGTERM: the guest is stopped, every breakpoint removed, the stub detached
// (the guest runs on), the events flushed; exit 0. QEMU dying mid-trace: a one-line
// message, every event captured so far written, exit 1. A stub that stops answering
// (QEMU stopped or hung): noticed within two --timeout-ms, exit 1, and if the detach
// could not be confirmed a loud warning that the VM may be paused, with how to resume it.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "app/commands.hpp"
#include "app/event_writer.hpp"
#include "app/profile_from_vm.hpp"
#include "app/start_watch.hpp"
#include "backends/gdb/gdb_backend.hpp"
#include "common/error.hpp"
#include "event/record.hpp"
#include "ipc/ring.hpp"
#include "ipc/publish_stats.hpp"
#include "ipc/ring_sink.hpp"
#include "output/format.hpp"
#include "syscalls/plugin/capture.hpp"
#include "syscalls/plugin/plugin.hpp"

namespace vmitrace::app {
namespace {

struct AttachOptions {
  std::string endpoint, profile, guest_ram, machine = "pc";
  std::string format = "json", output, filter_file, win32k_profile;
  bool disable_sysret = false;
  uint32_t string_limit = 256;
  uint32_t capture_buffers = 0;
  bool no_fd_paths = false;
  std::string args_style = "raw";
  int timeout_ms = 5000;
  uint32_t rate_limit = 0;
  std::string backpressure = "block";
  uint64_t max_events = 0;  // 0: no limit
  uint32_t start_timeout = 0;  // seconds until the guest kernel must be found; 0: none
};

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

// Detaching failed (the stub stopped answering, or the connection broke): the guest
// may be left paused with breakpoints in it. Said loudly, with how to resume it.
void say_detach_failed(const std::string& endpoint, const std::string& why, int qemu_pid) {
  const std::string pid = qemu_pid > 0 ? std::to_string(qemu_pid) : "PID";
  fmt::print(stderr,
             "vmitrace: WARNING: could not detach: {}\n"
             "vmitrace: WARNING: the VM may be left PAUSED. The detach was sent anyway: if QEMU "
             "(pid {}) was stopped, `kill -CONT {}` lets it finish and the guest runs on; "
             "otherwise resume the guest with QEMU's monitor command `cont`, or with gdb: "
             "`target remote {}` then `detach`\n",
             why, pid, pid, endpoint.rfind("tcp:", 0) == 0 ? endpoint.substr(4) : endpoint.substr(endpoint.find(':') + 1));
}


int attach(const AttachOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  output::FormatOptions fo;
  fo.format = output::parse_format(o.format);
  fo.string_limit = o.string_limit;
  fo.args = o.args_style == "rich" ? output::ArgStyle::rich : output::ArgStyle::raw;

  std::string fatal;
  syscalls::PluginConfig pc;
  pc.profile_path = o.profile;
  pc.filter_file = o.filter_file;
  pc.win32k_profile = o.win32k_profile;
  pc.disable_sysret = o.disable_sysret;
  pc.string_limit = o.string_limit;
  pc.rate_limit = o.rate_limit;
  pc.capture_buffers = o.capture_buffers;
  pc.fd_paths = !o.no_fd_paths;
  pc.on_fatal = [&](const std::string& m) {
    fatal = m;
    g_stop.store(true);
  };
  if (!o.profile.empty()) {
    // What the plugin would refuse, before the guest is stopped: one line, the VM untouched.
    // (Without -r the plugin checks once the profile is built from guest memory.)
    syscalls::PluginConfig check = pc;
    check.warn_unknown_filter_names = false;  // the plugin warns, once
    syscalls::Plugin::validate(check);
  }

  gdb::GdbBackendOptions bo;
  bo.endpoint = o.endpoint;
  bo.guest_ram = o.guest_ram;
  bo.machine = o.machine == "q35" ? gdb::Machine::q35 : gdb::Machine::pc;
  bo.timeout_ms = o.timeout_ms;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  gdb::GdbBackend backend(bo);  // the guest is stopped from here until detach
  fmt::print(stderr, "vmitrace: attached to {} ({}, {} vCPU{}, memory via {})\n", o.endpoint,
             backend.target().architecture, backend.vcpu_count(), backend.vcpu_count() == 1 ? "" : "s",
             o.guest_ram.empty() ? "the stub (physical mode)" : o.guest_ram);
  // No -r: the kernel's profile from its memory, before anything else starts (an
  // error detaches, the guest runs on).
  std::optional<profile::Profile> from_memory;
  if (o.profile.empty()) from_memory = profile_from_backend(backend, {o.endpoint, o.guest_ram, o.machine, o.timeout_ms});
  // The same hand-over and writer as `vmitrace run`: an event ring (here private to
  // this process) between the capture thread and the writer thread.
  OutputFile out(o.output);
  std::string ring_file = fmt::format("/dev/shm/vmitrace-attach-{}.ring", ::getpid());
  ipc::EventRing ring = ipc::EventRing::create(ring_file, size_t{64} << 20);
  ::unlink(ring_file.c_str());  // the mapping is all we need
  ipc::RingSink sink(ring, o.backpressure == "block");
  std::atomic<bool> capture_done{false};
  std::atomic<bool> output_failed{false};
  EventCounts counts;
  std::thread writer([&] {
    writer_loop(ring, out, fo, capture_done, counts,
                [&] { if (!output_failed.exchange(true)) { ring.mark_reader_gone(); g_stop.store(true); } },
                o.max_events, [] { g_stop.store(true); });  // --max-events: detach, exit 0
  });
  int status = 0;
  // Says what the start waits for and stops it at --start-timeout (app/start_watch.hpp).
  std::atomic<bool> start_timed_out{false};
  StartWatch start_watch(o.start_timeout);
  std::thread watcher([&] {
    while (!g_stop.load() &&
           ring.counter(ipc::Counter::start_phase) < static_cast<uint64_t>(syscalls::StartPhase::tracing)) {
      if (start_watch.expired(ring.counter(ipc::Counter::start_phase))) {
        start_timed_out.store(true);
        g_stop.store(true);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // On every way out of attach() (an error included) the threads are stopped and
  // joined before what they use goes away.
  auto stop_watcher = [&] {
    g_stop.store(true);
    if (watcher.joinable()) watcher.join();
  };
  auto stop_writer = [&] {
    capture_done.store(true, std::memory_order_release);
    if (writer.joinable()) writer.join();
  };
  struct OnExit {
    std::function<void()> fn;
    ~OnExit() { fn(); }
  } join_threads{[&] {
    stop_watcher();
    stop_writer();
  }};
  pc.on_start_phase = [&](syscalls::StartPhase p) {
    ring.set_counter(ipc::Counter::start_phase, static_cast<uint64_t>(p));
  };
  {
    std::unique_ptr<syscalls::Plugin> plugin;
    try {
      if (from_memory)
        plugin = std::make_unique<syscalls::Plugin>(pc, std::move(*from_memory), backend, sink);
      else
        plugin = std::make_unique<syscalls::Plugin>(pc, backend, sink);
      plugin->start();
      backend.run(g_stop);
    } catch (const gdb::GdbError& e) {
      fatal = e.what();
    } catch (...) {
      // E.g. a profile the plugin refuses: detach, then the one line (join_threads
      // ends the writer and the watcher).
      std::string why;
      stop_watcher();
      plugin.reset();
      if (!backend.detach(&why)) say_detach_failed(o.endpoint, why, backend.stub_pid());
      throw;
    }
    // The capture side's counters, for the common summary.
    if (plugin) ipc::publish_plugin_stats(*plugin, ring);
    plugin.reset();  // removes its hooks (breakpoints) while the guest is stopped
  }
  stop_watcher();
  std::string why;
  if (!backend.detach(&why)) {
    say_detach_failed(o.endpoint, why, backend.stub_pid());
    status = 1;
  }
  stop_writer();
  out.close_file();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto bs = backend.stats();
  print_summary(counts, ring, secs, o.max_events);
  fmt::print(stderr, "vmitrace: {} breakpoint hits ({:.0f}/s), {} other stops\n", bs.hook_hits,
             secs > 0 ? bs.hook_hits / secs : 0.0, bs.other_stops);
  if (!out.ok()) {
    fmt::print(stderr, "vmitrace: {} ({} events not written)\n", out.error(), counts.unwritten_lines);
    status = 1;
  }
  if (!fatal.empty()) {
    fmt::print(stderr, "vmitrace: {}\n", fatal);
    status = 1;
  } else if (start_timed_out) {
    fmt::print(stderr, "vmitrace: {}: detached\n", start_watch.timeout_error());
    status = 1;
  }
  return status;
}

}  // namespace

void add_attach_command(CLI::App& app) {
  auto o = std::make_shared<AttachOptions>();
  CLI::App* cmd = app.add_subcommand(
      "attach", "Attach to a running QEMU (KVM or TCG) through its gdbstub and trace system calls");
  cmd->add_option("-d,--domain", o->endpoint, "The gdbstub: unix:PATH or tcp:HOST:PORT")->required();
  cmd->add_option("-r,--profile", o->profile,
                  "ISF profile of the guest kernel (default: a Linux kernel's, built from its memory)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--guest-ram", o->guest_ram,
                  "QEMU's RAM file (memory-backend-file, share=on); default: reads through the stub");
  cmd->add_option("--machine", o->machine, "RAM layout of --guest-ram: pc or q35")
      ->check(CLI::IsMember({"pc", "q35"}));
  cmd->add_option("-o,--format", o->format, "Output format: json, kv, csv or default")
      ->check(CLI::IsMember({"json", "kv", "csv", "default"}));
  cmd->add_option("--output", o->output, "Write events to this file (default: stdout)");
  cmd->add_option("--syscalls_filter_file,--syscalls-filter-file", o->filter_file,
                  "Trace only the syscalls named in this file")->check(CLI::ExistingFile);
  cmd->add_option("-W,--win32k_profile,--win32k-profile", o->win32k_profile,
                  "win32k profile (Windows guests: also trace win32k services)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--disable_sysret,--disable-sysret", o->disable_sysret, "Do not trace returns");
  cmd->add_option("--string-limit", o->string_limit, "Bytes captured per string argument")
      ->check(CLI::Range(1u, syscalls::kMaxStringLimit));
  cmd->add_option("--args", o->args_style, "Argument rendering: raw or rich")
      ->check(CLI::IsMember({"raw", "rich"}));
  cmd->add_option("--capture-buffers,--capture_buffers", o->capture_buffers,
                  "First N bytes of read/write/recv/send buffers (0..8192, default 0: none)")
      ->check(CLI::Range(0u, 8192u));
  cmd->add_option("--on-backpressure,--on_backpressure", o->backpressure,
                  "When the writer cannot keep up: block the guest or drop events (counted)")
      ->check(CLI::IsMember({"block", "drop"}));
  cmd->add_option("--max-events,--max_events", o->max_events,
                  "Stop after writing this many events: detach (the guest runs on), exit 0 "
                  "(0 = no limit)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 48));
  cmd->add_flag("--no-fd-paths,--no_fd_paths", o->no_fd_paths, "No <arg>_path keys");
  cmd->add_option("--timeout-ms", o->timeout_ms,
                  "Deadline of every answer from the stub; a guest running this long without a "
                  "stop is interrupted once to check that QEMU still answers (100..600000)")
      ->check(CLI::Range(100, 600000));
  add_rate_limit_option(*cmd, o->rate_limit);
  add_start_timeout_option(*cmd, o->start_timeout);
  cmd->callback([o] { exit_status = attach(*o); });
}

}  // namespace vmitrace::app

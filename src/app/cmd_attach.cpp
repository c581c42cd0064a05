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
#include "app/profile_cache.hpp"
#include "app/profile_from_vm.hpp"
#include "app/start_watch.hpp"
#include "app/trace_options.hpp"
#include "backends/gdb/gdb_backend.hpp"
#include "common/error.hpp"
#include "event/record.hpp"
#include "ipc/ring.hpp"
#include "ipc/publish_stats.hpp"
#include "ipc/ring_sink.hpp"
#include "output/format.hpp"
#include "syscalls/tracer.hpp"

namespace vmitrace::app {
namespace {

struct AttachOptions {
  TraceOptions trace;
  std::string endpoint, guest_ram, machine = "pc";
  int timeout_ms = 5000;
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
  const TraceOptions& t = o.trace;
  output::FormatOptions fo = format_options(t);
  check_trace_files(t);
  check_ring_fits(t);

  std::string fatal;
  syscalls::TracerConfig pc{t.capture};
  pc.on_fatal = [&](const std::string& m) {
    fatal = m;
    g_stop.store(true);
  };
  if (!t.capture.profile_path.empty()) {
    // What the tracer would refuse, before the guest is stopped: one line, the VM untouched.
    // (Without -r the tracer checks once the profile is built from guest memory.)
    syscalls::TracerConfig check = pc;
    check.warn_unknown_filter_names = false;  // the tracer warns, once
    syscalls::validate(check);
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
  if (t.capture.profile_path.empty()) {
    FromVmOptions fv{o.endpoint, o.guest_ram, o.machine, o.timeout_ms};
    fv.wait_for_boot = true;  // attached at reset: the kernel's profile once it is up
    fv.cache_dir = profile_cache_dir();
    from_memory = profile_from_backend(backend, fv);
  }
  // The same hand-over and writer as `vmitrace run`: an event ring (here private to
  // this process) between the capture thread and the writer thread.
  std::string ring_file = fmt::format("/dev/shm/vmitrace-attach-{}.ring", ::getpid());
  ipc::EventRing ring = ipc::EventRing::create(ring_file, size_t{t.ring_mb} << 20);
  ::unlink(ring_file.c_str());  // the mapping is all we need
  ipc::RingSink sink(ring, t.backpressure == "block");
  pc.on_start_phase = [&](syscalls::StartPhase p) {
    ring.set_counter(ipc::Counter::start_phase, static_cast<uint64_t>(p));
  };
  std::unique_ptr<syscalls::Tracer> tracer;
  std::optional<OutputFile> opened;
  try {
    // Reads and checks the profile and filter (or the one built from memory).
    tracer = from_memory ? syscalls::make_tracer(pc, std::move(*from_memory), backend, sink)
                         : syscalls::make_tracer(pc, backend, sink);
    opened.emplace(t.output);  // truncated only now: a start that fails leaves it untouched
  } catch (...) {
    std::string why;
    tracer.reset();
    if (!backend.detach(&why)) say_detach_failed(o.endpoint, why, backend.stub_pid());
    throw;
  }
  OutputFile& out = *opened;
  std::atomic<bool> capture_done{false};
  std::atomic<bool> output_failed{false};
  EventCounts counts;
  std::thread writer([&] {
    writer_loop(ring, out, fo, capture_done, counts,
                [&] { if (!output_failed.exchange(true)) { ring.mark_reader_gone(); g_stop.store(true); } },
                t.max_events, [] { g_stop.store(true); });  // --max-events: detach, exit 0
  });
  int status = 0;
  // Says what the start waits for and stops it at --start-timeout (app/start_watch.hpp).
  std::atomic<bool> start_timed_out{false};
  StartWatch start_watch(t.start_timeout);
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
  {
    try {
      tracer->start();
      backend.run(g_stop);
    } catch (const gdb::GdbError& e) {
      fatal = e.what();
    } catch (...) {
      // E.g. a profile the plugin refuses: detach, then the one line (join_threads
      // ends the writer and the watcher).
      std::string why;
      stop_watcher();
      tracer.reset();
      if (!backend.detach(&why)) say_detach_failed(o.endpoint, why, backend.stub_pid());
      throw;
    }
    // The capture side's counters, for the common summary.
    if (tracer) ipc::publish_tracer_stats(*tracer, ring);
    tracer.reset();  // removes its hooks (breakpoints) while the guest is stopped
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
  print_summary(counts, ring, secs, t.max_events);
  fmt::print(stderr, "vmitrace: {} breakpoint hits ({:.0f}/s), {} interrupts of a quiet guest, {} other stops\n",
             bs.hook_hits, secs > 0 ? bs.hook_hits / secs : 0.0, bs.interrupts, bs.other_stops);
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
  add_trace_options(*cmd, o->trace);
  cmd->get_option("--profile")->description(
      "ISF profile of the guest kernel (default: a Linux kernel's, built from its memory)");
  cmd->add_option("--guest-ram", o->guest_ram,
                  "QEMU's RAM file (memory-backend-file, share=on); default: reads through the stub");
  cmd->add_option("--machine", o->machine, "RAM layout of --guest-ram: pc or q35")
      ->check(CLI::IsMember({"pc", "q35"}));
  cmd->add_option("--timeout-ms", o->timeout_ms,
                  "Deadline of every answer from the stub; a guest running this long without a "
                  "stop is interrupted once to check that QEMU still answers (100..600000)")
      ->check(CLI::Range(100, 600000));
  cmd->callback([o] { exit_status = attach(*o); });
}

}  // namespace vmitrace::app

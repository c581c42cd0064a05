// `vmitrace attach -d unix:PATH|tcp:HOST:PORT -r PROFILE [options]`: attaches to a
// running QEMU (KVM or TCG) through its gdbstub, runs the syscalls plugin on the
// gdbstub backend and writes the events as `vmitrace run` does.
//
// SIGINT/SIGTERM: the guest is stopped, every breakpoint removed, the stub detached
// (the guest runs on), the events flushed; exit 0. QEMU dying mid-trace: a one-line
// message, every event captured so far written, exit 1.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "app/commands.hpp"
#include "backends/gdb/gdb_backend.hpp"
#include "common/error.hpp"
#include "event/record.hpp"
#include "output/format.hpp"
#include "syscalls/plugin/plugin.hpp"

namespace vmitrace::app {
namespace {

struct AttachOptions {
  std::string endpoint, profile, guest_ram, machine = "pc";
  std::string format = "json", output, filter_file;
  bool disable_sysret = false;
  uint32_t string_limit = 256;
  int timeout_ms = 5000;
};

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

// TEMPORARY (until the writer/sink of cmd_run.cpp moves to a shared file): records
// are copied into a queue on the tracing thread and formatted and written by a
// writer thread, so formatting and I/O stay off the capture path.
class QueueSink final : public vmi::EventSink {
 public:
  QueueSink(const std::string& path, output::FormatOptions fo) : fo_(fo) {
    if (path.empty()) {
      fd_ = 1;
    } else {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd_ < 0) throw Error(path, std::string("cannot open output: ") + std::strerror(errno));
      own_ = true;
    }
    th_ = std::thread([this] { loop(); });
  }
  ~QueueSink() override {
    finish();
    if (own_) ::close(fd_);
  }
  void emit(const void* rec, size_t size) override {
    if (size < sizeof(event::Record) || size > event::kMaxRecord) return;
    auto* p = static_cast<const uint8_t*>(rec);
    std::lock_guard<std::mutex> l(mu_);
    q_.emplace_back(p, p + size);
    cv_.notify_one();
  }
  // Drains the queue, writes everything and joins the writer.
  void finish() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
      cv_.notify_one();
    }
    if (th_.joinable()) th_.join();
  }
  uint64_t events() const { return events_; }
  const std::string& error() const { return err_; }

 private:
  void loop() {
    std::string out;
    uint64_t uid = 0;
    for (;;) {
      std::deque<std::vector<uint8_t>> batch;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait_for(l, std::chrono::milliseconds(200), [this] { return done_ || !q_.empty(); });
        batch.swap(q_);
        if (batch.empty() && done_) break;
      }
      for (auto& r : batch) {
        // Realign: format_event reads the record in place.
        alignas(8) static thread_local std::vector<uint64_t> buf;
        buf.assign((r.size() + 7) / 8, 0);
        std::memcpy(buf.data(), r.data(), r.size());
        auto* rec = reinterpret_cast<const event::Record*>(buf.data());
        if (rec->size < sizeof(event::Record) || rec->size > r.size()) continue;
        output::format_event(*rec, uid++, fo_, out);
        ++events_;
      }
      write_out(out);
    }
    write_out(out);
  }
  void write_out(std::string& s) {
    size_t off = 0;
    while (off < s.size() && err_.empty()) {
      ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err_ = std::string("write failed: ") + std::strerror(errno);
        break;
      }
      off += static_cast<size_t>(n);
    }
    s.clear();
  }
  output::FormatOptions fo_;
  int fd_ = -1;
  bool own_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<uint8_t>> q_;
  bool done_ = false;
  std::atomic<uint64_t> events_{0};
  std::string err_;
  std::thread th_;
};

int attach(const AttachOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  output::FormatOptions fo;
  fo.format = output::parse_format(o.format);
  fo.string_limit = o.string_limit;

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
  QueueSink sink(o.output, fo);
  std::string fatal;
  int status = 0;
  {
    syscalls::PluginConfig pc;
    pc.profile_path = o.profile;
    pc.filter_file = o.filter_file;
    pc.disable_sysret = o.disable_sysret;
    pc.string_limit = o.string_limit;
    pc.on_fatal = [&](const std::string& m) {
      fatal = m;
      g_stop.store(true);
    };
    std::unique_ptr<syscalls::Plugin> plugin;
    try {
      plugin = std::make_unique<syscalls::Plugin>(pc, backend, sink);
      plugin->start();
      backend.run(g_stop);
    } catch (const gdb::GdbError& e) {
      fatal = e.what();
    } catch (...) {
      std::string why;
      plugin.reset();
      backend.detach(&why);
      throw;
    }
    if (plugin) {
      auto st = plugin->stats();
      fmt::print(stderr, "vmitrace: plugin: {} syscalls, {} sysrets, {} returns without entry, {} guest reads failed\n",
                 st.syscalls, st.sysrets, st.returns_unpaired, st.read_failures);
    }
    plugin.reset();  // removes its hooks (breakpoints) while the guest is stopped
  }
  std::string why;
  if (!backend.detach(&why) && fatal.empty()) fatal = "detach failed: " + why;
  sink.finish();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto bs = backend.stats();
  fmt::print(stderr, "vmitrace: {} events in {:.1f} s ({:.0f}/s); {} breakpoint hits, {} other stops\n",
             sink.events(), secs, secs > 0 ? sink.events() / secs : 0.0, bs.hook_hits, bs.other_stops);
  if (!sink.error().empty()) {
    fmt::print(stderr, "vmitrace: {}: {}\n", o.output.empty() ? "stdout" : o.output, sink.error());
    status = 1;
  }
  if (!fatal.empty()) {
    fmt::print(stderr, "vmitrace: {}\n", fatal);
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
  cmd->add_option("-r,--profile", o->profile, "ISF profile of the guest kernel")->required()
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
  cmd->add_flag("--disable_sysret,--disable-sysret", o->disable_sysret, "Do not trace returns");
  cmd->add_option("--string-limit", o->string_limit, "Bytes captured per string argument")
      ->check(CLI::Range(1u, 8192u));
  cmd->add_option("--timeout-ms", o->timeout_ms, "Timeout of each request to the stub")
      ->check(CLI::Range(100, 600000));
  cmd->callback([o] { exit_status = attach(*o); });
}

}  // namespace vmitrace::app

// Entry point of libvmitrace-qemu.so: QEMU calls qemu_plugin_install() when it
// loads `-plugin file=libvmitrace-qemu.so,ring=...,profile=...` (options/module_args.hpp). Capture happens here
// (inside QEMU); formatting and output happen in the vmitrace process.
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "backends/qemu_plugin/qemu_api.h"
#include "backends/qemu_plugin/qemu_backend.hpp"
#include "common/error.hpp"
#include "ipc/ring.hpp"
#include "ipc/publish_stats.hpp"
#include "ipc/ring_sink.hpp"
#include "options/module_args.hpp"
#include "syscalls/tracer.hpp"

// The API version this plugin was written against (QEMU accepts min..cur).
extern "C" {
VMITRACE_QEMU_EXPORT int qemu_plugin_version = 4;
}

namespace {

using namespace vmitrace;
using namespace vmitrace::backends::qemu;

// Everything the plugin keeps alive for the life of QEMU. Intentionally never
// destroyed: vCPU threads may still be inside a callback when QEMU exits.
struct State {
  options::ModuleArgs args;
  ipc::EventRing ring;
  std::unique_ptr<ipc::RingSink> sink;
  std::unique_ptr<QemuBackend> backend;
  std::unique_ptr<syscalls::Tracer> tracer;
};
State* g_state = nullptr;

void say(const std::string& line) {
  // qemu_plugin_outs only prints with -d plugin: errors go to QEMU's stderr.
  std::fprintf(stderr, "vmitrace: %s\n", line.c_str());
  std::fflush(stderr);
}

void at_exit() {
  State* s = g_state;
  if (!s) return;
  ipc::publish_tracer_stats(*s->tracer, s->ring);
  // For benchmarks: what the guest reads cost, per event (deterministic, unlike
  // timings on a shared machine).
  if (const char* e = std::getenv("VMITRACE_BACKEND_STATS"); e && *e == '1') {
    auto st = s->tracer->stats();
    auto bs = s->backend->stats();
    const double ev = static_cast<double>(st.syscalls + st.sysrets);
    std::fprintf(stderr,
                 "vmitrace: backend: %llu hook calls, %llu guest page reads (%.2f per event), "
                 "%llu register reads (%.2f per event), %.3f s wall in hook callbacks (%.2f us per call), "
                 "%llu code flushes\n",
                 static_cast<unsigned long long>(bs.hook_calls),
                 static_cast<unsigned long long>(bs.page_reads), ev ? bs.page_reads / ev : 0.0,
                 static_cast<unsigned long long>(bs.reg_reads), ev ? bs.reg_reads / ev : 0.0,
                 bs.hook_ns / 1e9, bs.hook_calls ? bs.hook_ns / 1e3 / static_cast<double>(bs.hook_calls) : 0.0,
                 static_cast<unsigned long long>(bs.flushes));
  }
}

}  // namespace

extern "C" VMITRACE_QEMU_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                                        const qemu_info_t* info, int argc,
                                                        char** argv) {
  try {
    if (g_state) throw Error("qemu plugin", "loaded twice");
    auto s = std::make_unique<State>();
    s->args = options::parse_module_args(argc, argv);
    s->sink = std::make_unique<ipc::RingSink>(s->ring, s->args.block);
    s->backend = std::make_unique<QemuBackend>(id, *info);
    if (const char* e = std::getenv("VMITRACE_BACKEND_STATS"); e && *e == '1') s->backend->enable_timing();
    syscalls::TracerConfig cfg{s->args.capture};  // the other fields keep their defaults (warnings on)
    // The plugin printed the message; tell vmitrace so that it exits non-zero.
    ipc::EventRing* ring = &s->ring;
    cfg.on_fatal = [ring](const std::string&) { ring->set_counter(ipc::Counter::fatal, 1); };
    // For vmitrace's "waiting for the guest kernel" lines and --start-timeout.
    cfg.on_start_phase = [ring](syscalls::StartPhase p) {
      ring->set_counter(ipc::Counter::start_phase, static_cast<uint64_t>(p));
    };
    s->tracer = syscalls::make_tracer(cfg, *s->backend, *s->sink);
    // Attached last: vmitrace takes "producer attached" to mean the plugin loaded.
    s->ring = ipc::EventRing::attach(s->args.ring);
    s->backend->install(&at_exit);
    g_state = s.release();
    g_state->tracer->start();
    // Refused at once (a profile of another architecture): the capture is over, so
    // close it now. QEMU is still starting: the SIGTERM vmitrace sends it on the error
    // kills it before at_exit could run.
    if (!g_state->tracer->error().empty()) at_exit();
    return 0;
  } catch (const std::exception& e) {
    say(e.what());
    return 1;
  } catch (...) {
    say("qemu plugin: unexpected error at install");
    return 1;
  }
}

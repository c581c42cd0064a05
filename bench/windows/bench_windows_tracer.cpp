// Per-event cost of the Windows tracer next to the Linux tracer, both driven through
// the syscalls::make_tracer entry point over the tests' synthetic guests (the same
// builders as tests/tracer_windows and tests/tracer), in one run: host CPU per
// syscall (entry + return hook) and guest reads per event, then the ratio.
//
// Hooks are called directly (no backend dispatch) and the sink only counts, so the
// time is the tracer's own work plus the synthetic memory's lookups (a std::map per
// page read, the same model on both sides; a real backend's read costs more, which
// is why the reads per event are printed too).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

#include "tracer_fixture.hpp"
#include "scenario.hpp"

namespace {

using namespace vmitrace;
using namespace vmitrace::testing;

struct Reads {
  uint64_t entry = 0, ret = 0;
};
std::map<std::string, Reads> g_reads;      // by pair name + side, measured once
std::map<std::string, double> g_cpu_ns;    // by benchmark name, from the reporter

vmi::HookFn hook_at(FakeBackend& b, uint64_t va) {
  for (auto& [id, h] : b.hooks)
    if (h.first == va) return h.second;
  return nullptr;
}

// --- Linux: x64_sys_call(regs, nr) + syscall_exit_to_user_mode(regs), pt_regs-keyed
// returns (the lab kernels' plan: ret_from_fork in the profile).
struct LinuxCall {
  TracerGuest g{fork_aware_profile()};
  GuestThread t;
  FakeVcpu* v = nullptr;
  vmi::HookFn entry, ret;  // ret: the syscall_exit_to_user_mode hook
  uint64_t entry_va = 0, ret_va = 0;
  uint32_t nr = 0;

  LinuxCall(const char* name, std::array<uint64_t, 6> args) {
    g.sink.keep = false;
    g.boot();
    t = g.thread(1234, 1234, "cat");
    g.on_cpu(0, t);
    g.mem.write_str(0x7ffd5e4c1000ull, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    nr = nr_of(name);
    g.frame64(t, nr, args);
    g.mem.write_u64(t.regs + ptregs::ax, 3);
    g.mem.write_u64(t.regs - TracerGuest::kExitFrame, g.rt(Sym::do_syscall_64 + 0x80));
    v = g.cpus[0].get();
    entry_va = g.rt(Sym::x64_sys_call);
    ret_va = g.rt(Sym::exit_to_user);
    entry = hook_at(g.backend, entry_va);
    ret = hook_at(g.backend, ret_va);
  }
  void enter() {
    v->reg(vmi::Reg::rdi) = t.regs;
    v->reg(vmi::Reg::rsi) = nr;
    entry(*v, entry_va);
  }
  void leave() {
    v->reg(vmi::Reg::rdi) = t.regs;
    v->reg(vmi::Reg::rsp) = t.regs - TracerGuest::kExitFrame;
    ret(*v, ret_va);
  }
  uint64_t reads() const { return v->reads; }
  uint64_t events() const { return g.sink.emitted.load(); }
};

// --- Windows x64: the routine's hook + its return site (KiSystemServiceCopyEnd).
struct WindowsCall {
  Scenario s{profile::Profile::parse(synthetic_windows_isf(8), "windows.json"), false};
  vmi::HookFn entry, ret;
  uint64_t entry_va = 0, ret_va = 0;

  WindowsCall(const char* name, bool create_file) {
    s.g.arg_bytes[0x55] = 7 * 8;  // NtCreateFile: 11 arguments, 7 on the stack
    s.build({{0x0f, "NtClose"}, {0x55, "NtCreateFile"}}, 0x60);
    s.sink.keep = false;
    s.start();
    // One call through the scenario lays out registers, stack and arguments, and
    // places the return-site hook; the loop then repeats it.
    s.call(name, create_file ? s.create_file_args() : std::vector<uint64_t>{WinGuest::kFileHandle});
    s.ret(0);
    entry_va = s.g.runtime(name);
    ret_va = s.ret_site();
    entry = hook_at(s.backend, entry_va);
    ret = hook_at(s.backend, ret_va);
  }
  void enter() {
    s.cpu.reg(vmi::Reg::rsp) = s.kernel_sp();
    s.cpu.reg(vmi::Reg::rip) = entry_va;
    entry(s.cpu, entry_va);
  }
  void leave() {
    s.cpu.reg(vmi::Reg::rsp) = s.kernel_sp() + 8;
    s.cpu.reg(vmi::Reg::rax) = 0;
    s.cpu.reg(vmi::Reg::rip) = ret_va;
    ret(s.cpu, ret_va);
  }
  uint64_t reads() const { return s.cpu.reads; }
  uint64_t events() const { return s.sink.emitted.load(); }
};

template <class Call>
void run(benchmark::State& state, Call& c, const std::string& key) {
  if (!c.entry || !c.ret) {
    state.SkipWithError("hooks not placed");
    return;
  }
  // Reads of one entry and one return (deterministic: measured once).
  Reads r;
  uint64_t before = c.reads();
  c.enter();
  r.entry = c.reads() - before;
  before = c.reads();
  c.leave();
  r.ret = c.reads() - before;
  g_reads[key] = r;
  const uint64_t events0 = c.events();
  for (auto _ : state) {
    c.enter();
    c.leave();
  }
  if (c.events() - events0 != 2 * static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("not every entry and return produced an event");
  state.counters["reads_entry"] = static_cast<double>(r.entry);
  state.counters["reads_return"] = static_cast<double>(r.ret);
  state.SetItemsProcessed(state.iterations());  // syscalls
}


void BM_Linux_openat(benchmark::State& state) {
  LinuxCall c("openat", {0xffffffffffffff9cull, 0x7ffd5e4c1000ull, 0x80000, 0, 0, 0});
  run(state, c, "open/linux");
}
void BM_Windows_NtCreateFile(benchmark::State& state) {
  WindowsCall c("NtCreateFile", true);
  run(state, c, "open/windows");
}
void BM_Linux_close(benchmark::State& state) {
  LinuxCall c("close", {3, 0, 0, 0, 0, 0});
  run(state, c, "close/linux");
}
void BM_Windows_NtClose(benchmark::State& state) {
  WindowsCall c("NtClose", false);
  run(state, c, "close/windows");
}
BENCHMARK(BM_Linux_openat)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Windows_NtCreateFile)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Linux_close)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Windows_NtClose)->Unit(benchmark::kNanosecond);

// Keeps each run's CPU time per iteration for the summary.
class Reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (!r.error_occurred && r.run_type == Run::RT_Iteration) g_cpu_ns[r.benchmark_name()] = r.GetAdjustedCPUTime();
    ConsoleReporter::ReportRuns(runs);
  }
};

void summary() {
  struct Pair {
    const char *what, *lin, *win, *key;
  };
  const Pair pairs[] = {{"open a path", "BM_Linux_openat", "BM_Windows_NtCreateFile", "open"},
                        {"close a handle/fd", "BM_Linux_close", "BM_Windows_NtClose", "close"}};
  std::printf("\nPer syscall (entry + return), host CPU; guest reads at entry + return:\n");
  for (const Pair& p : pairs) {
    auto l = g_cpu_ns.find(p.lin), w = g_cpu_ns.find(p.win);
    if (l == g_cpu_ns.end() || w == g_cpu_ns.end()) continue;  // filtered out or failed
    const Reads& rl = g_reads[std::string(p.key) + "/linux"];
    const Reads& rw = g_reads[std::string(p.key) + "/windows"];
    std::printf("  %-18s linux %7.0f ns, %llu+%llu reads   windows %7.0f ns, %llu+%llu reads   windows/linux %.2fx CPU, %.2fx reads\n",
                p.what, l->second, static_cast<unsigned long long>(rl.entry), static_cast<unsigned long long>(rl.ret),
                w->second, static_cast<unsigned long long>(rw.entry), static_cast<unsigned long long>(rw.ret),
                w->second / l->second,
                static_cast<double>(rw.entry + rw.ret) / static_cast<double>(rl.entry + rl.ret ? rl.entry + rl.ret : 1));
  }
}
}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Reporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();
  summary();
  return 0;
}

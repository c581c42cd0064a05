// A synthetic x86-64 guest kernel with syscall dispatchers, and a sink that keeps
// the records, for driving the Linux tracer through a fake backend.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

#include "event/record.hpp"
#include "fake_guest.hpp"
#include "syscalls/tracer.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::testing {

struct CollectSink : vmi::EventSink {
  void emit(const void* rec, size_t size) override {
    emitted.fetch_add(1, std::memory_order_relaxed);
    if (!keep) return;
    std::lock_guard lock(mu);
    const auto* p = static_cast<const uint8_t*>(rec);
    records.emplace_back(p, p + size);
  }
  size_t count() {
    std::lock_guard lock(mu);
    return records.size();
  }
  const event::Record& rec(size_t i) {
    return *reinterpret_cast<const event::Record*>(records.at(i).data());
  }
  std::string blob(size_t i, unsigned arg, event::Capture* state = nullptr) {
    event::BlobView v[event::kMaxArgs];
    EXPECT_TRUE(event::blobs(rec(i), v));
    if (state) *state = v[arg].state;
    return std::string(reinterpret_cast<const char*>(v[arg].data), v[arg].len);
  }
  std::mutex mu;
  std::vector<std::vector<uint8_t>> records;
  bool keep = true;  // false: count only (benchmarks: no allocation per event)
  std::atomic<uint64_t> emitted{0};
};

struct Sym {
  static constexpr uint64_t x64_sys_call = 0xffffffff81001000ull;
  static constexpr uint64_t ia32_sys_call = 0xffffffff81002000ull;
  static constexpr uint64_t exit_to_user = 0xffffffff81003000ull;
  static constexpr uint64_t do_syscall_64 = 0xffffffff81004000ull;
  static constexpr uint64_t int80_emulation = 0xffffffff81005000ull;
  static constexpr uint64_t do_fast_syscall_32 = 0xffffffff81006000ull;
  static constexpr uint64_t ret_from_fork = 0xffffffff81007000ull;
  static constexpr uint64_t after_ret_from_fork = 0xffffffff81007080ull;
  static constexpr uint64_t per_syscall_base = 0xffffffff81100000ull;
};

inline void add_dispatchers(profile::Profile& p) {
  add_symbol(p, "x64_sys_call", Sym::x64_sys_call);
  add_symbol(p, "ia32_sys_call", Sym::ia32_sys_call);
  add_symbol(p, "do_syscall_64", Sym::do_syscall_64);
  add_symbol(p, "int80_emulation", Sym::int80_emulation);
  add_symbol(p, "do_fast_syscall_32", Sym::do_fast_syscall_32);
  add_symbol(p, "syscall_exit_to_user_mode", Sym::exit_to_user);
}

// Every per-syscall function of both tables, at distinct addresses.
inline void add_per_syscall(profile::Profile& p) {
  uint64_t a = Sym::per_syscall_base;
  for (auto abi : {event::Abi::linux_x64, event::Abi::linux_ia32})
    for (const auto& s : syscalls::table(abi))
      if (s.symbol && *s.symbol && !p.symbols.count(s.symbol)) add_symbol(p, s.symbol, a += 0x100);
}

inline uint32_t nr_of(const char* name, event::Abi abi = event::Abi::linux_x64) {
  const syscalls::SyscallInfo* s = syscalls::lookup(abi, name);
  EXPECT_NE(s, nullptr) << name;
  return s ? s->nr : 0;
}

struct GuestThread {
  uint64_t task;
  uint64_t regs;  // its pt_regs at the top of its kernel stack
  int32_t pid, tgid;
  std::string comm;
};

class TracerGuest {
 public:
  static constexpr uint64_t kSlide = 0x2e00000;
  static constexpr uint64_t kInit = 0xffff888001000000ull;
  static constexpr uint64_t kCred = 0xffff888002000000ull;
  static constexpr uint64_t kCr3 = 0x1ad2c000;

  explicit TracerGuest(profile::Profile p, syscalls::TracerConfig cfg = {})
      : prof_(std::move(p)), cfg_(std::move(cfg)) {
    mem.write_str(Synth::kBanner + kSlide, Synth::kBannerText);
    write_task(mem, {kInit, 1, 1, "init", kInit, kInit, kCred});
    write_cred(mem, kCred, 0);
    for (unsigned i = 0; i < 2; ++i) {
      cpus.push_back(std::make_unique<FakeVcpu>(mem, i));
      cpus[i]->reg(vmi::Reg::gs_base) = gs(i);
      cpus[i]->reg(vmi::Reg::cr3) = kCr3 + i * 0x1000;
      cpus[i]->reg(vmi::Reg::rip) = Synth::kText + kSlide;  // kernel code: when_in_kernel offers it
      mem.map(gs(i) + Synth::kPcpuHot, 64);
      mem.write_u64(gs(i) + Synth::kPcpuHot + Synth::kCurrentOff, kInit);  // init runs
    }
    write_kernel_code(mem, prof_, kSlide);  // the start-up self-check reads the hooked code
    tracer = syscalls::make_tracer(cfg_, prof_, backend, sink);
  }
  static uint64_t gs(unsigned i) { return 0xffff888000100000ull + i * 0x100000; }
  uint64_t rt(uint64_t link) const { return link + kSlide; }

  void boot() {
    tracer->start();
    ASSERT_TRUE(backend.run_kernel(*cpus[0]));
    ASSERT_TRUE(tracer->tracing()) << tracer->error();
  }

  // A thread of a process (leader = first thread created with that tgid).
  GuestThread thread(int32_t pid, int32_t tgid, const std::string& comm, uint64_t leader = 0) {
    uint64_t task = 0xffff888003000000ull + static_cast<uint64_t>(pid) * 0x1000;
    uint64_t regs = 0xffffc90000000000ull + static_cast<uint64_t>(pid) * 0x4000 + 0x3f58;
    write_task(mem, {task, pid, tgid, comm, kInit, leader ? leader : task, kCred});
    mem.map(regs - kExitFrame, kExitFrame + 168);
    return {task, regs, pid, tgid, comm};
  }
  void on_cpu(unsigned c, const GuestThread& t) {
    mem.write_u64(gs(c) + Synth::kPcpuHot + Synth::kCurrentOff, t.task);
  }
  // Writes a pt_regs frame for an x64 syscall (cx differs from r10 on purpose).
  void frame64(const GuestThread& t, uint32_t nr, std::array<uint64_t, 6> a) {
    mem.write_u64(t.regs + ptregs::di, a[0]);
    mem.write_u64(t.regs + ptregs::si, a[1]);
    mem.write_u64(t.regs + ptregs::dx, a[2]);
    mem.write_u64(t.regs + ptregs::r10, a[3]);
    mem.write_u64(t.regs + ptregs::cx, 0xc0ffee);  // user rip after `syscall`
    mem.write_u64(t.regs + ptregs::r8, a[4]);
    mem.write_u64(t.regs + ptregs::r9, a[5]);
    mem.write_u64(t.regs + ptregs::orig_ax, nr);
    mem.write_u64(t.regs + ptregs::ax, static_cast<uint64_t>(-38));  // -ENOSYS
  }
  // x64 entry through x64_sys_call(regs, nr) on vCPU c.
  void enter64(unsigned c, const GuestThread& t, uint32_t nr, std::array<uint64_t, 6> a = {}) {
    on_cpu(c, t);
    frame64(t, nr, a);
    FakeVcpu& v = *cpus[c];
    v.reg(vmi::Reg::rdi) = t.regs;
    v.reg(vmi::Reg::rsi) = nr;
    backend.fire(rt(Sym::x64_sys_call), v);
  }
  // syscall_exit_to_user_mode(regs) on vCPU c with regs->ax = ret, called from
  // do_syscall_64 (or from ret_from_fork: a new task's first return to user mode).
  static constexpr uint64_t kExitFrame = 0x40;  // do_syscall_64's frame below pt_regs
  void leave(unsigned c, const GuestThread& t, int64_t ret, bool from_fork = false) {
    on_cpu(c, t);
    mem.write_u64(t.regs + ptregs::ax, static_cast<uint64_t>(ret));
    FakeVcpu& v = *cpus[c];
    v.reg(vmi::Reg::rdi) = t.regs;
    v.reg(vmi::Reg::rsp) = t.regs - kExitFrame;
    mem.write_u64(t.regs - kExitFrame,
                  rt(from_fork ? Sym::ret_from_fork + 0x20 : Sym::do_syscall_64 + 0x80));
    backend.fire(rt(Sym::exit_to_user), v);
  }

  FakeMemory mem;
  FakeBackend backend;
  CollectSink sink;
  std::vector<std::unique_ptr<FakeVcpu>> cpus;
  profile::Profile prof_;
  syscalls::TracerConfig cfg_;
  std::unique_ptr<syscalls::Tracer> tracer;
};

inline profile::Profile dispatcher_profile() {
  auto p = synthetic_profile();
  add_dispatchers(p);
  return p;
}

// With ret_from_fork (and the symbol after it): pending entries keyed by pt_regs.
inline profile::Profile fork_aware_profile() {
  auto p = dispatcher_profile();
  add_symbol(p, "ret_from_fork", Sym::ret_from_fork);
  add_symbol(p, "after_ret_from_fork", Sym::after_ret_from_fork);
  return p;
}

// A temporary file with the given content, removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& content, const char* name = "filter") {
    path = ::testing::TempDir() + "/vmitrace_" + name + "_" + std::to_string(counter()++);
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string path;
};

}  // namespace vmitrace::testing

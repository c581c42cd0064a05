// libFuzzer target: the syscalls plugin's capture path over hostile guest memory,
// end to end: entry hooks (x64 and ia32 dispatchers) with pt_regs, numbers and
// argument pointers from the input, the process context, string and argv capture
// (capture.cpp), return pairing, the rate limit, then every record formatted in
// every layout, raw and rich (decode.cpp, rich.cpp), as the writer would. With bit 7
// of the rate byte, the arm64 kernel instead: invoke_syscall with pt_regs (pstate, so
// either ABI), SP_EL0 and TTBR0_EL1 from the input, PAN set or not (user memory then
// goes through the input's own translation tables and linear-map offset), returns at
// the link register's site.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "event/record.hpp"
#include "format_sink.hpp"
#include "fuzz_guest.hpp"
#include "os/linux/arm64_user.hpp"
#include "output/format.hpp"
#include "seed_writer.hpp"
#include "syscalls/tracer.hpp"
#include "syscalls/tables/linux.hpp"

using namespace vmitrace;
using testing::Synth;

namespace {

constexpr uint64_t kX64 = 0xffffffff81001000ull, kIa32 = 0xffffffff81002000ull,
                   kExit = 0xffffffff81003000ull;
// A healthy boot state in the target's own pages (the self-check passes on it; the
// input then drives the hooks with its own GS bases): init on the vCPU.
constexpr uint64_t kBootGs = 0xfffffe0000000000ull, kBootTask = 0xfffffe0000100000ull,
                   kBootCred = 0xfffffe0000102000ull;

profile::Profile make_profile() {
  profile::Profile p = testing::synthetic_profile();
  testing::add_symbol(p, "x64_sys_call", kX64);
  testing::add_symbol(p, "ia32_sys_call", kIa32);
  testing::add_symbol(p, "syscall_exit_to_user_mode", kExit);
  return p;
}

// The arm64 boot state: init in SP_EL0 at a linear-map address, the exception vectors
// in VBAR_EL1 (no slide).
constexpr uint64_t kArmTask = 0xffff000000100000ull, kArmCred = 0xffff000000102000ull;

// Input: config bytes, then steps of (op, nr, rdi, rsp, gs) and the memory (the
// whole input, wrapping). Seeds: an openat and an execve whose pointers lead into
// the input's own bytes.
void write_seeds(const char* dir) {
  const size_t size = 4096;
  std::vector<uint8_t> s(size);
  const uint64_t base = 0xffff888000000000ull, user = 0x7ffc00000000ull;
  auto kva = [&](uint64_t off) { return base - base % size + off; };
  auto uva = [&](uint64_t off) { return user - user % size + off; };
  auto put = [&](size_t off, uint64_t v) { std::memcpy(&s[off], &v, 8); };
  s[0] = 0;    // holes
  s[1] = 0;    // string limit: default
  s[2] = 0;    // rate limit: none
  // step: op (0 x64 entry, 1 ia32 entry, 2 exit), nr (u16), then rdi, rsp, gs
  const size_t step = 3;
  const uint64_t regs = kva(0x800), task = kva(0x400);
  const uint64_t gs = kva(0x20) - Synth::kPcpuHot - Synth::kCurrentOff;
  s[step] = 0;
  s[step + 1] = 2;  // open(filename, flags, mode)
  put(step + 3, regs);
  put(step + 11, 0);
  put(step + 19, gs);
  s[step + 27] = 2;  // exit with the same regs
  s[step + 28] = 0;
  put(step + 30, regs);
  put(step + 38, 0);
  put(step + 46, gs);
  put(0x20, task);
  put(0x400 + Synth::kPid, 7 | uint64_t{7} << 32);
  put(0x400 + Synth::kGroupLeader, task);
  put(0x400 + Synth::kRealParent, task);
  std::memcpy(&s[0x400 + Synth::kComm], "seed", 4);
  put(0x800 + 112, uva(0xc00));   // di: the path
  put(0x800 + 104, 0x80241);      // si: flags
  put(0x800 + 96, 0644);          // dx: mode
  put(0x800 + 120, 2);            // orig_ax
  std::memcpy(&s[0xc00], "/etc/passwd\0", 12);
  fuzz::write_seed(dir, "open", s.data(), s.size());
  s[step + 1] = 59;  // execve(filename, argv, envp): argv at 0xd00
  put(0x800 + 104, uva(0xd00));
  put(0x800 + 96, uva(0xd00));
  put(0xd00, uva(0xc00));
  put(0xd08, uva(0xc05));
  put(0xd10, 0);
  s[1] = 16;
  fuzz::write_seed(dir, "execve", s.data(), s.size());

  // arm64: openat through invoke_syscall and its return, PAN off then on.
  std::fill(s.begin(), s.end(), 0);
  s[2] = 0x80;
  using testing::A64;
  for (int k = 0; k < 2; ++k) {
    const size_t at = step + 27 * k;
    s[at] = static_cast<uint8_t>(k);  // entry, then the return site
    s[at + 1] = 56;
    put(at + 3, regs);
    put(at + 11, kva(0xf00));
    put(at + 19, task);
  }
  put(0x400 + Synth::kPid, 7 | uint64_t{7} << 32);
  put(0x400 + Synth::kGroupLeader, task);
  put(0x400 + Synth::kRealParent, task);
  std::memcpy(&s[0x400 + Synth::kComm], "seed", 4);
  put(0x800 + A64::kRegs, static_cast<uint64_t>(-100));
  put(0x800 + A64::kRegs + 8, uva(0xc00));
  put(0x800 + A64::kRegs + 16, 0x241);
  put(0x800 + A64::kSyscallno, 56);
  std::memcpy(&s[0xc00], "/etc/passwd\0", 12);
  fuzz::write_seed(dir, "arm64-open", s.data(), s.size());
  s[step] = 0x10;  // PSTATE.PAN: user memory through TTBR0's tables
  fuzz::write_seed(dir, "arm64-open-pan", s.data(), s.size());
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

// arm64: the same steps drive invoke_syscall (op bit 4: PSTATE.PAN set) with x0 = the
// pt_regs pointer, x1 = nr, sp, SP_EL0 = the third value, which is also TTBR0_EL1.
int run_arm64(fuzz::InputReader& in, const syscalls::TracerConfig& cfg, const uint8_t* data, size_t size,
              uint8_t holes) {
  using testing::A64;
  static const profile::Profile prof = testing::synthetic_arm64_profile();
  static const testing::FakeMemory overlay = [] {
    testing::FakeMemory m;
    m.write_str(A64::kBanner, A64::kBannerText);
    testing::write_kernel_code(m, prof, 0);
    testing::write_task(m, {kArmTask, 1, 1, "init", kArmTask, kArmTask, kArmCred});
    testing::write_cred(m, kArmCred, 0);
    return m;
  }();
  testing::FakeBackend backend;
  fuzz::FormatSink sink;
  fuzz::FuzzVcpu cpu(overlay, data, size, holes);
  auto tracer = syscalls::make_tracer(cfg, prof, backend, sink);
  fuzz::quietly([&] { tracer->start(); });
  cpu.reg(vmi::Reg::pc) = A64::kInvoke;
  cpu.reg(vmi::Reg::vbar_el1) = A64::kVectors;
  cpu.reg(vmi::Reg::sp_el0) = kArmTask;
  cpu.reg(vmi::Reg::tcr_el1) = 16 | (16ull << 16) | (2ull << 30);
  bool done = false;
  fuzz::quietly([&] { done = backend.run_kernel(cpu); });
  if (!done || !tracer->tracing()) return 0;
  for (int steps = 0; steps < 16 && in.n >= 27; ++steps) {
    const uint8_t op = in.u8();
    uint16_t nr = in.u8();
    nr |= static_cast<uint16_t>(in.u8() << 8);
    cpu.reg(vmi::Reg::x0) = in.u64();
    cpu.reg(vmi::Reg::x1) = nr;
    cpu.reg(vmi::Reg::sp) = in.u64();
    const uint64_t v = in.u64();
    cpu.reg(vmi::Reg::sp_el0) = v;
    cpu.reg(vmi::Reg::ttbr0_el1) = v;
    cpu.reg(vmi::Reg::pstate) = (op & 0x10) ? oslinux::kPstatePan : 0;
    cpu.reg(vmi::Reg::x30) = A64::kRetSite;
    backend.fire(op % 2 ? A64::kRetSite : A64::kInvoke, cpu);
  }
  auto st = tracer->stats();
  if (st.syscalls + st.sysrets != sink.n) __builtin_trap();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const profile::Profile prof = make_profile();
  static const testing::FakeMemory overlay = [] {
    testing::FakeMemory m;
    m.write_str(Synth::kBanner, Synth::kBannerText);
    testing::write_kernel_code(m, prof, 0);
    testing::write_task(m, {kBootTask, 1, 1, "init", kBootTask, kBootTask, kBootCred});
    testing::write_cred(m, kBootCred, 0);
    m.write_u64(kBootGs + Synth::kPcpuHot + Synth::kCurrentOff, kBootTask);
    return m;
  }();
  fuzz::InputReader in{data, size};
  const uint8_t holes = in.u8(), slimit = in.u8(), rate = in.u8();
  syscalls::TracerConfig cfg;
  cfg.string_limit = slimit ? slimit * 32u : 256u;
  cfg.rate_limit = rate % 8;  // 0 (none) or a tiny limit that drops
  if (rate & 0x80) return run_arm64(in, cfg, data, size, holes);
  testing::FakeBackend backend;
  fuzz::FormatSink sink;
  fuzz::FuzzVcpu cpu(overlay, data, size, holes);
  auto tracer_ptr = syscalls::make_tracer(cfg, prof, backend, sink);
  syscalls::Tracer& tracer = *tracer_ptr;
  fuzz::quietly([&] { tracer.start(); });
  cpu.reg(vmi::Reg::rip) = Synth::kText;  // kernel code: offered to the plugin
  cpu.reg(vmi::Reg::gs_base) = kBootGs;
  bool done = false;
  fuzz::quietly([&] { done = backend.run_kernel(cpu); });  // the self-check's verdict line
  if (!done || !tracer.tracing()) return 0;
  for (int steps = 0; steps < 16 && in.n >= 27; ++steps) {
    const uint8_t op = in.u8();
    uint16_t nr = in.u8();
    nr |= static_cast<uint16_t>(in.u8() << 8);
    cpu.reg(vmi::Reg::rdi) = in.u64();
    cpu.reg(vmi::Reg::rsi) = nr;
    cpu.reg(vmi::Reg::rax) = cpu.reg(vmi::Reg::rdi);  // i386 regparm would use these
    cpu.reg(vmi::Reg::rdx) = nr;
    cpu.reg(vmi::Reg::rsp) = in.u64();
    cpu.reg(vmi::Reg::gs_base) = in.u64();
    switch (op % 3) {
      case 0: backend.fire(kX64, cpu); break;
      case 1: backend.fire(kIa32, cpu); break;
      default: backend.fire(kExit, cpu); break;
    }
  }
  auto st = tracer.stats();
  if (st.syscalls + st.sysrets != sink.n) __builtin_trap();
  return 0;
}

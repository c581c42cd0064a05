// arm64 Linux through the same OS layer and tracer: pt_regs from the profile, KASLR
// from VBAR_EL1 or the pc, the task in SP_EL0, one dispatcher (invoke_syscall) for
// arm64 and AArch32 tasks told apart by pstate, per-syscall functions with the number
// from syscallno, returns through the link register's site, TTBR0_EL1 as CR3.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "os/linux/arm64_user.hpp"
#include "os/linux/kernel.hpp"
#include "tracer_fixture.hpp"
#include "syscalls/tables/constants.hpp"
#include "syscalls/linux/hook_plan.hpp"

namespace vmitrace::testing {
namespace {

using event::Abi;
using vmi::Reg;

profile::Profile arm64_profile(bool per_syscall = false) {
  profile::Profile p = synthetic_arm64_profile();
  if (per_syscall) {
    uint64_t a = A64::kPerSyscall;
    for (auto abi : {Abi::linux_arm64, Abi::linux_arm32})
      for (const auto& s : syscalls::table(abi))
        if (s.symbol && *s.symbol && !p.symbols.count(s.symbol)) add_symbol(p, s.symbol, a += 0x100);
  }
  return p;
}

uint64_t rt(uint64_t link) { return link + A64::kSlide; }

// Tasks in the linear map (0xffff0000...), as arm64 kernels allocate them.
constexpr uint64_t kInit = 0xffff000001000000ull, kCred = 0xffff000002000000ull;

struct Arm64Guest {
  FakeMemory mem;
  FakeVcpu cpu{mem, 0};
  FakeBackend backend;
  CollectSink sink;
  profile::Profile prof;
  std::unique_ptr<syscalls::Tracer> tracer;

  explicit Arm64Guest(profile::Profile p, syscalls::TracerConfig cfg = {}) : prof(std::move(p)) {
    mem.write_str(rt(A64::kBanner), A64::kBannerText);
    write_task(mem, {kInit, 1, 1, "init", kInit, kInit, kCred});
    write_cred(mem, kCred, 0);
    write_kernel_code(mem, prof, A64::kSlide);
    cpu.reg(Reg::pc) = rt(A64::kInvoke);
    cpu.reg(Reg::vbar_el1) = rt(A64::kVectors);
    cpu.reg(Reg::sp_el0) = kInit;
    cpu.reg(Reg::ttbr0_el1) = A64::kTtbr0;
    tracer = syscalls::make_tracer(cfg, prof, backend, sink);
  }
  void boot() {
    tracer->start();
    ASSERT_TRUE(backend.run_kernel(cpu));
    ASSERT_TRUE(tracer->tracing()) << tracer->error();
  }
  GuestThread thread(int32_t pid, const std::string& comm) {
    const uint64_t task = 0xffff000003000000ull + static_cast<uint64_t>(pid) * 0x1000;
    const uint64_t regs = 0xffff800010000000ull + static_cast<uint64_t>(pid) * 0x4000 + 0x3eb0;
    write_task(mem, {task, pid, pid, comm, kInit, task, kCred});
    mem.map(regs, 336);
    return {task, regs, pid, pid, comm};
  }
  // Entry through invoke_syscall(regs, scno, sc_nr, table) from el0_svc_common.
  void enter(const GuestThread& t, uint32_t nr, std::array<uint64_t, 6> a, bool aarch32,
             uint64_t fn = A64::kInvoke) {
    for (unsigned i = 0; i < 6; ++i) mem.write_u64(t.regs + A64::kRegs + 8 * i, a[i]);
    mem.write_u64(t.regs + A64::kPstate, aarch32 ? 0x10 : 0x0);  // PSR_MODE32_BIT
    mem.write_u64(t.regs + A64::kSyscallno, nr);
    cpu.reg(Reg::sp_el0) = t.task;
    cpu.reg(Reg::x0) = t.regs;
    if (fn == A64::kInvoke) cpu.reg(Reg::x1) = nr;
    cpu.reg(Reg::x30) = rt(A64::kRetSite);
    cpu.reg(Reg::sp) = t.regs - 0x60;
    cpu.reg(Reg::pc) = rt(fn);
    backend.fire(rt(fn), cpu);
  }
  // invoke_syscall returns: regs[0] holds the result; sp is back to the entry's.
  void leave(const GuestThread& t, int64_t ret) {
    mem.write_u64(t.regs + A64::kRegs, static_cast<uint64_t>(ret));
    cpu.reg(Reg::x0) = 0xdead;  // invoke_syscall returns void
    cpu.reg(Reg::sp) = t.regs - 0x60;
    cpu.reg(Reg::pc) = rt(A64::kRetSite);
    backend.fire(rt(A64::kRetSite), cpu);
  }
};

TEST(Arm64, ArchAndPtRegsComeFromTheProfile) {
  const profile::Profile p = arm64_profile();
  oslinux::LinuxKernel k(p, "a64.json");
  EXPECT_EQ(k.arch(), oslinux::Arch::arm64);
  const auto& L = k.pt_regs();
  EXPECT_EQ(L.ax, A64::kRegs);
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(L.arg[i], A64::kRegs + 8 * i);
    EXPECT_EQ(L.compat_arg[i], A64::kRegs + 8 * i);
  }
  EXPECT_EQ(L.orig_ax, A64::kSyscallno);
  EXPECT_EQ(L.pstate, A64::kPstate);
  EXPECT_EQ(L.size, A64::kSyscallno + 8);
  EXPECT_EQ(oslinux::arch_of(synthetic_profile()), oslinux::Arch::x86_64);
  // Moved fields are followed, never assumed.
  profile::Profile moved = arm64_profile();
  moved.user_types["pt_regs"].fields["regs"] = field_at(16);
  moved.user_types["pt_regs"].fields["pstate"] = field_at(300);
  oslinux::LinuxKernel km(moved, "a64.json");
  EXPECT_EQ(km.pt_regs().arg[5], 16u + 40u);
  EXPECT_EQ(km.pt_regs().pstate, 300u);
  // A field missing is one line naming it.
  profile::Profile bad = arm64_profile();
  bad.user_types["pt_regs"].fields.erase("syscallno");
  try {
    oslinux::LinuxKernel kb(bad, "a64.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "a64.json: the profile's pt_regs has no field syscallno (arm64)");
  }
}

TEST(Arm64, AddressSpacesOfEveryGranuleUpToFortyEightBitsAreLocated) {
  const profile::Profile p = arm64_profile();
  FakeMemory mem;
  mem.write_str(rt(A64::kBanner), A64::kBannerText);
  FakeVcpu cpu(mem, 0);
  cpu.reg(Reg::vbar_el1) = rt(A64::kVectors);
  cpu.reg(Reg::pc) = rt(A64::kInvoke);
  // TCR_EL1 as Linux sets it, 4 KiB / 48-bit, 16 KiB / 47-bit (Debian's 16k kernel
  // without LPA2), 64 KiB / 48-bit: the kernel is found.
  const uint64_t g4 = 16 | (16ull << 16) | (2ull << 30), g16 = 17 | (2ull << 14) | (17ull << 16) | (1ull << 30),
                 g64 = 16 | (1ull << 14) | (16ull << 16) | (3ull << 30);
  for (uint64_t tcr : {g4, g16, g64}) {
    oslinux::LinuxKernel k(p, "a64.json");
    cpu.reg(Reg::tcr_el1) = tcr;
    std::string err;
    EXPECT_EQ(k.locate(cpu, &err), oslinux::LinuxKernel::Locate::found) << std::hex << tcr << ": " << err;
  }
  // 52-bit virtual addresses (16 KiB + LPA2, as with QEMU's -cpu max): one line
  // naming TCR_EL1 and the way out, not a search that cannot succeed.
  const uint64_t lpa2 = 12 | (2ull << 14) | (12ull << 16) | (1ull << 30) | (1ull << 59);
  oslinux::LinuxKernel k(p, "a64.json");
  cpu.reg(Reg::tcr_el1) = lpa2;
  std::string err;
  EXPECT_EQ(k.locate(cpu, &err), oslinux::LinuxKernel::Locate::mismatch);
  EXPECT_EQ(err, "a64.json: the kernel's address space is not supported: TCR_EL1 0x8000000400c800c: TTBR1 uses "
                 "52-bit virtual addresses (DS=1, LPA2); at most 48-bit ones are supported (QEMU: -cpu "
                 "max,lpa2=off; docs/ARM64.md)");
  // Firmware (pc below the kernel) is not judged: its TCR_EL1 is not the kernel's.
  oslinux::LinuxKernel kf(p, "a64.json");
  cpu.reg(Reg::pc) = 0x40001000;
  EXPECT_NE(kf.locate(cpu, &err), oslinux::LinuxKernel::Locate::mismatch) << err;
}

TEST(Arm64, KaslrFromVbarOrFromThePc) {
  const profile::Profile p = arm64_profile();
  FakeMemory mem;
  mem.write_str(rt(A64::kBanner), A64::kBannerText);
  FakeVcpu cpu(mem, 0);
  {
    oslinux::LinuxKernel k(p, "a64.json");
    cpu.reg(Reg::vbar_el1) = rt(A64::kVectors);
    cpu.reg(Reg::pc) = rt(A64::kInvoke);
    cpu.reads = 0;
    std::string err;
    ASSERT_EQ(k.locate(cpu, &err), oslinux::LinuxKernel::Locate::found) << err;
    EXPECT_EQ(k.slide(), A64::kSlide);
    EXPECT_LE(cpu.reads, 2u);  // the probe and the full banner
  }
  {
    // No VBAR (or one pointing elsewhere): 64 KiB steps below the pc.
    oslinux::LinuxKernel k(p, "a64.json");
    cpu.reg(Reg::vbar_el1) = 0;
    cpu.reg(Reg::pc) = rt(A64::kText + 0x5a1234);
    std::string err;
    ASSERT_EQ(k.locate(cpu, &err), oslinux::LinuxKernel::Locate::found) << err;
    EXPECT_EQ(k.slide(), A64::kSlide);
  }
  {
    // Another kernel's banner there: a mismatch naming both.
    FakeMemory other;
    other.write_str(rt(A64::kBanner), "Linux version 6.12.48+deb13-cloud-arm64 (other)\n");
    FakeVcpu c2(other, 0);
    c2.reg(Reg::vbar_el1) = rt(A64::kVectors);
    c2.reg(Reg::pc) = rt(A64::kInvoke);
    oslinux::LinuxKernel k(p, "a64.json");
    std::string err;
    EXPECT_EQ(k.locate(c2, &err), oslinux::LinuxKernel::Locate::mismatch);
    EXPECT_NE(err.find("6.12.48+deb13-cloud-arm64"), std::string::npos) << err;
  }
}

TEST(Arm64, CurrentTaskIsSpEl0) {
  const profile::Profile p = arm64_profile();
  oslinux::LinuxKernel k(p, "a64.json");
  FakeMemory mem;
  FakeVcpu cpu(mem, 0);
  cpu.reg(Reg::sp_el0) = kInit;
  EXPECT_EQ(k.current_task(cpu), kInit);
  EXPECT_EQ(cpu.reads, 0u);  // a register, no memory read
  cpu.reg(Reg::sp_el0) = 0x0000ffffd4d5fdf0ull;  // a user stack pointer (EL0)
  EXPECT_EQ(k.current_task(cpu), 0u);
}

TEST(Arm64, NativeAndAarch32ThroughInvokeSyscallWithReturns) {
  Arm64Guest g(arm64_profile());
  g.boot();
  EXPECT_EQ(g.tracer->hook_plan(),
            "arm64 and arm32 (AArch32 tasks, told apart by pstate) via invoke_syscall, "
            "return via return addresses of the hooked functions");
  const GuestThread t = g.thread(95, "lab64");
  const uint32_t openat = nr_of("openat", Abi::linux_arm64);
  EXPECT_EQ(openat, 56u);
  g.mem.write_str(0x0000aaaab0001000ull, "/tmp/vmitrace-lab/file64.txt");
  g.enter(t, openat, {static_cast<uint64_t>(-100), 0x0000aaaab0001000ull, 0x241, 0644, 0, 0}, false);
  ASSERT_EQ(g.sink.count(), 1u);
  const event::Record& r = g.sink.rec(0);
  EXPECT_EQ(r.abi, Abi::linux_arm64);
  EXPECT_EQ(r.nr, 56u);
  EXPECT_EQ(r.pid, 95);
  EXPECT_EQ(r.process(), "lab64");
  EXPECT_EQ(r.cr3, A64::kTtbr0);
  EXPECT_EQ(r.module_name(), "invoke_syscall");
  EXPECT_EQ(r.args[2], 0x241u);
  EXPECT_EQ(g.sink.blob(0, 1), "/tmp/vmitrace-lab/file64.txt");
  EXPECT_TRUE(g.backend.gate_open);
  g.leave(t, 3);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).kind, event::Kind::sysret);
  EXPECT_EQ(g.sink.rec(1).ret, 3);
  EXPECT_EQ(g.sink.rec(1).nr, 56u);

  // An AArch32 task: arm EABI numbers, 32-bit arguments and return value.
  const GuestThread t32 = g.thread(98, "lab32");
  const uint32_t openat32 = nr_of("openat", Abi::linux_arm32);
  EXPECT_EQ(openat32, 322u);
  g.mem.write_str(0x12480, "/tmp/vmitrace-lab/file32.txt");
  g.enter(t32, openat32, {0xdeadbeefffffff9cull, 0x12480, 0x241, 0644, 0, 0}, true);
  ASSERT_EQ(g.sink.count(), 3u);
  EXPECT_EQ(g.sink.rec(2).abi, Abi::linux_arm32);
  EXPECT_EQ(g.sink.rec(2).args[0], 0xffffff9cu);
  EXPECT_EQ(g.sink.blob(2, 1), "/tmp/vmitrace-lab/file32.txt");
  EXPECT_STREQ(syscalls::abi_type_name(g.sink.rec(2).abi), "arm32");
  g.leave(t32, -2);
  ASSERT_EQ(g.sink.count(), 4u);
  EXPECT_EQ(g.sink.rec(3).abi, Abi::linux_arm32);
  EXPECT_EQ(g.sink.rec(3).ret, -2);

  // exit_group (arm64 94, arm 248) leaves nothing pending.
  g.enter(t, 94, {0, 0, 0, 0, 0, 0}, false);
  g.enter(t32, 248, {0, 0, 0, 0, 0, 0}, true);
  EXPECT_EQ(g.tracer->stats().syscalls, 4u);
  EXPECT_FALSE(g.backend.gate_open);
}

// With PSTATE.PAN set, QEMU's debug reads of user addresses fail as the kernel's own
// would: the capture walks TTBR0's tables and reads through the linear map instead.
TEST(Arm64, UserMemoryUnderPanThroughTheTasksTablesAndTheLinearMap) {
  Arm64Guest g(arm64_profile());
  g.boot();
  constexpr uint64_t kLinear = 0xffff000000000000ull - 0x40000000ull;  // PAGE_OFFSET - PHYS_OFFSET
  auto lin = [&](uint64_t pa) { return pa + kLinear; };
  const uint64_t pgd = 0x48000000, user_va = 0x0000aaaab0001234ull, data_pa = 0x4a000000;
  auto idx = [](uint64_t va, unsigned level) { return (va >> (12 + 9 * (3 - level))) & 0x1ff; };
  g.mem.write_u64(lin(pgd) + idx(user_va, 0) * 8, (pgd + 0x1000) | 3);
  g.mem.write_u64(lin(pgd + 0x1000) + idx(user_va, 1) * 8, (pgd + 0x2000) | 3);
  g.mem.write_u64(lin(pgd + 0x2000) + idx(user_va, 2) * 8, (pgd + 0x3000) | 3);
  g.mem.write_u64(lin(pgd + 0x3000) + idx(user_va, 3) * 8, data_pa | 0x443);  // page, AF, EL0
  g.mem.write_str(lin(data_pa) + 0x234, "/tmp/vmitrace-lab/file64.txt");
  const GuestThread t = g.thread(95, "lab64");
  const uint64_t mm = 0xffff000005000000ull;
  g.mem.write_u64(t.task + Synth::kMm, mm);
  g.mem.write_u64(mm + 0x48, lin(pgd));
  g.cpu.reg(Reg::ttbr0_el1) = pgd | 1;  // CnP
  g.cpu.reg(Reg::tcr_el1) = 16 | (16ull << 16) | (2ull << 30);
  g.cpu.reg(Reg::pstate) = oslinux::kPstatePan | 0x5;  // EL1h, PAN
  // A hook call that reads no user memory (close, then its return) never reads PSTATE
  // (a register read per event saved on the hot path).
  const auto pstate_reads = [&] { return g.cpu.reg_reads[static_cast<size_t>(Reg::pstate)]; };
  g.enter(t, 57, {3, 0, 0, 0, 0, 0}, false);
  g.leave(t, 0);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(pstate_reads(), 0u);
  g.sink.records.clear();
  g.enter(t, 56, {static_cast<uint64_t>(-100), user_va, 0, 0, 0, 0}, false);
  ASSERT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.sink.blob(0, 1), "/tmp/vmitrace-lab/file64.txt");
  EXPECT_EQ(pstate_reads(), 1u);  // once per hook call, at its first user read
  // Without PAN the same address is read directly (unmapped here: unreadable).
  g.cpu.reg(Reg::pstate) = 0x5;
  event::Capture st{};
  g.enter(t, 56, {static_cast<uint64_t>(-100), user_va, 0, 0, 0, 0}, false);
  ASSERT_EQ(g.sink.count(), 2u);
  g.sink.blob(1, 1, &st);
  EXPECT_EQ(st, event::Capture::unreadable);
  // A 16 KiB granule for TTBR0 (47 bits, 3 levels: Debian's 16k kernel): the task's
  // tables are walked; a name across two 16 KiB pages that are apart in RAM is read whole.
  const uint64_t pgd16 = 0x4c000000, va16 = 0x00007fffb0003ffaull;
  auto idx16 = [](uint64_t va, unsigned level) { return (va >> (14 + 11 * (3 - level))) & 0x7ff; };
  for (uint64_t va : {va16, va16 + 0x4000}) {
    g.mem.write_u64(lin(pgd16) + idx16(va, 1) * 8, (pgd16 + 0x4000) | 3);
    g.mem.write_u64(lin(pgd16 + 0x4000) + idx16(va, 2) * 8, (pgd16 + 0x8000) | 3);
  }
  g.mem.write_u64(lin(pgd16 + 0x8000) + idx16(va16, 3) * 8, 0x4d000000 | 0x443);
  g.mem.write_u64(lin(pgd16 + 0x8000) + idx16(va16 + 0x4000, 3) * 8, 0x4e000000 | 0x443);
  g.mem.write_str(lin(0x4d003ffa), "/tmp/v");
  g.mem.write_str(lin(0x4e000000), "mitrace-lab/file64.txt");
  g.mem.write_u64(mm + 0x48, lin(pgd16));
  g.cpu.reg(Reg::ttbr0_el1) = pgd16;
  g.cpu.reg(Reg::tcr_el1) = 17 | (2ull << 14) | (17ull << 16) | (1ull << 30);
  g.cpu.reg(Reg::pstate) = oslinux::kPstatePan | 0x5;
  g.enter(t, 56, {static_cast<uint64_t>(-100), va16, 0, 0, 0, 0}, false);
  ASSERT_EQ(g.sink.count(), 3u);
  EXPECT_EQ(g.sink.blob(2, 1), "/tmp/vmitrace-lab/file64.txt");
  // 52-bit user addresses (T0SZ 12): refused with one warning naming TCR_EL1, not misread.
  g.cpu.reg(Reg::tcr_el1) = 12 | (2ull << 14) | (17ull << 16) | (1ull << 30);
  ::testing::internal::CaptureStderr();
  g.enter(t, 56, {static_cast<uint64_t>(-100), va16, 0, 0, 0, 0}, false);
  g.enter(t, 56, {static_cast<uint64_t>(-100), va16, 0, 0, 0, 0}, false);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "vmitrace: warning: profile: TCR_EL1 0x4011800c: TTBR0 uses 52-bit virtual addresses; at most "
                 "48-bit ones are supported; user memory (strings, buffers) is not read\n");
  ASSERT_EQ(g.sink.count(), 5u);
  g.sink.blob(4, 1, &st);
  EXPECT_EQ(st, event::Capture::unreadable);
}

TEST(Arm64, FilterHooksPerSyscallFunctionsNumberFromSyscallno) {
  TempFile f("openat\nclose\n");
  syscalls::TracerConfig cfg;
  cfg.filter_file = f.path;
  Arm64Guest g(arm64_profile(true), cfg);
  g.boot();
  const uint64_t native = *g.prof.symbol("__arm64_sys_openat");
  const uint64_t compat = *g.prof.symbol("__arm64_compat_sys_openat");
  EXPECT_TRUE(g.backend.hooked(rt(native)));
  EXPECT_TRUE(g.backend.hooked(rt(compat)));
  EXPECT_TRUE(g.backend.hooked(rt(*g.prof.symbol("__arm64_sys_close"))));  // both ABIs' close
  EXPECT_FALSE(g.backend.hooked(rt(A64::kInvoke)));
  EXPECT_FALSE(g.backend.hooked(rt(*g.prof.symbol("__arm64_sys_read"))));
  const GuestThread t = g.thread(95, "lab64");
  // The number is syscallno's, not x1 (which the wrapper does not receive).
  g.cpu.reg(Reg::x1) = 12345;
  g.enter(t, 56, {static_cast<uint64_t>(-100), 0, 0, 0, 0, 0}, false, native);
  ASSERT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.sink.rec(0).nr, 56u);
  EXPECT_EQ(g.sink.rec(0).module_name(), "__arm64_sys_openat");
  // __arm64_sys_close serves arm64's close (57) and AArch32's (6): pstate decides.
  const GuestThread t32 = g.thread(98, "lab32");
  g.enter(t32, 6, {3, 0, 0, 0, 0, 0}, true, *g.prof.symbol("__arm64_sys_close"));
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).abi, Abi::linux_arm32);
  EXPECT_EQ(g.sink.rec(1).nr, 6u);
}

TEST(Arm64, ProfileOfTheOtherInstructionSetIsOneLine) {
  for (const bool arm_profile : {true, false}) {
    FakeBackend be;
    be.machine_name = arm_profile ? "x86" : "arm64";
    CollectSink sink;
    syscalls::TracerConfig cfg;
    std::string fatal;
    cfg.on_fatal = [&](const std::string& m) { fatal = m; };
    auto tracer = syscalls::make_tracer(cfg, arm_profile ? arm64_profile() : dispatcher_profile(), be, sink);
    syscalls::Tracer& p = *tracer;
    ::testing::internal::CaptureStderr();
    p.start();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(fatal, arm_profile ? "profile: profile does not match the running kernel: the profile is for an "
                                   "arm64 kernel, the guest runs an x86 kernel"
                                 : "profile: profile does not match the running kernel: the profile is for an "
                                   "x86_64 kernel, the guest runs an arm64 kernel");
    EXPECT_EQ(err, "vmitrace: error: " + fatal + "\n");
    EXPECT_EQ(p.error(), fatal);
    EXPECT_FALSE(be.kernel_waiters);  // never waits for a kernel it cannot meet
  }
}

// The arm tables are generated from the x86 ones (data/tools/convert_arm64.py): a native
// kernel function x86-64 also has (on arm32: one that serves compat tasks as well, so
// it reads the same structures, sized by the task's ABI where they hold pointers)
// decodes its arguments as on x86-64, but for the layouts arm has of its own (O_* bits,
// struct stat).
TEST(Arm64, TableDecodesWhatX64Decodes) {
  int compared = 0;
  for (Abi abi : {Abi::linux_arm64, Abi::linux_arm32})
  for (const syscalls::SyscallInfo& a : syscalls::table(abi)) {
    std::string_view fn(a.symbol);
    if (!fn.starts_with("__arm64_sys_") || a.name == std::string_view("clone")) continue;
    const syscalls::SyscallInfo* x = nullptr;
    for (const syscalls::SyscallInfo& c : syscalls::table(Abi::linux_x64))
      if (std::string_view(c.symbol).starts_with("__x64_") && std::string_view(c.symbol).substr(6) == fn.substr(8))
        x = &c;
    if (x == nullptr) continue;
    ASSERT_EQ(a.nargs, x->nargs) << a.name;
    for (int i = 0; i < a.nargs; ++i) {
      SCOPED_TRACE(std::string(a.name) + "." + a.args[i].name);
      EXPECT_STREQ(a.args[i].name, x->args[i].name);
      if (x->args[i].kind == syscalls::ArgKind::stat_out) {
        EXPECT_EQ(a.args[i].kind, syscalls::ArgKind::stat_arm_out);
        continue;
      }
      EXPECT_EQ(a.args[i].kind, x->args[i].kind);
      if (x->args[i].set == &syscalls::consts::open_flags)
        EXPECT_EQ(a.args[i].set, &syscalls::consts::open_flags_arm);
      else
        EXPECT_EQ(a.args[i].set, x->args[i].set);
      ++compared;
    }
  }
  EXPECT_GT(compared, 700);
}

TEST(Arm64, TablesAreGeneratedWithArgumentsAndArmFlags) {
  const syscalls::SyscallInfo* o = syscalls::lookup(Abi::linux_arm64, "openat");
  ASSERT_NE(o, nullptr);
  EXPECT_STREQ(o->symbol, "__arm64_sys_openat");
  EXPECT_EQ(o->args[2].kind, syscalls::ArgKind::open_flags);
  ASSERT_NE(o->args[2].set, nullptr);
  EXPECT_EQ(o->args[2].set, &syscalls::consts::open_flags_arm);  // O_DIRECTORY is 040000 here
  // CLONE_BACKWARDS: tls before child_tidptr on both.
  for (Abi a : {Abi::linux_arm64, Abi::linux_arm32}) {
    const syscalls::SyscallInfo* c = syscalls::lookup(a, "clone");
    ASSERT_NE(c, nullptr);
    EXPECT_STREQ(c->args[3].name, "tls");  // kernel/fork.c's name, the key strace prints
    EXPECT_EQ(c->args[3].kind, syscalls::ArgKind::ptr);
    EXPECT_STREQ(c->args[4].name, "child_tidptr");
  }
  // ARM's private calls, above the dense index: found by number and by name, served by
  // compat_arm_syscall (no entry point to hook).
  const syscalls::SyscallInfo* tls = syscalls::lookup(Abi::linux_arm32, 0x0f0005);
  ASSERT_NE(tls, nullptr);
  EXPECT_STREQ(tls->name, "set_tls");
  EXPECT_STREQ(tls->symbol, "");
  EXPECT_EQ(tls->args[0].kind, syscalls::ArgKind::ptr);
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm32, "set_tls"), tls);
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm32, 0x0f0004), nullptr);  // usr32: not on arm64
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm32, 0xffffffffu), nullptr);
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm64, 0x0f0005), nullptr);
  // compat functions take the kinds whose meaning no word size changes from x86-64
  const syscalls::SyscallInfo* sa = syscalls::lookup(Abi::linux_arm32, "rt_sigaction");
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->args[1].kind, syscalls::ArgKind::sigaction);  // read with 4-byte pointers
  EXPECT_EQ(sa->args[1].bits, 32u);
  const syscalls::SyscallInfo* m2 = syscalls::lookup(Abi::linux_arm32, 192);
  ASSERT_NE(m2, nullptr);
  EXPECT_STREQ(m2->name, "mmap2");
  EXPECT_STREQ(m2->symbol, "__arm64_compat_sys_aarch32_mmap2");
  EXPECT_EQ(m2->args[0].bits, 32u);  // compat widths
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm64, 1000), nullptr);
  // arm64's asm-generic struct stat and arm's EABI stat64 share st_mode/st_rdev/st_size
  // offsets; arm's compat_stat is i386's struct stat.
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm64, "fstat")->args[1].kind, syscalls::ArgKind::stat_arm_out);
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm32, "fstat64")->args[1].kind, syscalls::ArgKind::stat_arm_out);
  EXPECT_EQ(syscalls::lookup(Abi::linux_arm32, "fstat")->args[1].kind, syscalls::ArgKind::stat32_out);
  EXPECT_STREQ(syscalls::abi_type_name(Abi::linux_arm64), "arm64");
}

}  // namespace
}  // namespace vmitrace::testing

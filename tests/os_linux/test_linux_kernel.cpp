#include <gtest/gtest.h>

#include "common/error.hpp"
#include "fake_guest.hpp"
#include "os/linux/kernel.hpp"

namespace vmitrace::testing {
namespace {

using oslinux::LinuxKernel;
using vmi::Reg;

constexpr uint64_t kSlide = 0x1a400000;  // 210 * 2 MiB
constexpr uint64_t kGs = 0xffff888000100000ull;

TEST(Kaslr, FindsNonZeroSlide) {
  auto prof = synthetic_profile();
  LinuxKernel k(prof, "synth.json");
  FakeMemory mem;
  // Other candidates are mapped too (kernel text mapped around it), with other bytes.
  for (uint64_t s = 0; s < kSlide; s += 0x200000) mem.write_str(Synth::kBanner + s, "garbage!");
  mem.write_str(Synth::kBanner + kSlide, Synth::kBannerText);
  FakeVcpu cpu(mem, 0);
  std::string err;
  EXPECT_EQ(k.locate(cpu, &err), LinuxKernel::Locate::found) << err;
  EXPECT_TRUE(k.located());
  EXPECT_EQ(k.slide(), kSlide);
  EXPECT_EQ(k.runtime(Synth::kText), Synth::kText + kSlide);
}

TEST(Kaslr, NoKaslrIsSlideZero) {
  auto prof = synthetic_profile();
  LinuxKernel k(prof, "synth.json");
  FakeMemory mem;
  mem.write_str(Synth::kBanner, Synth::kBannerText);
  FakeVcpu cpu(mem, 0);
  EXPECT_EQ(k.locate(cpu, nullptr), LinuxKernel::Locate::found);
  EXPECT_EQ(k.slide(), 0u);
}

TEST(Kaslr, BannerMismatchIsAnErrorNamingBoth) {
  auto prof = synthetic_profile();
  LinuxKernel k(prof, "synth.json");
  FakeMemory mem;
  mem.write_str(Synth::kBanner + kSlide, "Linux version 6.12.95+deb12-cloud-amd64 (x) #1\n");
  FakeVcpu cpu(mem, 0);
  std::string err;
  EXPECT_EQ(k.locate(cpu, &err), LinuxKernel::Locate::mismatch);
  EXPECT_FALSE(k.located());
  EXPECT_NE(err.find("synth.json: profile does not match the running kernel"), std::string::npos);
  EXPECT_NE(err.find("6.12.95"), std::string::npos) << err;
  EXPECT_NE(err.find("6.1.0-56"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
}

TEST(Kaslr, WithoutBannerTextThePrefixDecides) {
  auto prof = synthetic_profile(false);
  LinuxKernel k(prof, "synth.json");
  FakeMemory mem;
  mem.write_str(Synth::kBanner + kSlide, "Linux version anything\n");
  FakeVcpu cpu(mem, 0);
  EXPECT_EQ(k.locate(cpu, nullptr), LinuxKernel::Locate::found);
  EXPECT_EQ(k.slide(), kSlide);
}

TEST(Kaslr, UnreadableKernelRetriesReadableWithoutBannerGivesUp) {
  auto prof = synthetic_profile();
  LinuxKernel k(prof, "synth.json");
  FakeMemory empty;
  FakeVcpu cpu(empty, 0);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(k.locate(cpu, nullptr), LinuxKernel::Locate::retry);

  LinuxKernel k2(prof, "synth.json");
  FakeMemory mem;
  for (uint64_t s = 0; s < (1ull << 30); s += 0x200000) mem.write_str(Synth::kBanner + s, "nope");
  FakeVcpu cpu2(mem, 0);
  std::string err;
  int calls = 0;
  LinuxKernel::Locate r;
  while ((r = k2.locate(cpu2, &err)) == LinuxKernel::Locate::retry && calls < 100) ++calls;
  EXPECT_EQ(r, LinuxKernel::Locate::mismatch);
  EXPECT_LT(calls, 100);
  EXPECT_NE(err.find("linux_banner not found"), std::string::npos);
}

TEST(Kaslr, ScanStaysInsideTheKernelImageWindow) {
  auto prof = synthetic_profile();
  LinuxKernel k(prof, "synth.json");
  FakeMemory mem;
  FakeVcpu cpu(mem, 0);
  k.locate(cpu, nullptr);
  // One read per 2 MiB candidate between _text and 0xffffffffc0000000.
  EXPECT_EQ(cpu.reads, (0xffffffffc0000000ull - Synth::kText) / 0x200000);
}

TEST(LinuxKernelProfile, MissingBannerSymbolIsAnError) {
  auto prof = synthetic_profile();
  prof.symbols.erase("linux_banner");
  try {
    LinuxKernel k(prof, "p.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p.json: no linux_banner"), std::string::npos);
  }
}

TEST(LinuxKernelProfile, PtRegsFromProfileOrKnownLayout) {
  auto prof = synthetic_profile();
  prof.user_types["pt_regs"].fields["r10"].offset = 56;
  LinuxKernel k(prof, "p");
  EXPECT_EQ(k.pt_regs().r10, 56u);
  EXPECT_EQ(k.pt_regs().orig_ax, 120u);
  EXPECT_EQ(k.pt_regs().size, 160u);  // up to sp (152 + 8)
  prof.user_types.erase("pt_regs");
  LinuxKernel k2(prof, "p");
  EXPECT_EQ(k2.pt_regs().di, 112u);
  EXPECT_EQ(k2.pt_regs().cx, 88u);
}

// A guest with one process: init (1) -> bash (100, leader) with thread 101.
struct TaskGuest {
  static constexpr uint64_t kInit = 0xffff888001000000ull, kBash = 0xffff888001001000ull,
                            kThread = 0xffff888001002000ull, kCredRoot = 0xffff888002000000ull,
                            kCredUser = 0xffff888002001000ull;
  FakeMemory mem;
  profile::Profile prof = synthetic_profile();
  LinuxKernel k{prof, "synth"};
  TaskGuest() {
    write_task(mem, {kInit, 1, 1, "init", kInit, kInit, kCredRoot});
    write_task(mem, {kBash, 100, 100, "bash", kInit, kBash, kCredUser});
    write_task(mem, {kThread, 101, 100, "worker", kInit, kBash, kCredUser});
    write_cred(mem, kCredRoot, 0);
    write_cred(mem, kCredUser, 1000);
    k.set_slide(kSlide);
  }
  void run(FakeVcpu& cpu, uint64_t task) {
    cpu.reg(Reg::gs_base) = kGs;
    mem.write_u64(kGs + Synth::kPcpuHot + Synth::kCurrentOff, task);
  }
};

TEST(ProcessContext, ThreadOfAProcess) {
  TaskGuest g;
  FakeVcpu cpu(g.mem, 0);
  g.run(cpu, TaskGuest::kThread);
  uint64_t task = g.k.current_task(cpu);
  ASSERT_EQ(task, TaskGuest::kThread);
  oslinux::ProcessContext c;
  g.k.read_context(cpu, task, c);
  EXPECT_EQ(c.pid, 100);
  EXPECT_EQ(c.tid, 101);
  EXPECT_EQ(c.ppid, 1);
  EXPECT_EQ(c.uid, 1000);
  EXPECT_STREQ(c.process_name, "bash");
  EXPECT_STREQ(c.thread_name, "worker");
  EXPECT_EQ(c.flags, 0u);
}

// The per-event fields are fetched in a few contiguous windows, not one read each:
// a thread's context costs the windows plus parent, leader and cred reads.
TEST(ProcessContext, FieldsComeInFewReads) {
  TaskGuest g;
  FakeVcpu cpu(g.mem, 0);
  g.run(cpu, TaskGuest::kThread);
  uint64_t task = g.k.current_task(cpu);
  const auto& w = g.k.task_windows();
  ASSERT_GE(w.count, 1u);
  ASSERT_LT(w.count, 6u);  // six fields, fewer windows
  uint64_t before = cpu.reads;
  oslinux::ProcessContext c;
  g.k.read_context(cpu, task, c);
  EXPECT_EQ(cpu.reads - before, w.count + 3);  // + parent tgid, leader comm, cred uid
  EXPECT_EQ(c.pid, 100);
  EXPECT_STREQ(c.thread_name, "worker");
}

TEST(ProcessContext, RootAndSelfParentLoop) {
  TaskGuest g;
  FakeVcpu cpu(g.mem, 0);
  g.run(cpu, TaskGuest::kInit);
  oslinux::ProcessContext c;
  g.k.read_context(cpu, g.k.current_task(cpu), c);
  EXPECT_EQ(c.pid, 1);
  EXPECT_EQ(c.ppid, 1);  // real_parent points at itself: one read, no walk
  EXPECT_EQ(c.uid, 0);
  EXPECT_STREQ(c.process_name, "init");
}

TEST(ProcessContext, LegacyCurrentTaskSymbol) {
  auto prof = synthetic_profile();
  prof.symbols.erase("pcpu_hot");
  add_symbol(prof, "current_task", 0x1a000);
  LinuxKernel k(prof, "synth");
  EXPECT_EQ(k.current_task_location().source, "current_task");
  FakeMemory mem;
  mem.write_u64(kGs + 0x1a000, TaskGuest::kBash);
  FakeVcpu cpu(mem, 0);
  cpu.reg(Reg::gs_base) = kGs;
  EXPECT_EQ(k.current_task(cpu), TaskGuest::kBash);
}

TEST(ProcessContext, GarbageAndUnmappedPointersGiveMarkedValues) {
  TaskGuest g;
  FakeVcpu cpu(g.mem, 0);
  oslinux::ProcessContext c;

  // No GS base / user-space "task" / unmapped task.
  EXPECT_EQ(g.k.current_task(cpu), 0u);
  g.run(cpu, 0x400000);
  EXPECT_EQ(g.k.current_task(cpu), 0u);
  g.k.read_context(cpu, 0x400000, c);
  EXPECT_EQ(c.pid, -1);
  EXPECT_TRUE(c.flags & event::kFlagContextUnknown);
  g.k.read_context(cpu, 0xffff888077770000ull, c);
  EXPECT_EQ(c.pid, -1);
  EXPECT_EQ(c.tid, -1);
  EXPECT_EQ(c.ppid, -1);
  EXPECT_EQ(c.uid, -1);
  EXPECT_STREQ(c.process_name, "");
  EXPECT_TRUE(c.flags & event::kFlagContextUnknown);
  EXPECT_TRUE(c.flags & event::kFlagUserUnknown);

  // Readable task whose pointers are garbage.
  constexpr uint64_t kBad = 0xffff888001003000ull;
  write_task(g.mem, {kBad, 7, 7, "evil", 0x4141414141414141ull, 0xffff8880deadb000ull,
                     0xffffffffffffff00ull});
  g.k.read_context(cpu, kBad, c);
  EXPECT_EQ(c.pid, 7);
  EXPECT_EQ(c.tid, 7);
  EXPECT_EQ(c.ppid, -1);
  EXPECT_EQ(c.uid, -1);
  EXPECT_STREQ(c.process_name, "");
  EXPECT_STREQ(c.thread_name, "evil");
  EXPECT_FALSE(c.flags & event::kFlagContextUnknown);
  EXPECT_TRUE(c.flags & event::kFlagUserUnknown);
}

TEST(ProcessContext, CommWithoutNulStaysBounded) {
  TaskGuest g;
  constexpr uint64_t kLong = 0xffff888001004000ull;
  write_task(g.mem, {kLong, 9, 9, "0123456789abcdefXYZ", kLong, kLong, TaskGuest::kCredUser});
  FakeVcpu cpu(g.mem, 0);
  oslinux::ProcessContext c;
  g.k.read_context(cpu, kLong, c);
  EXPECT_EQ(std::string(c.thread_name, 16), "0123456789abcdef");
  EXPECT_EQ(std::string(c.process_name, 16), "0123456789abcdef");
}

// An i386 kernel (686-pae): per-CPU symbols are link addresses (0xc1...), moved by
// KASLR, read through the FS base (__per_cpu_offset of the CPU), 4-byte pointers.
profile::Profile i386_profile() {
  profile::Profile p;
  p.metadata.os = "linux";
  p.metadata.pointer_size = 4;
  add_symbol(p, "_text", 0xc1000000);
  add_symbol(p, "linux_banner", 0xc1a2c180);
  p.symbols["linux_banner"].constant_data = std::string("Linux version 6.1.0-50-686-pae (x) #1 SMP\n") + '\0';
  add_symbol(p, "current_task", 0xc1e80808);
  const auto synth = synthetic_profile();  // its task_struct and cred will do
  p.user_types["task_struct"] = synth.user_types.at("task_struct");
  p.user_types["cred"] = synth.user_types.at("cred");
  return p;
}

TEST(I386, CurrentTaskIsFsBasePlusTheSlidSymbol) {
  auto prof = i386_profile();
  LinuxKernel k(prof, "k686");
  EXPECT_EQ(k.pointer_size(), 4u);
  EXPECT_EQ(k.pt_regs().orig_ax, 44u);  // the i386 user ABI layout (no pt_regs type)
  EXPECT_EQ(k.pt_regs().size, 68u);
  ASSERT_TRUE(k.current_task_location().known);
  EXPECT_TRUE(k.current_task_location().per_cpu);
  EXPECT_TRUE(k.current_task_location().slid);
  // The per-CPU area lies below the symbol here: FS base is "negative" and the sum
  // wraps at 4 GiB, as segment arithmetic does.
  const uint64_t slide = 0x1d000000, area = 0xd6000808, task = 0xc2b41a00;
  const uint64_t fs = (area - (0xc1e80808 + slide)) & 0xffffffffu;
  k.set_slide(slide);
  FakeMemory mem;
  mem.write_u32(area, uint32_t(task));
  FakeVcpu cpu(mem, 0, 4);
  cpu.reg(Reg::fs_base) = fs;
  cpu.reg(Reg::gs_base) = 0xdead0000;  // not the per-CPU base on i386
  EXPECT_EQ(k.current_task(cpu), task);
  cpu.reg(Reg::fs_base) = 0;  // before the per-CPU areas exist: unknown, not a wild read
  EXPECT_EQ(k.current_task(cpu), 0u);
}

TEST(I386, KaslrFindsA16MiBAlignedSlideBelow4GiB) {
  auto prof = i386_profile();
  LinuxKernel k(prof, "k686");
  FakeMemory mem;
  const uint64_t slide = 0x1d000000;  // seen in the lab: _text at 0xde000000
  mem.write_str(0xc1a2c180 + slide, std::string("Linux version 6.1.0-50-686-pae (x) #1 SMP\n"));
  FakeVcpu cpu(mem, 0, 4);
  std::string err;
  EXPECT_EQ(k.locate(cpu, &err), LinuxKernel::Locate::found) << err;
  EXPECT_EQ(k.slide(), slide);
  EXPECT_TRUE(k.is_kernel_pointer(0xc2b41a00));
  EXPECT_FALSE(k.is_kernel_pointer(0xbfb973d8));  // user stack
  EXPECT_FALSE(k.is_kernel_pointer(0xffff888000000000ull));
}

}  // namespace
}  // namespace vmitrace::testing

// The Linux tracer without a profile (`vmitrace run` with neither -r nor -kernel):
// syscalls::make_tracer gives a tracer that builds the profile from guest memory once a vCPU runs kernel code
// (syscalls/linux/memory_start.cpp over oslinux::ProfileProbe). The lab-kernel cases
// are in tests/profile (ProfileProbe.*) and the e2e trace-*-memory tests; here what
// the tracer does before and instead of a profile.
#include <gtest/gtest.h>

#include <functional>
#include <tuple>

#include "../profile/synthetic_kernel.hpp"
#include "common/error.hpp"
#include "tracer_fixture.hpp"

namespace vmitrace::testing {
namespace {

syscalls::TracerConfig from_memory(std::string* fatal) {
  syscalls::TracerConfig cfg;  // no profile_path: from guest memory
  cfg.on_fatal = [fatal](const std::string& m) { *fatal = m; };
  return cfg;
}

// A tracer without a profile, started, and a vCPU in kernel mode (paging on) at rip
// over an empty guest memory.
struct Started {
  explicit Started(uint64_t rip, std::function<void(syscalls::TracerConfig&)> tweak = {}) {
    syscalls::TracerConfig cfg = from_memory(&fatal);
    if (tweak) tweak(cfg);
    tracer = syscalls::make_tracer(cfg, be, sink);
    tracer->start();
    cpu.reg(vmi::Reg::rip) = rip;
    cpu.reg(vmi::Reg::cr0) = 0x80050033;
  }
  FakeBackend be;
  CollectSink sink;
  std::string fatal;
  std::unique_ptr<syscalls::Tracer> tracer;
  FakeMemory mem;
  FakeVcpu cpu{mem, 0};
};

// A guest whose kernel-mode code has nothing mapped where Linux keeps its image: a
// bounded number of offers, then one fatal line, no hooks, no counts.
TEST(MemoryStart, NotLinuxIsFatalAfterBoundedOffers) {
  std::vector<syscalls::StartPhase> phases;
  Started g(0xfffff80000001000ull,  // upper half, as a Windows kernel
            [&](syscalls::TracerConfig& c) { c.on_start_phase = [&](syscalls::StartPhase p) { phases.push_back(p); }; });
  auto [be, cpu, fatal, tracer] = std::tie(g.be, g.cpu, g.fatal, *g.tracer);
  int offers = 0;
  while (!be.run_kernel(cpu) && ++offers < 200) {
  }
  EXPECT_LE(offers, 50);
  EXPECT_NE(fatal.find("not a Linux guest?"), std::string::npos) << fatal;
  EXPECT_EQ(tracer.error(), fatal);
  EXPECT_FALSE(tracer.tracing());
  EXPECT_TRUE(be.hooks.empty());
  EXPECT_EQ(tracer.stats().syscalls, 0u);
  ASSERT_FALSE(phases.empty());
  EXPECT_EQ(phases.front(), syscalls::StartPhase::kernel_code_seen);
}

// Firmware runs with paging off: offered, but not read and not counted against the
// bound (a long boot through SeaBIOS and GRUB is not "not Linux").
TEST(MemoryStart, PagingOffIsNotCounted) {
  Started g(0xffffffff81000000ull);
  auto [be, cpu, fatal] = std::tie(g.be, g.cpu, g.fatal);
  cpu.reg(vmi::Reg::cr0) = 0x11;
  for (int i = 0; i < 500; ++i) EXPECT_FALSE(be.run_kernel(cpu));
  EXPECT_EQ(cpu.reads, 0u);
  EXPECT_EQ(fatal, "");
}

// A kernel read at its first instructions, vmcoreinfo not set up yet: the module stops
// probing every kernel block and hooks do_one_initcall, where it looks for the KASLR
// offset once per initcall; once there, the hook goes and the profile is handed to the
// ordinary tracer (here refused: the synthetic kernel's BTF has no task_struct).
TEST(MemoryStart, WaitsAtInitcallsThenHandsOver) {
  using test::SyntheticKernel;
  Started g(SyntheticKernel::kBase64 + 0x40);
  auto [be, cpu, fatal, mem, tracer] = std::tie(g.be, g.cpu, g.fatal, g.mem, *g.tracer);
  std::vector<uint8_t> img = test::synthetic_kernel(8);
  mem.write(SyntheticKernel::kBase64, img.data(), img.size());
  const uint64_t vmcoreinfo_ptr = SyntheticKernel::kBase64 + 0x300, initcall = SyntheticKernel::kBase64 + 0x10;
  mem.write_u64(vmcoreinfo_ptr, 0);
  EXPECT_TRUE(be.run_kernel(cpu));  // read; the block probe is no longer needed
  EXPECT_TRUE(be.hooked(initcall));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(be.fire(initcall, cpu), 1);  // no vmcoreinfo yet
  EXPECT_TRUE(be.hooked(initcall));
  EXPECT_EQ(fatal, "");
  mem.write_u64(vmcoreinfo_ptr, SyntheticKernel::kBase64 + 0x200);
  EXPECT_EQ(be.fire(initcall, cpu), 1);
  EXPECT_FALSE(be.hooked(initcall));
  EXPECT_NE(fatal.find("task_struct"), std::string::npos) << fatal;
  EXPECT_EQ(tracer.error(), fatal);
}

// The filter is checked when the tracer is made (syscalls::validate in `run`, before
// QEMU starts), profile or not.
TEST(MemoryStart, FilterCheckedWithoutProfile) {
  std::string fatal;
  syscalls::TracerConfig cfg = from_memory(&fatal);
  cfg.filter_file = ::testing::TempDir() + "/vmitrace_no_such_filter";
  EXPECT_THROW(syscalls::validate(cfg), Error);
  TempFile unknown("nosuchcall\n");
  cfg.filter_file = unknown.path;
  EXPECT_THROW(syscalls::validate(cfg), Error);
  TempFile good("openat\n");
  cfg.filter_file = good.path;
  EXPECT_NO_THROW(syscalls::validate(cfg));
}

}  // namespace
}  // namespace vmitrace::testing

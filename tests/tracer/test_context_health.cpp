// While tracing, context reads that keep failing are a warning on stderr naming the
// reads (more than 1% of a window of 1,000 events), at most one every 10 s; a
// healthy guest gets none and pays no extra guest read.
#include <gtest/gtest.h>

#include "tracer_fixture.hpp"
#include "syscalls/linux/context_health.hpp"

namespace vmitrace::testing {
namespace {

using syscalls::ContextHealth;

std::array<std::string, oslinux::kContextReads> names() {
  return {"task", "ids", "comm", "parent", "leader", "cred"};
}

std::string run_events(ContextHealth& h, unsigned events, unsigned failing, uint8_t what) {
  ::testing::internal::CaptureStderr();
  for (unsigned i = 0; i < events; ++i) h.note(i < failing ? what : 0);
  return ::testing::internal::GetCapturedStderr();
}

TEST(ContextHealth, MoreThanOnePercentOfAWindowIsOneWarningNamingTheReads) {
  ContextHealth h("kernel.json", names());
  std::string err = run_events(h, 999, 11, oslinux::kReadCred | oslinux::kReadParent);
  EXPECT_EQ(err, "");  // the window is not over yet
  ::testing::internal::CaptureStderr();
  h.note(0);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "vmitrace: warning: kernel.json: 11 of the last 1000 events could not read their process "
                 "context: parent failed 11 times, cred failed 11 times; the profile may not fit the running kernel\n");
  EXPECT_EQ(h.warnings(), 1u);
}

TEST(ContextHealth, OnePercentOrLessIsQuiet) {
  ContextHealth h("kernel.json", names());
  EXPECT_EQ(run_events(h, 1000, 10, oslinux::kReadComm), "");
  EXPECT_EQ(run_events(h, 5000, 0, 0), "");
  EXPECT_EQ(h.warnings(), 0u);
}

TEST(ContextHealth, SustainedFailureIsRateLimited) {
  ContextHealth h("kernel.json", names());
  const std::string err = run_events(h, 20000, 20000, oslinux::kReadTask);
  EXPECT_EQ(h.warnings(), 1u);  // 20 failing windows within 10 s: one line
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("1000 of the last 1000 events"), std::string::npos);
}

// Through the tracer: a process whose cred pointer leads nowhere (the profile's cred
// offset wrong for it, or a hostile guest) is named with the offsets involved.
TEST(ContextHealth, TracerWarnsWithTheProfilesOffsets) {
  syscalls::TracerConfig cfg;
  cfg.profile_path = "kernel.json";
  cfg.disable_sysret = true;
  TracerGuest g(dispatcher_profile(), cfg);
  ::testing::internal::CaptureStderr();
  g.boot();
  auto ok = g.thread(100, 100, "ok");
  auto bad = g.thread(200, 200, "bad");
  g.mem.write_u64(bad.task + Synth::kCred, 0xffff8880dead0000ull);  // unmapped
  const uint64_t reads_before = g.cpus[0]->reads;
  for (int i = 0; i < 1000; ++i) g.enter64(0, ok, nr_of("getpid"));
  const uint64_t healthy_reads = g.cpus[0]->reads - reads_before;
  for (int i = 0; i < 1000; ++i) g.enter64(0, i % 50 == 0 ? bad : ok, nr_of("getpid"));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 3) << err;  // hooks, self-check, one warning
  EXPECT_NE(err.find("vmitrace: warning: kernel.json: 20 of the last 1000 events could not read their process "
                     "context: cred (task_struct.cred at +0x120, cred.uid at +0x4) failed 20 times"),
            std::string::npos)
      << err;
  // Healthy events: pt_regs, the per-CPU task pointer and the task's window (PPID and
  // UserId read once, then remembered): the health count adds no guest read.
  EXPECT_EQ(healthy_reads, 1000u * 3 + 2) << healthy_reads;
}

}  // namespace
}  // namespace vmitrace::testing

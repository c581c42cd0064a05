// The counters and the rate limit of the Windows tracer, which it shares with the
// Linux one (syscalls::Tracer): --rate-limit drops an entry before any string is
// captured and its return with it, both counted by process, and the end-of-trace
// report (ipc::publish_tracer_stats, as entry.cpp and cmd_attach.cpp call it) works
// for a Windows profile (it used to dereference the absent Linux tracer: SEGV).
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "ipc/publish_stats.hpp"
#include "scenario.hpp"

namespace vmitrace::testing {
namespace {

profile::Profile synth() { return profile::Profile::parse(synthetic_windows_isf(8), "windows.json"); }

struct WindowsAccounting : ::testing::Test {
  Scenario s{synth(), true};
  void SetUp() override { s.build({{0x0f, "NtClose"}, {0x55, "NtCreateFile"}}, 0x60); }
  void start(uint32_t rate_limit) {
    syscalls::TracerConfig cfg;
    cfg.rate_limit = rate_limit;
    s.start(cfg);
    ASSERT_TRUE(s.tracer->tracing()) << s.fatal;
  }
};

TEST_F(WindowsAccounting, RateLimitDropsEntryAndReturnTogether) {
  start(3);
  // The fake clock stands still: no refill, the burst of 3 is all the process gets.
  uint64_t allowed_reads = 0, limited_reads = 0;
  for (int i = 0; i < 10; ++i) {
    const uint64_t before = s.cpu.reads;
    ASSERT_EQ(s.call("NtCreateFile", s.create_file_args()), 1);
    (i == 0 ? allowed_reads : limited_reads) = s.cpu.reads - before;
    s.ret(0);
  }
  // A dropped entry reads the process context (to know whose it is) but no string.
  EXPECT_LT(limited_reads + 10, allowed_reads) << limited_reads << " vs " << allowed_reads;
  const auto st = s.tracer->stats();
  EXPECT_EQ(st.syscalls, 3u);
  EXPECT_EQ(st.sysrets, 3u);
  EXPECT_EQ(st.rate_limited, 14u);  // 7 entries + their 7 returns
  EXPECT_EQ(st.returns_unpaired, 0u);
  EXPECT_EQ(st.pending, 0u);
  ASSERT_EQ(s.sink.count(), 6u);
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(s.sink.rec(i).kind, i % 2 ? event::Kind::sysret : event::Kind::syscall) << i;
  const auto top = s.tracer->rate_limited_top(4);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].pid, WinGuest::kPid);
  EXPECT_EQ(top[0].dropped, 14u);
  EXPECT_EQ(std::string(top[0].name, strnlen(top[0].name, sizeof top[0].name)), "notepad.exe");
}

TEST_F(WindowsAccounting, NoLimitDropsNothing) {
  start(0);
  for (int i = 0; i < 50; ++i) {
    s.call("NtClose", {WinGuest::kFileHandle});
    s.ret(0);
  }
  EXPECT_EQ(s.tracer->stats().syscalls, 50u);
  EXPECT_EQ(s.tracer->stats().rate_limited, 0u);
  EXPECT_TRUE(s.tracer->rate_limited_top(4).empty());
}

// The end of every Windows trace: the counters and the drops by process go into the
// ring header.
TEST_F(WindowsAccounting, StatsArePublishedAtTheEndOfATrace) {
  start(1);
  for (int i = 0; i < 3; ++i) {
    s.call("NtClose", {WinGuest::kFileHandle});
    s.ret(0);
  }
  const std::string path = "/dev/shm/vmitrace-winacct-" + std::to_string(::getpid());
  auto ring = ipc::EventRing::create(path, ipc::EventRing::kMinCapacity);
  ::unlink(path.c_str());
  ipc::publish_tracer_stats(*s.tracer, ring);
  EXPECT_EQ(ring.counter(ipc::Counter::syscalls), 1u);
  EXPECT_EQ(ring.counter(ipc::Counter::sysrets), 1u);
  EXPECT_EQ(ring.counter(ipc::Counter::rate_limited), 4u);
  const auto drops = ring.process_drops();
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0].pid, WinGuest::kPid);
  EXPECT_EQ(drops[0].count, 4u);
}

}  // namespace
}  // namespace vmitrace::testing

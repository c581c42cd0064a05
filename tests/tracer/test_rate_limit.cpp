// The per-process token bucket of --rate-limit, on a synthetic clock.
#include <gtest/gtest.h>

#include "tracer_fixture.hpp"
#include "syscalls/core/rate_limit.hpp"

namespace vmitrace::syscalls {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
const char kName[event::kCommLen] = "flood";

TEST(RateLimiter, ZeroMeansNoLimit) {
  RateLimiter rl(0);
  EXPECT_FALSE(rl.enabled());
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(rl.allow(1, kName, 0));
  EXPECT_EQ(rl.dropped(), 0u);
  EXPECT_TRUE(rl.top(10).empty());
}

TEST(RateLimiter, BurstThenRefillPerProcess) {
  RateLimiter rl(10);
  const uint64_t t0 = 1000 * kSec;
  int ok = 0;
  for (int i = 0; i < 25; ++i) ok += rl.allow(42, kName, t0);
  EXPECT_EQ(ok, 10);  // the burst
  EXPECT_EQ(rl.dropped(), 15u);
  // Another process has its own bucket.
  EXPECT_TRUE(rl.allow(43, "other", t0));
  // 0.5 s later: 5 more tokens.
  ok = 0;
  for (int i = 0; i < 10; ++i) ok += rl.allow(42, kName, t0 + kSec / 2);
  EXPECT_EQ(ok, 5);
  // A long pause refills only up to the burst.
  ok = 0;
  for (int i = 0; i < 30; ++i) ok += rl.allow(42, kName, t0 + 100 * kSec);
  EXPECT_EQ(ok, 10);
  // The clock going back refills nothing.
  EXPECT_FALSE(rl.allow(42, kName, t0));
  rl.count_drop(42, kName);  // a dropped syscall's return
  const uint64_t want = 15 + 5 + 20 + 1 + 1;
  EXPECT_EQ(rl.dropped(), want);
  auto top = rl.top(5);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].pid, 42);
  EXPECT_EQ(top[0].dropped, want);
  EXPECT_STREQ(top[0].name, "flood");
}

TEST(RateLimiter, SteadyRateOverTime) {
  RateLimiter rl(100);
  // 1000 calls per second for 10 s: 100 per second pass, plus the initial burst.
  int ok = 0;
  for (uint64_t ms = 0; ms < 10000; ++ms) ok += rl.allow(7, kName, kSec + ms * 1'000'000);
  EXPECT_GE(ok, 1000);
  EXPECT_LE(ok, 1100);
  EXPECT_EQ(rl.dropped(), 10000u - static_cast<uint64_t>(ok));
}

TEST(RateLimiter, ManyProcessesFixedTableKeepsTotalsExact) {
  RateLimiter rl(1);
  // Far more processes than slots: slots are reused, totals stay exact and the
  // heaviest process is still reported.
  uint64_t drops = 0;
  for (int64_t pid = 1; pid <= 5000; ++pid) {
    rl.allow(pid, kName, kSec);
    drops += !rl.allow(pid, kName, kSec);
  }
  for (int i = 0; i < 50; ++i) drops += !rl.allow(99999, "heavy", kSec);
  EXPECT_EQ(rl.dropped(), drops);
  auto top = rl.top(3);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].pid, 99999);
  EXPECT_EQ(top[0].dropped, 49u);
}

// Through the tracer: a dropped syscall's return is dropped too (no orphan sysret,
// no "return without entry"), both counted; other processes are not affected.
TEST(RateLimiter, TracerDropsEntryAndReturnTogether) {
  syscalls::TracerConfig cfg;
  cfg.rate_limit = 3;
  testing::TracerGuest g(testing::dispatcher_profile(), cfg);
  g.boot();
  auto flood = g.thread(300, 300, "flood");
  auto calm = g.thread(400, 400, "calm");
  const uint32_t getpid = testing::nr_of("getpid");
  // The fake clock stands still: no refill, the burst of 3 is all flood gets.
  for (int i = 0; i < 10; ++i) {
    g.enter64(0, flood, getpid);
    g.leave(0, flood, 300);
  }
  g.enter64(1, calm, getpid);
  g.leave(1, calm, 400);
  auto st = g.tracer->stats();
  EXPECT_EQ(st.syscalls, 4u);
  EXPECT_EQ(st.sysrets, 4u);
  EXPECT_EQ(st.rate_limited, 14u);  // 7 entries + their 7 returns
  EXPECT_EQ(st.returns_unpaired, 0u);
  EXPECT_EQ(g.sink.count(), 8u);
  auto top = g.tracer->rate_limited_top(4);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].pid, 300);
  EXPECT_EQ(top[0].dropped, 14u);
  EXPECT_STREQ(top[0].name, "flood");
}

}  // namespace
}  // namespace vmitrace::syscalls

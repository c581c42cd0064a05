// StartWatch (app/start_watch.hpp) on a made-up clock: the waiting lines and their
// cadence, silence once tracing, and --start-timeout.
#include <gtest/gtest.h>

#include "app/start_watch.hpp"

namespace {

using vmitrace::app::StartWatch;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kWaiting = 0, kKernelSeen = 1, kTracing = 2;

std::string said(StartWatch& w, uint64_t phase, StartWatch::Clock::time_point at, bool* expired = nullptr) {
  testing::internal::CaptureStderr();
  bool e = w.expired(phase, at);
  if (expired) *expired = e;
  return testing::internal::GetCapturedStderr();
}

TEST(StartWatch, SaysWhatItWaitsForEveryTenSecondsThenEveryMinute) {
  const auto t0 = StartWatch::Clock::now();
  StartWatch w(0, t0);
  EXPECT_EQ(said(w, kWaiting, t0 + seconds(5)), "");
  EXPECT_EQ(said(w, kWaiting, t0 + seconds(10)),
            "vmitrace: waiting for the guest kernel: no kernel code seen after 10 s\n");
  EXPECT_EQ(said(w, kWaiting, t0 + seconds(15)), "");
  EXPECT_EQ(said(w, kKernelSeen, t0 + seconds(20)),
            "vmitrace: waiting for the guest kernel: kernel code seen, but not the profile's "
            "kernel yet after 20 s\n");
  for (int s = 21; s < 60; ++s) said(w, kKernelSeen, t0 + seconds(s));
  EXPECT_NE(said(w, kKernelSeen, t0 + seconds(60)), "");
  EXPECT_EQ(said(w, kKernelSeen, t0 + seconds(70)), "");  // every minute from now on
  EXPECT_NE(said(w, kKernelSeen, t0 + seconds(120)), "");
  bool expired = true;
  EXPECT_EQ(said(w, kKernelSeen, t0 + seconds(100000), &expired), std::string(
      "vmitrace: waiting for the guest kernel: kernel code seen, but not the profile's kernel yet "
      "after 100000 s\n"));
  EXPECT_FALSE(expired);  // no timeout given: waits for ever
}

TEST(StartWatch, SilentOnceTracing) {
  const auto t0 = StartWatch::Clock::now();
  StartWatch w(5, t0);
  bool expired = true;
  EXPECT_EQ(said(w, kTracing, t0 + seconds(3600), &expired), "");
  EXPECT_FALSE(expired);
}

TEST(StartWatch, TimeoutExpiresWithOneLineSayingWhy) {
  const auto t0 = StartWatch::Clock::now();
  StartWatch w(3, t0);
  bool expired = true;
  said(w, kWaiting, t0 + milliseconds(2900), &expired);
  EXPECT_FALSE(expired);
  said(w, kWaiting, t0 + seconds(3), &expired);
  EXPECT_TRUE(expired);
  EXPECT_EQ(w.timeout_error(), "--start-timeout 3 s: the guest kernel was not found (no kernel code seen)");
  StartWatch w2(3, t0);
  said(w2, kKernelSeen, t0 + seconds(4), &expired);
  EXPECT_TRUE(expired);
  EXPECT_NE(w2.timeout_error().find("kernel code seen, but not the profile's kernel"), std::string::npos);
}

}  // namespace

// The options run and attach share (app/trace_options.hpp): --ring-mb is checked
// against the free space where the ring is created, before it is allocated.
#include "app/trace_options.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

using namespace vmitrace;
using namespace vmitrace::app;

TEST(RingFits, ASmallRingFitsInDevShm) {
  TraceOptions o;
  o.ring_mb = 1;
  EXPECT_NO_THROW(check_ring_fits(o));
}

// /proc has no free space at all: any ring is refused, with the bound in the message.
TEST(RingFits, ARingLargerThanTheFreeSpaceIsRefused) {
  TraceOptions o;
  o.ring_mb = 64;
  try {
    check_ring_fits(o, "/proc");
    ADD_FAILURE() << "a 64 MiB ring fits in /proc";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--ring-mb: 64 MiB does not fit in /proc (0 MiB free); give a smaller --ring-mb (1..1024)");
  }
}

TEST(RingFits, TheBoundIsInTheOption) {
  CLI::App app;
  TraceOptions o;
  add_trace_options(app, o);
  EXPECT_NO_THROW(app.parse("--ring-mb 1024", false));
  EXPECT_EQ(o.ring_mb, 1024u);
  app.clear();
  EXPECT_THROW(app.parse("--ring-mb 1025", false), CLI::ValidationError);
}

#include <gtest/gtest.h>

#include "syscalls/plugin/pending.hpp"

namespace vmitrace::syscalls {
namespace {

PendingEntry entry(uint64_t task, uint64_t frame, uint32_t nr) {
  PendingEntry e;
  e.key = {task, frame};
  e.nr = nr;
  return e;
}

TEST(PendingTable, PutTakeReplace) {
  PendingTable t;
  EXPECT_TRUE(t.put(entry(1, 2, 10)));
  EXPECT_TRUE(t.put(entry(1, 3, 11)));  // same task, other frame: another entry
  EXPECT_FALSE(t.put(entry(1, 2, 12)));  // replaces
  EXPECT_EQ(t.size(), 2u);
  PendingEntry out;
  ASSERT_TRUE(t.take({1, 2}, out));
  EXPECT_EQ(out.nr, 12u);
  EXPECT_FALSE(t.take({1, 2}, out));
  ASSERT_TRUE(t.take({1, 3}, out));
  EXPECT_EQ(out.nr, 11u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(PendingTable, EmptyTracksLiveEntries) {
  PendingTable t;
  EXPECT_TRUE(t.empty());
  t.put(entry(1, 2, 10));
  t.put(entry(1, 2, 11));  // a replacement is still one entry
  t.put(entry(3, 4, 12));
  EXPECT_FALSE(t.empty());
  PendingEntry out;
  EXPECT_TRUE(t.take({1, 2}, out));
  EXPECT_FALSE(t.empty());
  EXPECT_FALSE(t.take({1, 2}, out));
  EXPECT_TRUE(t.take({3, 4}, out));
  EXPECT_TRUE(t.empty());
}

TEST(PendingTable, ManyEntriesSurviveDeletionsInProbeChains) {
  PendingTable t;
  const uint64_t n = 20000;  // more than fit: the excess is evicted, never misfiled
  uint64_t stored = 0;
  for (uint64_t i = 0; i < n; ++i) stored += t.put(entry(0xffff888000000000ull + i * 0x1000, 0x58, i)) ? 1 : 0;
  // Delete every other entry, then every remaining one must still be found with its own nr.
  PendingEntry out;
  uint64_t found = 0, wrong = 0;
  for (uint64_t i = 0; i < n; i += 2)
    if (t.take({0xffff888000000000ull + i * 0x1000, 0x58}, out)) {
      ++found;
      wrong += out.nr != i;
    }
  for (uint64_t i = 1; i < n; i += 2)
    if (t.take({0xffff888000000000ull + i * 0x1000, 0x58}, out)) {
      ++found;
      wrong += out.nr != i;
    }
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(found, stored);  // an eviction swaps one entry for another
  EXPECT_GE(found, 15000u);
}

}  // namespace
}  // namespace vmitrace::syscalls

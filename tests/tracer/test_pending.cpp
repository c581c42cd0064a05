#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "syscalls/linux/pending_entry.hpp"

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

// Shards are allocated by their first put, never by a take or a lookup, and once:
// a table that never sees a syscall costs no multi-MB zeroing.
TEST(PendingTable, ShardsAreAllocatedOnFirstPut) {
  PendingTable t;
  EXPECT_EQ(t.allocated_shards(), 0u);
  PendingEntry out;
  EXPECT_FALSE(t.take({1, 2}, out));
  EXPECT_EQ(t.allocated_shards(), 0u);
  t.put(entry(1, 2, 10));
  EXPECT_EQ(t.allocated_shards(), 1u);
  t.put(entry(1, 2, 11));  // same key, same shard
  EXPECT_TRUE(t.take({1, 2}, out));
  EXPECT_EQ(out.nr, 11u);
  EXPECT_EQ(t.allocated_shards(), 1u);  // kept for later events
  for (uint64_t i = 0; i < 4096; ++i) t.put(entry(0xffff888000000000ull + i * 0x1000, 0x58, 0));
  EXPECT_EQ(t.allocated_shards(), PendingTable::kShards);
}

// vCPU threads racing on a fresh table: the first puts into each shard allocate it
// once (under its lock) and no entry is lost or misfiled.
TEST(PendingTable, ConcurrentFirstPuts) {
  PendingTable t;
  std::atomic<uint64_t> wrong{0}, missing{0};
  std::vector<std::thread> threads;
  for (uint64_t id = 0; id < 4; ++id)
    threads.emplace_back([&, id] {
      for (uint64_t i = 0; i < 2000; ++i) {
        const uint64_t task = 0xffff888000000000ull + (id << 32) + i * 0x2000;
        t.put(entry(task, 0x58, static_cast<uint32_t>(i)));
        PendingEntry out;
        if (!t.take({task, 0x58}, out)) ++missing;
        else if (out.nr != i) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(missing.load(), 0u);
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.allocated_shards(), PendingTable::kShards);
}

// The same table over another payload (the Windows tracer keeps its own entry).
struct OtherEntry {
  PendingKey key;
  bool used = false;
  char name[40] = {};
};

TEST(PendingTable, AnyPayload) {
  BasicPendingTable<OtherEntry> t;
  OtherEntry e;
  e.key = {7, 8};
  std::snprintf(e.name, sizeof e.name, "notepad.exe");
  EXPECT_TRUE(t.put(e));
  EXPECT_FALSE(t.empty());
  OtherEntry out;
  ASSERT_TRUE(t.take({7, 8}, out));
  EXPECT_STREQ(out.name, "notepad.exe");
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace vmitrace::syscalls

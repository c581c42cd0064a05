// ReturnSites: one hook per distinct return address, bounded, refused once tracing
// stopped; the entry's key is the stack pointer the return site sees.
#include "syscalls/core/return_sites.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace vmitrace::syscalls {
namespace {

TEST(ReturnSites, EachAddressIsPlacedOnce) {
  std::mutex mu;
  ReturnSites sites(4);
  std::vector<uint64_t> placed;
  auto place = [&](uint64_t a) { return [&, a] { placed.push_back(a); return true; }; };
  EXPECT_TRUE(sites.ensure(0x1000, mu, place(0x1000)));
  EXPECT_TRUE(sites.ensure(0x1000, mu, place(0x1000)));
  EXPECT_TRUE(sites.ensure(0x2000, mu, place(0x2000)));
  EXPECT_EQ(placed, (std::vector<uint64_t>{0x1000, 0x2000}));
  EXPECT_EQ(sites.size(), 2u);
}

TEST(ReturnSites, BoundedAndRefusable) {
  std::mutex mu;
  ReturnSites sites(2);
  int placed = 0;
  auto ok = [&] { ++placed; return true; };
  EXPECT_FALSE(sites.ensure(0x1000, mu, [] { return false; }));  // tracing stopped
  EXPECT_EQ(sites.size(), 0u);
  EXPECT_TRUE(sites.ensure(0x1000, mu, ok));
  EXPECT_TRUE(sites.ensure(0x2000, mu, ok));
  EXPECT_FALSE(sites.ensure(0x3000, mu, ok));  // past the bound: no hook, no sysret
  EXPECT_TRUE(sites.ensure(0x2000, mu, ok));
  EXPECT_EQ(placed, 2);
  ReturnSites big(1000);  // the limit is clamped to kMax
  unsigned n = 0;
  for (uint64_t a = 0; a < ReturnSites::kMax + 5; ++a) n += big.ensure(0x1000 + a, mu, ok);
  EXPECT_EQ(n, ReturnSites::kMax);
}

TEST(ReturnSites, ConcurrentCallersPlaceOneHook) {
  std::mutex mu;
  ReturnSites sites(8);
  std::atomic<int> placed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) sites.ensure(0xffffffff81000000ull + (i % 3), mu, [&] { ++placed; return true; });
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(placed.load(), 3);
}

// The key an entry stores is the one the return site takes: `ret` pops the return
// address (and, x86 stdcall, `ret N` the arguments too).
TEST(ReturnSites, EntryAndReturnKeysMeet) {
  EXPECT_EQ(ReturnSites::entry_key(0xaa, 0xffffc90000013f00ull, 8),
            ReturnSites::site_key(0xaa, 0xffffc90000013f08ull, 8));
  EXPECT_EQ(ReturnSites::entry_key(0xaa, 0x8a284100, 4, 44), ReturnSites::site_key(0xaa, 0x8a284100 + 4 + 44, 4));
  // i386: only the low 32 bits of the stack pointer count.
  EXPECT_EQ(ReturnSites::site_key(0xaa, 0xdead00008a284100ull, 4), ReturnSites::site_key(0xaa, 0x8a284100, 4));
  EXPECT_NE(ReturnSites::entry_key(0xaa, 0x1000, 8), ReturnSites::entry_key(0xbb, 0x1000, 8));  // per thread
}

}  // namespace
}  // namespace vmitrace::syscalls

// The arm64 stage-1 walker over synthetic page tables in a sparse fake physical memory:
// 4-level 48-bit and 3-level 39-bit layouts, blocks, the two halves, top-byte-ignore,
// reserved encodings, permissions, the refusal of 52-bit VAs (16 KiB and 64 KiB
// granules: arm64_granule_test.cpp).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>

#include "fake_phys.hpp"
#include "vmi/arm64_paging.hpp"

using namespace vmitrace::vmi;
using vmitrace::testing::FakePhys;

namespace {

constexpr uint64_t kValid = 1, kTable = 3, kPageDesc = 3, kBlock = 1;
constexpr uint64_t kAf = 1u << 10, kAp1 = 1u << 6, kAp2 = 1u << 7;
constexpr uint64_t kPxn = 1ull << 53, kUxn = 1ull << 54;

// Linux's arm64 settings: 48-bit VA both halves, 4 KiB granules (TG0=0, TG1=2), TBI0.
constexpr uint64_t kTcr48 = 16 | (16ull << 16) | (2ull << 30) | (1ull << 37);
// 39-bit VA (3 levels), as kernels built with CONFIG_ARM64_VA_BITS_39 use.
constexpr uint64_t kTcr39 = 25 | (25ull << 16) | (2ull << 30);

uint64_t idx(uint64_t va, unsigned level) { return (va >> (12 + 9 * (3 - level))) & 0x1ff; }

// Maps va -> pa with a 4 KiB page through four tables at t0..t3.
void map4(FakePhys& m, uint64_t t0, uint64_t va, uint64_t pa, uint64_t attrs = kAf) {
  const uint64_t t1 = t0 + 0x1000, t2 = t0 + 0x2000, t3 = t0 + 0x3000;
  m.put64(t0 + idx(va, 0) * 8, t1 | kTable);
  m.put64(t1 + idx(va, 1) * 8, t2 | kTable);
  m.put64(t2 + idx(va, 2) * 8, t3 | kTable);
  m.put64(t3 + idx(va, 3) * 8, pa | kPageDesc | attrs);
}

TEST(Arm64Paging, KernelHalfThroughTtbr1FourLevels) {
  FakePhys m;
  const uint64_t va = 0xffff800008123456ull;
  map4(m, 0x40000000, va, 0x41234000);
  m.write(0x41234456, "hello");
  Arm64PageWalker w(m.reader());
  Arm64PagingRegs r{0, 0x40000000, kTcr48};
  Translation t;
  ASSERT_TRUE(w.translate(r, va, t));
  EXPECT_EQ(t.pa, 0x41234456u);
  EXPECT_EQ(t.page_size, 4096u);
  EXPECT_TRUE(t.writable);
  EXPECT_FALSE(t.user);
  char buf[6] = {};
  EXPECT_EQ(w.read_virt(r, va, buf, 5), 5u);
  EXPECT_STREQ(buf, "hello");
  // The same address through TTBR0 (the other half) is not mapped.
  EXPECT_FALSE(w.translate(r, va & 0x0000ffffffffffffull, t));
}

TEST(Arm64Paging, UserHalfThroughTtbr0WithAsidAndTopByteIgnored) {
  FakePhys m;
  const uint64_t va = 0x0000aaaad0001000ull;
  map4(m, 0x50000000, va, 0x52000000, kAf | kAp1 | kAp2 | kUxn);
  Arm64PageWalker w(m.reader());
  // ASID in TTBR0[63:48] and CnP (bit 0) are not part of the table address.
  Arm64PagingRegs r{0x0042000050000001ull, 0x40000000, kTcr48};
  Translation t;
  ASSERT_TRUE(w.translate(r, va + 0x10, t));
  EXPECT_EQ(t.pa, 0x52000010u);
  EXPECT_TRUE(t.user);
  EXPECT_FALSE(t.writable);
  EXPECT_TRUE(t.nx);
  // TBI0: a tagged pointer (top byte 0x2a) translates the same.
  ASSERT_TRUE(w.translate(r, va | (0x2aull << 56), t));
  EXPECT_EQ(t.pa, 0x52000000u);
  // TBI1 is off: a tag on a kernel address is a fault, as are addresses that are
  // in neither half.
  EXPECT_FALSE(w.translate(r, 0x2aff800008000000ull, t));
  EXPECT_FALSE(w.translate(r, 0x0001000000000000ull, t));
  EXPECT_FALSE(w.translate(r, 0xfffe800000000000ull, t));
}

TEST(Arm64Paging, BlocksOfOneGibAndTwoMib) {
  FakePhys m;
  const uint64_t t0 = 0x10000, t1 = 0x11000, t2 = 0x12000;
  const uint64_t va2m = 0xffff000040200000ull, va1g = 0xffff000080000000ull;
  m.put64(t0 + idx(va2m, 0) * 8, t1 | kTable);
  m.put64(t1 + idx(va2m, 1) * 8, t2 | kTable);
  m.put64(t2 + idx(va2m, 2) * 8, 0x60200000 | kBlock | kAf | kPxn);
  m.put64(t1 + idx(va1g, 1) * 8, 0xc0000000 | kBlock | kAf);
  Arm64PageWalker w(m.reader());
  Arm64PagingRegs r{0, t0, kTcr48};
  Translation t;
  ASSERT_TRUE(w.translate(r, va2m + 0x12345, t));
  EXPECT_EQ(t.pa, 0x60212345u);
  EXPECT_EQ(t.page_size, 2u << 20);
  EXPECT_TRUE(t.nx);
  ASSERT_TRUE(w.translate(r, va1g + 0x3456789, t));
  EXPECT_EQ(t.pa, 0xc3456789u);
  EXPECT_EQ(t.page_size, 1u << 30);
}

TEST(Arm64Paging, ReservedEncodingsFail) {
  FakePhys m;
  const uint64_t va = 0xffff800000001000ull;
  Arm64PageWalker w(m.reader());
  Arm64PagingRegs r{0, 0x20000, kTcr48};
  Translation t;
  // A block at level 0 (512 GiB) does not exist with 4 KiB granules.
  m.put64(0x20000 + idx(va, 0) * 8, 0x0 | kBlock | kAf);
  EXPECT_FALSE(w.translate(r, va, t));
  // 0b01 at level 3 is reserved.
  map4(m, 0x20000, va, 0x30000);
  m.put64(0x23000 + idx(va, 3) * 8, 0x30000 | kBlock | kAf);
  w.invalidate();
  EXPECT_FALSE(w.translate(r, va, t));
  // An invalid entry, and a table pointer into unreadable memory.
  m.put64(0x23000 + idx(va, 3) * 8, 0x30000);
  EXPECT_FALSE(w.translate(r, va, t));
  m.put64(0x22000 + idx(va, 2) * 8, 0x7777000 | kTable);
  EXPECT_FALSE(w.translate(r, va, t));
  // EPD1: the upper half disabled.
  map4(m, 0x20000, va, 0x30000);
  EXPECT_TRUE(w.translate(r, va, t));
  w.invalidate();
  EXPECT_FALSE(w.translate({0, 0x20000, kTcr48 | (1u << 23)}, va, t));
}

TEST(Arm64Paging, ThreeLevelsForThirtyNineBitAddresses) {
  FakePhys m;
  const uint64_t va = 0xffffffc008001000ull;  // 39-bit kernel half
  const uint64_t t1 = 0x1000, t2 = 0x2000, t3 = 0x3000;
  m.put64(t1 + idx(va, 1) * 8, t2 | kTable);
  m.put64(t2 + idx(va, 2) * 8, t3 | kTable);
  m.put64(t3 + idx(va, 3) * 8, 0x9000 | kPageDesc | kAf);
  Arm64PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate({0, t1, kTcr39}, va, t));
  EXPECT_EQ(t.pa, 0x9000u);
  EXPECT_LE(m.reads, 3u);
  EXPECT_FALSE(w.translate({0, t1, kTcr39}, 0xffff800008001000ull, t));  // above 39 bits
}

TEST(Arm64Paging, RefusesFiftyTwoBitAddresses) {
  EXPECT_EQ(arm64_paging_unsupported({0, 0, kTcr48}), "");
  const std::string va52 = arm64_paging_unsupported({0, 0, (kTcr48 & ~(0x3full << 16)) | (12ull << 16)});
  EXPECT_NE(va52.find("TTBR1 uses 52-bit virtual addresses"), std::string::npos) << va52;
  const std::string lpa2 = arm64_paging_unsupported({0, 0, kTcr48 | (1ull << 59)});
  EXPECT_NE(lpa2.find("LPA2"), std::string::npos) << lpa2;
  const std::string user52 = arm64_paging_unsupported({0, 0, (kTcr48 & ~0x3full) | 12}, Arm64Half::lower);
  EXPECT_NE(user52.find("TTBR0 uses 52-bit virtual addresses"), std::string::npos) << user52;
  // A disabled half is not judged, nor the half not asked about.
  EXPECT_EQ(arm64_paging_unsupported({0, 0, ((kTcr48 & ~0x3full) | 12) | (1u << 7)}), "");
  EXPECT_EQ(arm64_paging_unsupported({0, 0, (kTcr48 & ~0x3full) | 12}, Arm64Half::upper), "");
  // The walker refuses such a configuration rather than misreading it.
  FakePhys m;
  map4(m, 0x40000000, 0xffff800008000000ull, 0x1000);
  Arm64PageWalker w(m.reader());
  Translation t;
  EXPECT_TRUE(w.translate({0, 0x40000000, kTcr48}, 0xffff800008000000ull, t));
  w.invalidate();
  EXPECT_FALSE(w.translate({0, 0x40000000, kTcr48 | (1ull << 59)}, 0xffff800008000000ull, t));
}

TEST(Arm64Paging, CacheFollowsRegistersAndInvalidate) {
  FakePhys m;
  const uint64_t va = 0xffff800008000000ull;
  map4(m, 0x40000000, va, 0x1000);
  map4(m, 0x48000000, va, 0x2000);
  Arm64PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate({0, 0x40000000, kTcr48}, va, t));
  ASSERT_TRUE(w.translate({0, 0x40000000, kTcr48}, va + 8, t));
  EXPECT_EQ(w.stats().hits, 1u);
  ASSERT_TRUE(w.translate({0, 0x48000000, kTcr48}, va, t));  // another TTBR1: walked again
  EXPECT_EQ(t.pa, 0x2000u);
  map4(m, 0x48000000, va, 0x3000);
  ASSERT_TRUE(w.translate({0, 0x48000000, kTcr48}, va, t));
  EXPECT_EQ(t.pa, 0x2000u);  // cached until the guest resumes
  w.invalidate();
  ASSERT_TRUE(w.translate({0, 0x48000000, kTcr48}, va, t));
  EXPECT_EQ(t.pa, 0x3000u);
}

TEST(Arm64Paging, ReadStopsAtTheFirstUnmappedPage) {
  FakePhys m;
  const uint64_t va = 0xffff800008000000ull;
  map4(m, 0x40000000, va, 0x5000);
  m.write(0x5ffe, "ab");
  Arm64PageWalker w(m.reader());
  char buf[8] = {};
  EXPECT_EQ(w.read_virt({0, 0x40000000, kTcr48}, va + 0xffe, buf, 8), 2u);
  EXPECT_EQ(std::string(buf, 2), "ab");
  // At the very top of the address space the read does not wrap around.
  EXPECT_EQ(w.read_virt({0, 0x40000000, kTcr48}, 0xfffffffffffffffcull, buf, 8), 0u);
}

}  // namespace

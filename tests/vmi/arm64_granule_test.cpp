// The arm64 stage-1 walker with 16 KiB and 64 KiB granules, over synthetic tables in a
// sparse fake physical memory: the levels each TxSZ gives, the TGn encodings of both
// halves, the blocks each granule has (and the ones it has not), reads across pages,
// and what stays refused (52-bit physical addresses with 64 KiB, reserved encodings).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "fake_phys.hpp"
#include "vmi/arm64_paging.hpp"

using namespace vmitrace::vmi;
using vmitrace::testing::FakePhys;

namespace {

constexpr uint64_t kTable = 3, kPageDesc = 3, kBlock = 1;
constexpr uint64_t kAf = 1u << 10, kAp1 = 1u << 6, kAp2 = 1u << 7, kUxn = 1ull << 54;

// TCR_EL1 for one granule in both halves: TG0 (4K 0, 64K 1, 16K 2) and TG1 (16K 1,
// 4K 2, 64K 3) encode it differently. TBI0 as Linux sets it.
uint64_t tcr(unsigned granule_shift, unsigned vabits) {
  const uint64_t tg0 = granule_shift == 14 ? 2 : granule_shift == 16 ? 1 : 0;
  const uint64_t tg1 = granule_shift == 14 ? 1 : granule_shift == 16 ? 3 : 2;
  const uint64_t sz = 64 - vabits;
  return sz | (tg0 << 14) | (sz << 16) | (tg1 << 30) | (1ull << 37);
}

// Index of va at `level` for granule 2^g (the first level of a 48-bit layout takes
// the address bits up to 47 only).
uint64_t idx(uint64_t va, unsigned level, unsigned g) {
  return ((va & 0x0000ffffffffffffull) >> (g + (g - 3) * (3 - level))) & ((uint64_t{1} << (g - 3)) - 1);
}

// Maps va -> pa with one page through tables from `start` to level 3, the first at
// `root`, the others a granule apart after `next`.
void map_page(FakePhys& m, unsigned g, unsigned start, uint64_t root, uint64_t next, uint64_t va, uint64_t pa,
              uint64_t attrs = kAf) {
  uint64_t table = root;
  for (unsigned level = start; level < 3; ++level) {
    const uint64_t below = next + (level - start) * (uint64_t{1} << g);
    m.put64(table + idx(va, level, g) * 8, below | kTable);
    table = below;
  }
  m.put64(table + idx(va, 3, g) * 8, pa | kPageDesc | attrs);
}

TEST(Arm64Granule, SixteenKibFortySevenBitsThreeLevels) {
  // Debian's 16 KiB kernel without LPA2 (the lab's lpa2=off): 47-bit addresses, a
  // level-1 table of 2048 entries (36 + 11 = 47), 16 KiB pages.
  FakePhys m;
  const uint64_t kva = 0xffffc00008123456ull, uva = 0x00007fffa0006789ull;
  map_page(m, 14, 1, 0x40000000, 0x40004000, kva, 0x41230000);
  map_page(m, 14, 1, 0x50000000, 0x50004000, uva, 0x52004000, kAf | kAp1 | kAp2 | kUxn);
  m.write(0x41233456, "kernel");
  m.write(0x52006789, "user");
  Arm64PageWalker w(m.reader());
  const Arm64PagingRegs r{0x50000000, 0x40000000, tcr(14, 47)};
  EXPECT_EQ(arm64_paging_unsupported(r), "");
  Translation t;
  ASSERT_TRUE(w.translate(r, kva, t));
  EXPECT_EQ(t.pa, 0x41233456u);
  EXPECT_EQ(t.page_size, 16u << 10);
  EXPECT_FALSE(t.user);
  EXPECT_LE(m.reads, 3u);
  char buf[8] = {};
  EXPECT_EQ(w.read_virt(r, kva, buf, 6), 6u);
  EXPECT_STREQ(buf, "kernel");
  ASSERT_TRUE(w.translate(r, uva | (0x5aull << 56), t));  // TBI0: a tagged user pointer
  EXPECT_EQ(t.pa, 0x52006789u);
  EXPECT_TRUE(t.user);
  EXPECT_FALSE(t.writable);
  EXPECT_TRUE(t.nx);
  std::memset(buf, 0, sizeof buf);
  EXPECT_EQ(w.read_virt(r, uva, buf, 4), 4u);
  EXPECT_STREQ(buf, "user");
  // 47 bits: 0xffff4... is below the kernel half, as 0x0000800000000000 is above the user one.
  EXPECT_FALSE(w.translate(r, 0xffff400008123000ull, t));
  EXPECT_FALSE(w.translate(r, 0x0000800000000000ull, t));
}

TEST(Arm64Granule, SixteenKibFortyEightBitsHasATwoEntryLevelZero) {
  // 48 bits with 16 KiB granules: level 0 resolves one bit (two entries, a 64-byte
  // aligned table rather than a page, as Linux's pgd_cache gives).
  FakePhys m;
  const uint64_t va = 0xffff800008004000ull, root = 0x40000040;
  map_page(m, 14, 0, root, 0x40004000, va, 0x60000000);
  Arm64PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate({0, root, tcr(14, 48)}, va + 0x10, t));
  EXPECT_EQ(t.pa, 0x60000010u);
  EXPECT_EQ(m.reads, 4u);
  // The other entry of level 0 (bit 47 clear) is empty.
  EXPECT_FALSE(w.translate({0, root, tcr(14, 48)}, 0xffff000008004000ull, t));
}

TEST(Arm64Granule, SixteenKibBlocksAreThirtyTwoMibAtLevelTwoOnly) {
  FakePhys m;
  const uint64_t l1 = 0x100000, l2 = 0x104000;
  const uint64_t va = 0xffffc00002000000ull;  // 32 MiB-aligned
  m.put64(l1 + idx(va, 1, 14) * 8, l2 | kTable);
  m.put64(l2 + idx(va, 2, 14) * 8, 0x82000000 | kBlock | kAf);
  Arm64PageWalker w(m.reader());
  const Arm64PagingRegs r{0, l1, tcr(14, 47)};
  Translation t;
  ASSERT_TRUE(w.translate(r, va + 0x1234567, t));
  EXPECT_EQ(t.pa, 0x83234567u);
  EXPECT_EQ(t.page_size, 32u << 20);
  // A block at level 1 (64 GiB) needs LPA2: refused, not misread.
  const uint64_t va1 = 0xffffd00000000000ull;
  m.put64(l1 + idx(va1, 1, 14) * 8, 0x1000000000ull | kBlock | kAf);
  EXPECT_FALSE(w.translate(r, va1, t));
}

TEST(Arm64Granule, SixtyFourKibFortyEightBitsThreeLevelsAndBlocks) {
  // 64 KiB granules, 48 bits: level 1 resolves bits 47..42 (64 entries), then two
  // levels of 8192 entries; 64 KiB pages, 512 MiB blocks.
  FakePhys m;
  const uint64_t root = 0x200000, va = 0xffff800012345678ull, uva = 0x0000aaaabbbb1234ull;
  map_page(m, 16, 1, root, 0x210000, va, 0x77770000);
  map_page(m, 16, 1, 0x300000, 0x310000, uva, 0x88880000, kAf | kAp1);
  const uint64_t blk = 0xffff8000e0000000ull;  // 512 MiB-aligned, same level-1 slot as va
  m.put64(0x210000 + idx(blk, 2, 16) * 8, 0xa0000000 | kBlock | kAf);
  Arm64PageWalker w(m.reader());
  const Arm64PagingRegs r{0x300000, root, tcr(16, 48)};
  EXPECT_EQ(arm64_paging_unsupported(r), "");
  Translation t;
  ASSERT_TRUE(w.translate(r, va, t));
  EXPECT_EQ(t.pa, 0x77775678u);
  EXPECT_EQ(t.page_size, 64u << 10);
  ASSERT_TRUE(w.translate(r, uva, t));
  EXPECT_EQ(t.pa, 0x88881234u);
  EXPECT_TRUE(t.user);
  EXPECT_TRUE(t.writable);
  ASSERT_TRUE(w.translate(r, blk + 0x1abcdef0, t));
  EXPECT_EQ(t.pa, 0xbabcdef0u);
  EXPECT_EQ(t.page_size, 512u << 20);
  // A level-1 block (4 TiB) exists only with FEAT_LPA's 52-bit addresses: refused.
  const uint64_t va1 = 0xffffc00000000000ull;
  m.put64(root + idx(va1, 1, 16) * 8, 0x40000000000ull | kBlock | kAf);
  EXPECT_FALSE(w.translate(r, va1, t));
  // Descriptor bits 15..12 are not address bits here (OA[51:48] under FEAT_LPA).
  m.put64(0x310000 + 0x10000 + idx(uva, 3, 16) * 8, 0x88880000 | 0x5000 | kPageDesc | kAf | kAp1);
  w.invalidate();
  ASSERT_TRUE(w.translate(r, uva, t));
  EXPECT_EQ(t.pa, 0x88881234u);
}

TEST(Arm64Granule, SixtyFourKibFortyTwoBitsTwoLevels) {
  FakePhys m;
  const uint64_t va = 0xfffffc0000010000ull;  // 42-bit kernel half
  map_page(m, 16, 2, 0x400000, 0x410000, va, 0x500000);
  Arm64PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate({0, 0x400000, tcr(16, 42)}, va + 0x42, t));
  EXPECT_EQ(t.pa, 0x500042u);
  EXPECT_EQ(m.reads, 2u);
}

TEST(Arm64Granule, HalvesMayUseDifferentGranules) {
  // TTBR0 with 16 KiB (TG0=2) and TTBR1 with 64 KiB (TG1=3), 48 bits each.
  FakePhys m;
  const uint64_t kva = 0xffff800000020000ull, uva = 0x0000000000404000ull;
  map_page(m, 16, 1, 0x600000, 0x610000, kva, 0x700000);
  map_page(m, 14, 0, 0x800000, 0x804000, uva, 0x900000);
  const uint64_t t = 16 | (2ull << 14) | (16ull << 16) | (3ull << 30);
  Arm64PageWalker w(m.reader());
  Translation out;
  ASSERT_TRUE(w.translate({0x800000, 0x600000, t}, kva + 1, out));
  EXPECT_EQ(out.page_size, 64u << 10);
  EXPECT_EQ(out.pa, 0x700001u);
  ASSERT_TRUE(w.translate({0x800000, 0x600000, t}, uva + 2, out));
  EXPECT_EQ(out.page_size, 16u << 10);
  EXPECT_EQ(out.pa, 0x900002u);
}

TEST(Arm64Granule, ReadsCrossSixteenKibPagesThatAreNotContiguous) {
  FakePhys m;
  const uint64_t va = 0x00007fff80000000ull;
  map_page(m, 14, 1, 0x40000000, 0x40004000, va, 0x10000000);
  map_page(m, 14, 1, 0x40000000, 0x40004000, va + 0x4000, 0x20000000);
  m.write(0x10003ffd, "abc");
  m.write(0x20000000, "def");
  m.map_page(0x20003000);
  Arm64PageWalker w(m.reader());
  char buf[8] = {};
  EXPECT_EQ(w.read_virt({0x40000000, 0, tcr(14, 47)}, va + 0x3ffd, buf, 6), 6u);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  // The page after is unmapped: the read stops at its start.
  EXPECT_EQ(w.read_virt({0x40000000, 0, tcr(14, 47)}, va + 0x7ffe, buf, 4), 2u);
}

TEST(Arm64Granule, StillRefused) {
  // 52-bit physical addresses with 64 KiB granules (IPS=6).
  const std::string pa52 = arm64_paging_unsupported({0, 0, tcr(16, 48) | (6ull << 32)});
  EXPECT_NE(pa52.find("TTBR1 uses 52-bit physical addresses with a 64 KiB granule (IPS=6)"), std::string::npos)
      << pa52;
  // With 4 KiB / 16 KiB granules IPS=6 only widens nothing: output stays 48-bit.
  EXPECT_EQ(arm64_paging_unsupported({0, 0, tcr(14, 47) | (6ull << 32)}), "");
  // 52-bit virtual addresses with 16 KiB granules (LPA2, DS=1).
  const std::string lpa2 = arm64_paging_unsupported({0, 0, tcr(14, 52) | (1ull << 59)});
  EXPECT_NE(lpa2.find("TTBR1 uses 52-bit virtual addresses (DS=1, LPA2)"), std::string::npos) << lpa2;
  // TG1=0 is a reserved encoding.
  const std::string reserved = arm64_paging_unsupported({0, 0, tcr(12, 48) & ~(3ull << 30)});
  EXPECT_NE(reserved.find("TTBR1 uses a reserved granule encoding (TG1=0)"), std::string::npos) << reserved;
  // The walker refuses them rather than misreading the tables.
  FakePhys m;
  const uint64_t va = 0xffff800012340000ull;
  map_page(m, 16, 1, 0x200000, 0x210000, va, 0x770000);
  Arm64PageWalker w(m.reader());
  Translation t;
  EXPECT_TRUE(w.translate({0, 0x200000, tcr(16, 48)}, va, t));
  w.invalidate();
  EXPECT_FALSE(w.translate({0, 0x200000, tcr(16, 48) | (6ull << 32)}, va, t));
}

}  // namespace

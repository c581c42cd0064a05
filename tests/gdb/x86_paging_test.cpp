// The x86 page walker over synthetic page tables in a sparse fake physical memory.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>

#include "../vmi/fake_phys.hpp"
#include "vmi/x86_paging.hpp"

using namespace vmitrace::vmi;
using vmitrace::testing::FakePhys;

namespace {

constexpr uint64_t P = 1, RW = 2, US = 4, PS = 0x80, NX = 1ull << 63;
constexpr uint64_t CR0_PG = 1u << 31, CR4_PSE = 1u << 4, CR4_PAE = 1u << 5, CR4_LA57 = 1u << 12;
constexpr uint64_t EFER_LMA = 1u << 10, EFER_NXE = 1u << 11;

uint64_t idx(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 0x1ff; }

PagingRegs long4(uint64_t cr3) { return {CR0_PG, cr3, CR4_PAE, EFER_LMA | EFER_NXE}; }

}  // namespace

TEST(X86Paging, Mode) {
  EXPECT_EQ(paging_mode({0, 0, 0, 0}), PagingMode::off);
  EXPECT_EQ(paging_mode({CR0_PG, 0, 0, 0}), PagingMode::legacy32);
  EXPECT_EQ(paging_mode({CR0_PG, 0, CR4_PAE, 0}), PagingMode::pae);
  EXPECT_EQ(paging_mode({CR0_PG, 0, CR4_PAE, EFER_LMA}), PagingMode::long4);
  EXPECT_EQ(paging_mode({CR0_PG, 0, CR4_PAE | CR4_LA57, EFER_LMA}), PagingMode::long5);
}

TEST(X86Paging, Long4FourKiBPageAndCache) {
  FakePhys m;
  uint64_t va = 0xffffffff81234567ull;
  m.put64(0x1000 + idx(va, 4) * 8, 0x2000 | P | RW);
  m.put64(0x2000 + idx(va, 3) * 8, 0x3000 | P | RW);
  m.put64(0x3000 + idx(va, 2) * 8, 0x4000 | P | RW);
  m.put64(0x4000 + idx(va, 1) * 8, 0x7000 | P | NX);
  m.write(0x7567, "hello");
  PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate(long4(0x1000), va, t));
  EXPECT_EQ(t.pa, 0x7567u);
  EXPECT_EQ(t.page_size, 4096u);
  EXPECT_FALSE(t.writable);  // the leaf is read-only
  EXPECT_FALSE(t.user);
  EXPECT_TRUE(t.nx);
  char buf[6] = {};
  EXPECT_EQ(w.read_virt(long4(0x1000), va, buf, 5), 5u);
  EXPECT_STREQ(buf, "hello");
  // Cached: no table reads the second time; after invalidate() the walk is redone.
  uint64_t before = m.reads;
  ASSERT_TRUE(w.translate(long4(0x1000), va + 8, t));
  EXPECT_EQ(m.reads, before);
  EXPECT_GE(w.stats().hits, 1u);
  m.put64(0x4000 + idx(va, 1) * 8, 0x9000 | P);  // the guest remaps the page
  w.invalidate();
  ASSERT_TRUE(w.translate(long4(0x1000), va, t));
  EXPECT_EQ(t.pa, 0x9567u);
  // Another address space (CR3) does not hit this entry.
  EXPECT_FALSE(w.translate(long4(0x5000), va, t));
}

TEST(X86Paging, Long4LargePages) {
  FakePhys m;
  uint64_t va2m = 0x0000000040212345ull, va1g = 0x0000008080123456ull;
  m.put64(0x1000 + idx(va2m, 4) * 8, 0x2000 | P | RW | US);
  m.put64(0x2000 + idx(va2m, 3) * 8, 0x3000 | P | RW | US);
  m.put64(0x3000 + idx(va2m, 2) * 8, 0x40000000 | P | RW | US | PS);
  m.put64(0x1000 + idx(va1g, 4) * 8, 0x4000 | P | RW | US);
  m.put64(0x4000 + idx(va1g, 3) * 8, 0x1c0000000ull | P | RW | US | PS);
  PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate(long4(0x1000), va2m, t));
  EXPECT_EQ(t.pa, 0x40000000u + (va2m & 0x1fffff));
  EXPECT_EQ(t.page_size, 2u << 20);
  EXPECT_TRUE(t.user && t.writable && !t.nx);
  ASSERT_TRUE(w.translate(long4(0x1000), va1g, t));
  EXPECT_EQ(t.pa, 0x1c0000000ull + (va1g & 0x3fffffff));
  EXPECT_EQ(t.page_size, 1ull << 30);
}

TEST(X86Paging, Long5) {
  FakePhys m;
  uint64_t va = 0xff11223344556677ull;  // canonical for 57 bits
  m.put64(0x1000 + idx(va, 5) * 8, 0x2000 | P);
  m.put64(0x2000 + idx(va, 4) * 8, 0x3000 | P);
  m.put64(0x3000 + idx(va, 3) * 8, 0x4000 | P);
  m.put64(0x4000 + idx(va, 2) * 8, 0x5000 | P);
  m.put64(0x5000 + idx(va, 1) * 8, 0xabc000 | P);
  PageWalker w(m.reader());
  Translation t;
  PagingRegs r{CR0_PG, 0x1000, CR4_PAE | CR4_LA57, EFER_LMA};
  ASSERT_TRUE(w.translate(r, va, t));
  EXPECT_EQ(t.pa, 0xabc677u);
  // Not canonical under 4-level paging.
  EXPECT_FALSE(w.translate(long4(0x1000), va, t));
}

TEST(X86Paging, Pae) {
  FakePhys m;
  uint32_t va = 0xc1234567u, va2m = 0x80345678u;
  // CR3 only 32-byte aligned in PAE mode.
  m.put64(0x1020 + ((va >> 30) & 3) * 8, 0x2000 | P);
  m.put64(0x2000 + ((va >> 21) & 0x1ff) * 8, 0x3000 | P | RW);
  m.put64(0x3000 + ((va >> 12) & 0x1ff) * 8, 0x123456000ull | P | RW | NX);
  m.put64(0x1020 + ((va2m >> 30) & 3) * 8, 0x4000 | P);
  m.put64(0x4000 + ((va2m >> 21) & 0x1ff) * 8, 0x600000 | P | PS);
  PageWalker w(m.reader());
  Translation t;
  PagingRegs r{CR0_PG, 0x1020, CR4_PAE, EFER_NXE};
  ASSERT_TRUE(w.translate(r, va, t));
  EXPECT_EQ(t.pa, 0x123456567ull);
  EXPECT_TRUE(t.nx);
  ASSERT_TRUE(w.translate(r, va2m, t));
  EXPECT_EQ(t.pa, 0x600000u + (va2m & 0x1fffff));
  EXPECT_EQ(t.page_size, 2u << 20);
}

TEST(X86Paging, Legacy32AndPse) {
  FakePhys m;
  uint32_t va = 0xc0101234u, va4m = 0xc0c01234u;
  m.put32(0x1000 + (va >> 22) * 4, 0x2000 | P | RW);
  m.put32(0x2000 + ((va >> 12) & 0x3ff) * 4, 0x5000 | P);
  // 4 MiB page at 0x1_0040_0000 (PSE-36: bit 32 in PDE bit 13).
  m.put32(0x1000 + (va4m >> 22) * 4, 0x00400000u | (1u << 13) | P | PS);
  PageWalker w(m.reader());
  Translation t;
  PagingRegs r{CR0_PG, 0x1000, CR4_PSE, 0};
  ASSERT_TRUE(w.translate(r, va, t));
  EXPECT_EQ(t.pa, 0x5234u);
  ASSERT_TRUE(w.translate(r, va4m, t));
  EXPECT_EQ(t.pa, 0x100400000ull + (va4m & 0x3fffff));
  EXPECT_EQ(t.page_size, 4u << 20);
  // Without CR4.PSE the PS bit is ignored: the PDE is walked as a page table.
  PagingRegs nopse{CR0_PG, 0x1000, 0, 0};
  EXPECT_FALSE(w.translate(nopse, va4m, t));
}

TEST(X86Paging, PagingOffIsIdentity) {
  FakePhys m;
  PageWalker w(m.reader());
  Translation t;
  ASSERT_TRUE(w.translate({}, 0x12345, t));
  EXPECT_EQ(t.pa, 0x12345u);
}

TEST(X86Paging, GarbageAndLoopsAreBounded) {
  FakePhys m;
  uint64_t va = 0xffff888000001000ull;
  // A self-referencing PML4 (the recursive-mapping trick, or a hostile loop): every
  // level points back to the same table. The walk ends after four reads.
  for (int i = 0; i < 512; ++i) m.put64(0x1000 + i * 8, 0x1000 | P | RW);
  PageWalker w(m.reader());
  Translation t;
  uint64_t before = m.reads;
  ASSERT_TRUE(w.translate(long4(0x1000), va, t));  // resolves to the table page itself
  EXPECT_EQ(t.pa, 0x1000u);
  EXPECT_LE(m.reads - before, 4u);
  // PS at PML4 level is reserved; an entry pointing outside memory fails; not present fails.
  FakePhys g;
  g.put64(0x1000 + idx(va, 4) * 8, 0x2000 | P | PS);
  PageWalker wg(g.reader());
  EXPECT_FALSE(wg.translate(long4(0x1000), va, t));
  g.put64(0x1000 + idx(va, 4) * 8, 0xfffffffff000ull | P);
  wg.invalidate();
  EXPECT_FALSE(wg.translate(long4(0x1000), va, t));
  g.put64(0x1000 + idx(va, 4) * 8, 0x2000);
  EXPECT_FALSE(wg.translate(long4(0x1000), va, t));
  // Non-canonical address.
  EXPECT_FALSE(wg.translate(long4(0x1000), 0x0000800000000000ull, t));
  EXPECT_GE(wg.stats().faults, 4u);
}

TEST(X86Paging, ReadVirtStopsAtUnmappedPage) {
  FakePhys m;
  uint64_t va = 0x400ff8;
  m.put64(0x1000 + idx(va, 4) * 8, 0x2000 | P);
  m.put64(0x2000 + idx(va, 3) * 8, 0x3000 | P);
  m.put64(0x3000 + idx(va, 2) * 8, 0x4000 | P);
  m.put64(0x4000 + idx(va, 1) * 8, 0x8000 | P);  // next page (0x401000) not mapped
  m.write(0x8ff8, "ABCDEFGH");
  PageWalker w(m.reader());
  char buf[32] = {};
  EXPECT_EQ(w.read_virt(long4(0x1000), va, buf, sizeof buf), 8u);
  EXPECT_EQ(std::string(buf, 8), "ABCDEFGH");
  EXPECT_EQ(w.read_virt(long4(0x1000), 0x7fff0000, buf, 8), 0u);
}

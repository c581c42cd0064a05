// libFuzzer target: the arm64 stage-1 walker over arbitrary page tables. The input is
// TTBR0_EL1, TTBR1_EL1, TCR_EL1 (any granule) and five virtual addresses, then the
// guest's physical memory; physical reads wrap around the input so that descriptors
// point back into it, and addresses at or above 1 TiB are unreadable.
#include <cstddef>
#include <cstdint>

#include "paging_target.hpp"
#include "seed_writer.hpp"
#include "vmi/arm64_paging.hpp"

using namespace vmitrace;

namespace {

// Header words: ttbr0 ttbr1 tcr, then 5 virtual addresses.
constexpr size_t kFirstVa = 3;

// TCR_EL1 with one granule (2^g bytes) in both halves (TG0 and TG1 encode it
// differently) and TBI0, as Linux sets it.
uint64_t tcr_for(unsigned g, unsigned vabits) {
  const uint64_t tg0 = g == 14 ? 2 : g == 16 ? 1 : 0, tg1 = g == 14 ? 1 : g == 16 ? 3 : 2, sz = 64 - vabits;
  return sz | (tg0 << 14) | (sz << 16) | (tg1 << 30) | (1ull << 37);
}

// Index of va in a table of `level` with 2^g-byte granules (48-bit layouts).
uint64_t idx(uint64_t va, unsigned level, unsigned g) {
  return ((va & 0x0000ffffffffffffull) >> (g + (g - 3) * (3 - level))) & ((uint64_t{1} << (g - 3)) - 1);
}

// Tables Linux builds: 48-bit, 4 KiB granules, a kernel page, a 2 MiB block and a
// user page; the same under 39-bit (3 levels); then 16 KiB granules with 47-bit
// addresses (Debian's 16k kernel without LPA2: 3 levels, a 32 MiB block) and 64 KiB
// granules with 48-bit ones (3 levels, a 512 MiB block), the tables a granule apart.
void write_seeds(const char* dir) {
  {
    fuzz::PagingSeed s(0x8000);
    const uint64_t kva = 0xffff800008001000ull, blk = 0xffff800008200000ull + 0x1234, uva = 0x0000aaaa00003000ull;
    const uint64_t tcr48 = tcr_for(12, 48);
    s.header(0, 0x5000); s.header(1, 0x1000); s.header(2, tcr48);
    s.header(3, kva); s.header(4, blk); s.header(5, uva); s.header(6, kva + 0xff8); s.header(7, 0xfffffffffffff000ull);
    s.entry(0x1000 + idx(kva, 0, 12) * 8, 0x2003);
    s.entry(0x2000 + idx(kva, 1, 12) * 8, 0x3003);
    s.entry(0x3000 + idx(kva, 2, 12) * 8, 0x4003);
    s.entry(0x3000 + idx(blk, 2, 12) * 8, 0x200401);  // 2 MiB block, AF
    s.entry(0x4000 + idx(kva, 3, 12) * 8, 0x7403);
    s.entry(0x5000 + idx(uva, 0, 12) * 8, 0x6003);
    s.entry(0x6000 + idx(uva, 1, 12) * 8, 0x40000441);  // 1 GiB block, AF, EL0
    s.write(dir, "linux48");
    s.header(2, tcr_for(12, 39));
    s.write(dir, "va39");
  }
  // Granule 2^g, `levels` from 1 to 3: the kernel's tables at G, 2G, 3G (page at 4G),
  // the user's at 5G, 6G, 7G (page at 8G), a block at level 2 next to the kernel page.
  auto big = [dir](unsigned g, unsigned vabits, uint64_t kva, uint64_t blk, uint64_t uva, const char* name) {
    const uint64_t G = uint64_t{1} << g;
    fuzz::PagingSeed s(9 * G);
    s.header(0, 5 * G); s.header(1, G); s.header(2, tcr_for(g, vabits));
    s.header(3, kva); s.header(4, blk); s.header(5, uva); s.header(6, kva + G - 8); s.header(7, uva + G - 2);
    for (unsigned level = 1; level < 3; ++level) {
      s.entry(level * G + idx(kva, level, g) * 8, (level + 1) * G | 3);
      s.entry((level + 4) * G + idx(uva, level, g) * 8, (level + 5) * G | 3);
    }
    s.entry(2 * G + idx(blk, 2, g) * 8, 0x4401);  // block (address bits below its size ignored), AF
    s.entry(3 * G + idx(kva, 3, g) * 8, 4 * G | 0x403);
    s.entry(7 * G + idx(uva, 3, g) * 8, 8 * G | 0x443);  // EL0
    s.write(dir, name);
  };
  big(14, 47, 0xffffc00008004000ull + 0x10, 0xffffc00008000000ull + 0x2000000 + 0x1234, 0x00007fffa0004000ull,
      "granule16k");
  big(16, 48, 0xffff800012340000ull + 0x10, 0xffff800020000000ull + 0x1234, 0x0000aaaabbbb0000ull, "granule64k");
}

// Below 2^48, and never through a half the walker refuses.
bool valid(const vmi::Arm64PagingRegs& regs, uint64_t va, const vmi::Translation& t) {
  const auto half = ((va >> 55) & 1) ? vmi::Arm64Half::upper : vmi::Arm64Half::lower;
  return t.pa < (uint64_t{1} << 48) && vmi::arm64_paging_unsupported(regs, half).empty();
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::walk_input<vmi::Arm64PageWalker>(
      data, size, [](const uint64_t* h) { return vmi::Arm64PagingRegs{h[0], h[1], h[2]}; }, kFirstVa,
      {4u << 10, 16u << 10, 64u << 10, 2u << 20, 32u << 20, 512u << 20, 1u << 30},
      4,  // a walk is at most four descriptor reads
      valid,
      // the same tables under other sizes, granules (TG0, TG1), IPS and DS
      [](vmi::Arm64PagingRegs& regs, const uint64_t* h) { regs.tcr ^= h[6] & 0x08000007c000c03full; });
}

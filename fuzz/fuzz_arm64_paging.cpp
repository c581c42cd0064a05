// libFuzzer target: the arm64 stage-1 walker over arbitrary page tables. The input is
// TTBR0_EL1, TTBR1_EL1, TCR_EL1 and five virtual addresses, then the guest's physical
// memory; physical reads wrap around the input so that descriptors point back into
// it, and addresses at or above 1 TiB are unreadable.
#include <cstddef>
#include <cstdint>

#include "paging_target.hpp"
#include "seed_writer.hpp"
#include "vmi/arm64_paging.hpp"

using namespace vmitrace;

namespace {

// Header words: ttbr0 ttbr1 tcr, then 5 virtual addresses.
constexpr size_t kFirstVa = 3;

// Tables Linux builds: 48-bit, 4 KiB granules, a kernel page, a 2 MiB block and a
// user page; then the same under 39-bit (3 levels) and with a 16 KiB granule.
void write_seeds(const char* dir) {
  fuzz::PagingSeed s(0x8000);
  const uint64_t kva = 0xffff800008001000ull, blk = 0xffff800008200000ull + 0x1234, uva = 0x0000aaaa00003000ull;
  const uint64_t tcr48 = 16 | (16ull << 16) | (2ull << 30) | (1ull << 37);
  s.header(0, 0x5000); s.header(1, 0x1000); s.header(2, tcr48);
  s.header(3, kva); s.header(4, blk); s.header(5, uva); s.header(6, kva + 0xff8); s.header(7, 0xfffffffffffff000ull);
  auto idx = [](uint64_t va, unsigned level) { return (va >> (12 + 9 * (3 - level))) & 0x1ff; };
  s.entry(0x1000 + idx(kva, 0) * 8, 0x2003);
  s.entry(0x2000 + idx(kva, 1) * 8, 0x3003);
  s.entry(0x3000 + idx(kva, 2) * 8, 0x4003);
  s.entry(0x3000 + idx(blk, 2) * 8, 0x200401);  // 2 MiB block, AF
  s.entry(0x4000 + idx(kva, 3) * 8, 0x7403);
  s.entry(0x5000 + idx(uva, 0) * 8, 0x6003);
  s.entry(0x6000 + idx(uva, 1) * 8, 0x40000441);  // 1 GiB block, AF, EL0
  s.write(dir, "linux48");
  s.header(2, 25 | (25ull << 16) | (2ull << 30));
  s.write(dir, "va39");
  s.header(2, tcr48 ^ (3ull << 30));  // TG1 = 16 KiB: refused
  s.write(dir, "granule16k");
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
      {4096, 2u << 20, 1u << 30},
      4,  // a walk is at most four descriptor reads
      valid,
      // the same tables under other sizes/granules
      [](vmi::Arm64PagingRegs& regs, const uint64_t* h) { regs.tcr ^= h[6] & 0x08000000c000c03full; });
}

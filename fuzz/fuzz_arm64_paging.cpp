// libFuzzer target: the arm64 stage-1 walker over arbitrary page tables. The input is
// TTBR0_EL1, TTBR1_EL1, TCR_EL1 and five virtual addresses, then the guest's physical
// memory; physical reads wrap around the input so that descriptors point back into
// it, and addresses at or above 1 TiB are unreadable.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_phys.hpp"
#include "seed_writer.hpp"
#include "vmi/arm64_paging.hpp"

using namespace vmitrace;

namespace {

constexpr size_t kHeader = 8 * 8;  // ttbr0 ttbr1 tcr + 5 virtual addresses

// Tables Linux builds: 48-bit, 4 KiB granules, a kernel page, a 2 MiB block and a
// user page; then the same under 39-bit (3 levels) and with a 16 KiB granule.
void write_seeds(const char* dir) {
  auto put = [](std::vector<uint8_t>& m, uint64_t at, uint64_t v) {
    if (m.size() < at + 8) m.resize(at + 8);
    std::memcpy(m.data() + at, &v, 8);
  };
  std::vector<uint8_t> s(kHeader + 0x8000);
  const uint64_t kva = 0xffff800008001000ull, blk = 0xffff800008200000ull + 0x1234, uva = 0x0000aaaa00003000ull;
  const uint64_t tcr48 = 16 | (16ull << 16) | (2ull << 30) | (1ull << 37);
  put(s, 0, 0x5000); put(s, 8, 0x1000); put(s, 16, tcr48);
  put(s, 24, kva); put(s, 32, blk); put(s, 40, uva); put(s, 48, kva + 0xff8); put(s, 56, 0xfffffffffffff000ull);
  const size_t m = kHeader;
  auto idx = [](uint64_t va, unsigned level) { return (va >> (12 + 9 * (3 - level))) & 0x1ff; };
  put(s, m + 0x1000 + idx(kva, 0) * 8, 0x2003);
  put(s, m + 0x2000 + idx(kva, 1) * 8, 0x3003);
  put(s, m + 0x3000 + idx(kva, 2) * 8, 0x4003);
  put(s, m + 0x3000 + idx(blk, 2) * 8, 0x200401);  // 2 MiB block, AF
  put(s, m + 0x4000 + idx(kva, 3) * 8, 0x7403);
  put(s, m + 0x5000 + idx(uva, 0) * 8, 0x6003);
  put(s, m + 0x6000 + idx(uva, 1) * 8, 0x40000441);  // 1 GiB block, AF, EL0
  fuzz::write_seed(dir, "linux48", s.data(), s.size());
  put(s, 16, 25 | (25ull << 16) | (2ull << 30));
  fuzz::write_seed(dir, "va39", s.data(), s.size());
  put(s, 16, tcr48 ^ (3ull << 30));  // TG1 = 16 KiB: refused
  fuzz::write_seed(dir, "granule16k", s.data(), s.size());
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader + 8) return 0;
  uint64_t h[8];
  std::memcpy(h, data, sizeof h);
  fuzz::FuzzPhys phys{data + kHeader, size - kHeader};
  uint64_t& reads = phys.reads;
  vmi::Arm64PageWalker w(phys.reader(), 64);
  vmi::Arm64PagingRegs regs{h[0], h[1], h[2]};
  uint8_t buf[3 * 4096];
  for (int round = 0; round < 2; ++round) {
    for (int i = 3; i < 8; ++i) {
      const uint64_t va = h[i];
      vmi::Translation t;
      const uint64_t before = reads;
      const bool ok = w.translate(regs, va, t);
      if (ok && (!fuzz::translation_ok(va, t, {4096, 2u << 20, 1u << 30}) || t.pa >= (uint64_t{1} << 48)))
        __builtin_trap();
      // A walk is at most four descriptor reads.
      if (reads - before > 4) __builtin_trap();
      // Never a translation through a half the walker refuses.
      const auto half = ((va >> 55) & 1) ? vmi::Arm64Half::upper : vmi::Arm64Half::lower;
      if (ok && !vmi::arm64_paging_unsupported(regs, half).empty()) __builtin_trap();
      const size_t len = 1 + (va >> 3) % sizeof buf;
      if (w.read_virt(regs, va, buf, len) > len) __builtin_trap();
    }
    w.invalidate();
    regs.tcr ^= h[6] & 0x08000000c000c03full;  // the same tables under other sizes/granules
  }
  return 0;
}

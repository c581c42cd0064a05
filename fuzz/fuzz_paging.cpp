// libFuzzer target: the x86 page walker over arbitrary page tables. The input is
// the control registers (which paging mode), a few virtual addresses, then the
// guest's physical memory; physical reads wrap around the input so that entries
// point back into it, and addresses at or above 1 TiB are unreadable.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_phys.hpp"
#include "seed_writer.hpp"
#include "vmi/x86_paging.hpp"

using namespace vmitrace;

namespace {

constexpr size_t kHeader = 8 * 8;  // cr0 cr3 cr4 efer + 4 virtual addresses

// Tables a real kernel would build: long mode 4-level mapping va 0xffff888000001000
// -> pa 0x5000 (4 KiB) and a 2 MiB page; PAE; 32-bit with a 4 MiB page.
void write_seeds(const char* dir) {
  auto put = [](std::vector<uint8_t>& m, uint64_t at, uint64_t v) {
    if (m.size() < at + 8) m.resize(at + 8);
    std::memcpy(m.data() + at, &v, 8);
  };
  {
    std::vector<uint8_t> s(kHeader + 0x6000);
    uint64_t va = 0xffff888000001000ull, va2 = 0xffff888000200000ull + 0x1234;
    put(s, 0, 0x80000001);              // cr0: PG PE
    put(s, 8, 0x1000);                  // cr3
    put(s, 16, 0x20);                   // cr4: PAE
    put(s, 24, 0x500);                  // efer: LME LMA
    put(s, 32, va); put(s, 40, va2); put(s, 48, va + 0xff8); put(s, 56, 0x400000);
    const size_t m = kHeader;
    put(s, m + 0x1000 + ((va >> 39) & 511) * 8, 0x2003);
    put(s, m + 0x2000 + ((va >> 30) & 511) * 8, 0x3003);
    put(s, m + 0x3000 + ((va >> 21) & 511) * 8, 0x4003);
    put(s, m + 0x3000 + ((va2 >> 21) & 511) * 8, 0x200083);  // 2 MiB page
    put(s, m + 0x4000 + ((va >> 12) & 511) * 8, 0x5003);
    fuzz::write_seed(dir, "long4", s.data(), s.size());
    put(s, 16, 0x1020);  // cr4.LA57: the same tables read as 5-level
    fuzz::write_seed(dir, "long5", s.data(), s.size());
  }
  {
    std::vector<uint8_t> s(kHeader + 0x4000);
    put(s, 0, 0x80000001); put(s, 8, 0x1000); put(s, 16, 0x20); put(s, 24, 0);
    put(s, 32, 0xc0001000); put(s, 40, 0xc0201000); put(s, 48, 0); put(s, 56, 0xffffffff);
    const size_t m = kHeader;
    put(s, m + 0x1000 + 3 * 8, 0x2001);  // PDPTE for 0xc0000000
    put(s, m + 0x2000, 0x3003);
    put(s, m + 0x2000 + 8, 0x400083);
    put(s, m + 0x3000 + 8, 0x1003);
    fuzz::write_seed(dir, "pae", s.data(), s.size());
  }
  {
    std::vector<uint8_t> s(kHeader + 0x3000);
    put(s, 0, 0x80000001); put(s, 8, 0x1000); put(s, 16, 0x10); put(s, 24, 0);
    put(s, 32, 0xc0001000); put(s, 40, 0xc0400000); put(s, 48, 0x1000); put(s, 56, 0);
    const size_t m = kHeader;
    uint32_t pde = 0x2003, big = 0x00400083, pte = 0x1003;
    std::memcpy(s.data() + m + 0x1000 + (0xc00 >> 0), &pde, 4);
    std::memcpy(s.data() + m + 0x1000 + 0xc04, &big, 4);
    std::memcpy(s.data() + m + 0x2000 + 4, &pte, 4);
    fuzz::write_seed(dir, "legacy32", s.data(), s.size());
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader + 8) return 0;
  uint64_t h[8];
  std::memcpy(h, data, sizeof h);
  fuzz::FuzzPhys phys{data + kHeader, size - kHeader};
  uint64_t& reads = phys.reads;
  vmi::PageWalker w(phys.reader(), 64);
  vmi::PagingRegs regs{h[0], h[1], h[2], h[3]};
  uint8_t buf[3 * 4096];
  for (int round = 0; round < 2; ++round) {
    for (int i = 4; i < 8; ++i) {
      const uint64_t va = h[i];
      vmi::Translation t;
      const uint64_t before = reads;
      if (w.translate(regs, va, t) && !fuzz::translation_ok(va, t, {4096, 2u << 20, 4u << 20, 1u << 30}))
        __builtin_trap();
      // A walk is at most five table reads (plus the PAE PDPTE).
      if (reads - before > 6) __builtin_trap();
      const size_t len = 1 + (va >> 3) % sizeof buf;
      if (w.read_virt(regs, va, buf, len) > len) __builtin_trap();
    }
    w.invalidate();
    regs.cr4 ^= h[5] & 0x1030;  // same tables under another mode (PSE/PAE/LA57)
  }
  return 0;
}

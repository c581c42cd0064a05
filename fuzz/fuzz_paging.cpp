// libFuzzer target: the x86 page walker over arbitrary page tables. The input is
// the control registers (which paging mode), a few virtual addresses, then the
// guest's physical memory; physical reads wrap around the input so that entries
// point back into it, and addresses at or above 1 TiB are unreadable.
#include <cstddef>
#include <cstdint>

#include "paging_target.hpp"
#include "seed_writer.hpp"
#include "vmi/x86_paging.hpp"

using namespace vmitrace;

namespace {

// Header words: cr0 cr3 cr4 efer, then 4 virtual addresses.
constexpr size_t kFirstVa = 4;

// Tables a real kernel would build: long mode 4-level mapping va 0xffff888000001000
// -> pa 0x5000 (4 KiB) and a 2 MiB page; PAE; 32-bit with a 4 MiB page.
void write_seeds(const char* dir) {
  {
    fuzz::PagingSeed s(0x6000);
    uint64_t va = 0xffff888000001000ull, va2 = 0xffff888000200000ull + 0x1234;
    s.header(0, 0x80000001);              // cr0: PG PE
    s.header(1, 0x1000);                  // cr3
    s.header(2, 0x20);                    // cr4: PAE
    s.header(3, 0x500);                   // efer: LME LMA
    s.header(4, va); s.header(5, va2); s.header(6, va + 0xff8); s.header(7, 0x400000);
    s.entry(0x1000 + ((va >> 39) & 511) * 8, 0x2003);
    s.entry(0x2000 + ((va >> 30) & 511) * 8, 0x3003);
    s.entry(0x3000 + ((va >> 21) & 511) * 8, 0x4003);
    s.entry(0x3000 + ((va2 >> 21) & 511) * 8, 0x200083);  // 2 MiB page
    s.entry(0x4000 + ((va >> 12) & 511) * 8, 0x5003);
    s.write(dir, "long4");
    s.header(2, 0x1020);  // cr4.LA57: the same tables read as 5-level
    s.write(dir, "long5");
  }
  {
    fuzz::PagingSeed s(0x4000);
    s.header(0, 0x80000001); s.header(1, 0x1000); s.header(2, 0x20); s.header(3, 0);
    s.header(4, 0xc0001000); s.header(5, 0xc0201000); s.header(6, 0); s.header(7, 0xffffffff);
    s.entry(0x1000 + 3 * 8, 0x2001);  // PDPTE for 0xc0000000
    s.entry(0x2000, 0x3003);
    s.entry(0x2000 + 8, 0x400083);
    s.entry(0x3000 + 8, 0x1003);
    s.write(dir, "pae");
  }
  {
    fuzz::PagingSeed s(0x3000);
    s.header(0, 0x80000001); s.header(1, 0x1000); s.header(2, 0x10); s.header(3, 0);
    s.header(4, 0xc0001000); s.header(5, 0xc0400000); s.header(6, 0x1000); s.header(7, 0);
    s.entry32(0x1000 + 0xc00, 0x2003);
    s.entry32(0x1000 + 0xc04, 0x00400083);  // 4 MiB page
    s.entry32(0x2000 + 4, 0x1003);
    s.write(dir, "legacy32");
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::walk_input<vmi::PageWalker>(
      data, size, [](const uint64_t* h) { return vmi::PagingRegs{h[0], h[1], h[2], h[3]}; }, kFirstVa,
      {4096, 2u << 20, 4u << 20, 1u << 30},
      6,  // a walk is at most five table reads (plus the PAE PDPTE)
      [](const vmi::PagingRegs&, uint64_t, const vmi::Translation&) { return true; },
      // the same tables under another mode (PSE/PAE/LA57)
      [](vmi::PagingRegs& regs, const uint64_t* h) { regs.cr4 ^= h[5] & 0x1030; });
}

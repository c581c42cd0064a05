#include "vmi/x86_paging.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::vmi {

namespace {
constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kPS = 0x80;
constexpr uint64_t kNX = 1ull << 63;
constexpr uint64_t kAddr52 = 0x000ffffffffff000ull;  // bits 12..51
constexpr uint64_t kPage = 4096;
}  // namespace

PagingMode paging_mode(const PagingRegs& r) {
  if (!(r.cr0 & (1u << 31))) return PagingMode::off;
  if (!(r.cr4 & (1u << 5))) return PagingMode::legacy32;
  if (!(r.efer & (1u << 10))) return PagingMode::pae;  // EFER.LMA
  return (r.cr4 & (1u << 12)) ? PagingMode::long5 : PagingMode::long4;
}

PageWalker::PageWalker(PhysRead read, size_t cache_entries) : read_(std::move(read)), cache_(cache_entries) {}

bool PageWalker::read_entry(uint64_t pa, unsigned size, uint64_t& e) {
  e = 0;
  return read_(pa, &e, size) == size;
}

bool PageWalker::walk(const PagingRegs& regs, PagingMode mode, uint64_t va, Translation& out) {
  const bool pse = regs.cr4 & (1u << 4);
  const bool nxe = regs.efer & (1u << 11);
  bool rw = true, us = true, nx = false;
  auto acc = [&](uint64_t e) {
    rw = rw && (e & kRW);
    us = us && (e & kUS);
    nx = nx || (nxe && (e & kNX));
  };
  auto done = [&](uint64_t pa, uint64_t size) {
    out.pa = pa;
    out.page_size = size;
    out.writable = rw;
    out.user = us;
    out.nx = nx;
    return true;
  };

  if (mode == PagingMode::legacy32) {
    va &= 0xffffffffull;
    uint64_t pde;
    if (!read_entry((regs.cr3 & 0xfffff000ull) + ((va >> 22) & 0x3ff) * 4, 4, pde) || !(pde & kP)) return false;
    acc(pde);
    if ((pde & kPS) && pse) {
      // 4 MiB page; PSE-36 puts physical bits 32..39 in PDE bits 13..20.
      uint64_t base = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32);
      return done(base | (va & 0x3fffff), 4u << 20);
    }
    uint64_t pte;
    if (!read_entry((pde & 0xfffff000ull) + ((va >> 12) & 0x3ff) * 4, 4, pte) || !(pte & kP)) return false;
    acc(pte);
    return done((pte & 0xfffff000ull) | (va & 0xfff), kPage);
  }

  if (mode == PagingMode::pae) {
    va &= 0xffffffffull;
    uint64_t pdpte;
    if (!read_entry((regs.cr3 & 0xffffffe0ull) + ((va >> 30) & 3) * 8, 8, pdpte) || !(pdpte & kP)) return false;
    // PDPTEs have no R/W, U/S or NX; PS there is reserved.
    if (pdpte & kPS) return false;
    uint64_t pde;
    if (!read_entry((pdpte & kAddr52) + ((va >> 21) & 0x1ff) * 8, 8, pde) || !(pde & kP)) return false;
    acc(pde);
    if (pde & kPS) return done((pde & kAddr52 & ~0x1fffffull) | (va & 0x1fffff), 2u << 20);
    uint64_t pte;
    if (!read_entry((pde & kAddr52) + ((va >> 12) & 0x1ff) * 8, 8, pte) || !(pte & kP)) return false;
    acc(pte);
    return done((pte & kAddr52) | (va & 0xfff), kPage);
  }

  // Long mode: the address must be canonical.
  int levels = mode == PagingMode::long5 ? 5 : 4;
  int vbits = 12 + 9 * levels;  // 48 or 57
  int64_t sx = static_cast<int64_t>(va << (64 - vbits)) >> (64 - vbits);
  if (static_cast<uint64_t>(sx) != va) return false;
  uint64_t table = regs.cr3 & kAddr52;
  for (int level = levels; level >= 1; --level) {
    int shift = 12 + 9 * (level - 1);
    uint64_t e;
    if (!read_entry(table + ((va >> shift) & 0x1ff) * 8, 8, e) || !(e & kP)) return false;
    acc(e);
    if (level == 1) return done((e & kAddr52) | (va & 0xfff), kPage);
    if (e & kPS) {
      if (level > 3) return false;  // no 512 GiB pages: reserved
      uint64_t size = 1ull << shift;
      return done((e & kAddr52 & ~(size - 1)) | (va & (size - 1)), size);
    }
    table = e & kAddr52;
  }
  return false;
}

bool PageWalker::translate(const PagingRegs& regs, uint64_t va, Translation& out) {
  PagingMode mode = paging_mode(regs);
  if (mode == PagingMode::off) {
    out = Translation{va & 0xffffffffull, kPage, true, true, false};
    return true;
  }
  // The key includes the bits that change a walk's meaning besides CR3.
  const uint8_t key = static_cast<uint8_t>(static_cast<uint8_t>(mode) | (regs.cr4 & (1u << 4)) |
                                           ((regs.efer >> 6) & 0x20));
  if (cache_.lookup(va, regs.cr3, key, out)) {
    ++stats_.hits;
    return true;
  }
  ++stats_.misses;
  if (!walk(regs, mode, va, out)) {
    ++stats_.faults;
    return false;
  }
  cache_.store(va, regs.cr3, key, out);
  return true;
}

size_t PageWalker::read_virt(const PagingRegs& regs, uint64_t va, void* buf, size_t len) {
  return read_paged(read_, va, buf, len, [&](uint64_t v, Translation& t) { return translate(regs, v, t); });
}

}  // namespace vmitrace::vmi

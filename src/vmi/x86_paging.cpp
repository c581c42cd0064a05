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

PageWalker::PageWalker(PhysRead read, size_t cache_entries) : read_(std::move(read)) {
  size_t n = 1;
  while (n < cache_entries && n < (1u << 20)) n <<= 1;
  cache_.resize(n);
}

void PageWalker::invalidate() {
  if (++gen_ == 0) {  // wrapped: clear for real
    for (auto& s : cache_) s.gen = 0;
    gen_ = 1;
  }
}

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
  uint64_t vpage = va >> 12;
  // The key includes the bits that change a walk's meaning besides CR3.
  uint8_t key = static_cast<uint8_t>(static_cast<uint8_t>(mode) | (regs.cr4 & (1u << 4)) |
                                     ((regs.efer >> 6) & 0x20));
  Slot& s = cache_[(vpage ^ (regs.cr3 >> 12) * 0x9e3779b1ull) & (cache_.size() - 1)];
  if (s.gen == gen_ && s.vpage == vpage && s.cr3 == regs.cr3 && s.mode == key) {
    ++stats_.hits;
    out = Translation{s.ppage | (va & 0xfff), kPage, s.writable, s.user, s.nx};
    return true;
  }
  ++stats_.misses;
  if (!walk(regs, mode, va, out)) {
    ++stats_.faults;
    return false;
  }
  s.gen = gen_;
  s.vpage = vpage;
  s.cr3 = regs.cr3;
  s.mode = key;
  s.ppage = out.pa & ~(kPage - 1);
  s.writable = out.writable;
  s.user = out.user;
  s.nx = out.nx;
  return true;
}

size_t PageWalker::read_virt(const PagingRegs& regs, uint64_t va, void* buf, size_t len) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    uint64_t cur = va + done;
    size_t chunk = std::min<uint64_t>(len - done, kPage - (cur & (kPage - 1)));
    Translation t;
    if (!translate(regs, cur, t)) break;
    size_t n = read_(t.pa, p + done, chunk);
    done += n;
    if (n != chunk) break;
  }
  return done;
}

}  // namespace vmitrace::vmi

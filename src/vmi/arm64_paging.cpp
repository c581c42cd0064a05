#include "vmi/arm64_paging.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace vmitrace::vmi {

namespace {

constexpr uint64_t kOa48 = 0x0000ffffffffffffull;  // output / next-table address, bits 47..0
constexpr unsigned kMinTxSz = 16, kMaxTxSz = 39;   // 48-bit .. 25-bit virtual addresses

struct Half {
  bool upper = false;
  unsigned txsz = 0;  // TCR_EL1.TnSZ
  unsigned tg = 0;    // TCR_EL1.TGn as encoded
  unsigned granule = 0;  // log2 of the granule: 12, 14, 16; 0 = reserved encoding
  bool disabled = false, tbi = false;
  uint64_t ttbr = 0;
};

// TGn encodings differ between the halves (TG0: 0 = 4K, 1 = 64K, 2 = 16K; TG1: 1 = 16K,
// 2 = 4K, 3 = 64K).
unsigned granule_shift(bool upper, unsigned tg) {
  static constexpr unsigned kTg0[4] = {12, 16, 14, 0}, kTg1[4] = {0, 14, 12, 16};
  return upper ? kTg1[tg] : kTg0[tg];
}

Half half(const Arm64PagingRegs& r, bool upper) {
  Half h;
  h.upper = upper;
  if (upper) {
    h.txsz = (r.tcr >> 16) & 0x3f;
    h.disabled = (r.tcr >> 23) & 1;
    h.tg = (r.tcr >> 30) & 3;
    h.tbi = (r.tcr >> 38) & 1;
    h.ttbr = r.ttbr1;
  } else {
    h.txsz = r.tcr & 0x3f;
    h.disabled = (r.tcr >> 7) & 1;
    h.tg = (r.tcr >> 14) & 3;
    h.tbi = (r.tcr >> 37) & 1;
    h.ttbr = r.ttbr0;
  }
  h.granule = granule_shift(upper, h.tg);
  return h;
}

std::string half_problem(const Arm64PagingRegs& r, const Half& h) {
  if (h.disabled) return {};
  const char* name = h.upper ? "TTBR1" : "TTBR0";
  char b[200];
  const auto tcr = static_cast<unsigned long long>(r.tcr);
  if (!h.granule) {
    std::snprintf(b, sizeof b, "TCR_EL1 0x%llx: %s uses a reserved granule encoding (%s=%u)", tcr, name,
                  h.upper ? "TG1" : "TG0", h.tg);
    return b;
  }
  if (h.txsz < kMinTxSz || ((r.tcr >> 59) & 1)) {
    std::snprintf(b, sizeof b, "TCR_EL1 0x%llx: %s uses %u-bit virtual addresses%s; at most 48-bit ones are supported",
                  tcr, name, 64 - h.txsz, ((r.tcr >> 59) & 1) ? " (DS=1, LPA2)" : "");
    return b;
  }
  if (h.txsz > kMaxTxSz) {
    std::snprintf(b, sizeof b, "TCR_EL1 0x%llx: %s uses %u-bit virtual addresses; at least 25-bit ones are needed",
                  tcr, name, 64 - h.txsz);
    return b;
  }
  // With 64 KiB granules and IPS = 52 bits (FEAT_LPA), descriptor bits 15..12 hold
  // output address bits 51..48.
  if (h.granule == 16 && ((r.tcr >> 32) & 7) == 6) {
    std::snprintf(b, sizeof b,
                  "TCR_EL1 0x%llx: %s uses 52-bit physical addresses with a 64 KiB granule (IPS=6); at most "
                  "48-bit ones are supported",
                  tcr, name);
    return b;
  }
  return {};
}

}  // namespace

std::string arm64_paging_unsupported(const Arm64PagingRegs& r, Arm64Half only) {
  std::string s;
  if (only != Arm64Half::lower) s = half_problem(r, half(r, true));
  if (s.empty() && only != Arm64Half::upper) s = half_problem(r, half(r, false));
  return s;
}

Arm64PageWalker::Arm64PageWalker(PhysRead read, size_t cache_entries)
    : read_(std::move(read)), cache_(cache_entries) {}

bool Arm64PageWalker::walk(const Arm64PagingRegs& regs, uint64_t va, Translation& out) {
  // Bit 55 selects the half whether or not the top byte is ignored.
  const Half h = half(regs, (va >> 55) & 1);
  if (h.disabled || !half_problem(regs, h).empty()) return false;
  const unsigned vabits = 64 - h.txsz;
  // The bits above the address size must all equal bit 55 (up to bit 55 with TBI).
  const unsigned top = h.tbi ? 56 : 64;
  const uint64_t above = (top == 64 ? ~uint64_t{0} : ((uint64_t{1} << top) - 1)) & ~((uint64_t{1} << vabits) - 1);
  if ((va & above) != (h.upper ? above : 0)) return false;

  // A table fills one granule of 8-byte descriptors: each level resolves g - 3 bits
  // (9, 11, 13), the last one bits g.. of the address; the first level takes what is
  // left of the address, so it may be a shorter table.
  const unsigned g = h.granule, bits = g - 3;
  const unsigned levels = (vabits - g + bits - 1) / bits;  // 1..4 for the TxSZ range allowed
  const unsigned start = 4 - levels;
  const unsigned start_shift = g + bits * (3 - start);
  const uint64_t start_entries = uint64_t{1} << (vabits - start_shift);
  // Blocks: 4 KiB granules at levels 1 and 2 (1 GiB, 2 MiB); 16 KiB and 64 KiB ones at
  // level 2 only (32 MiB, 512 MiB: their level-1 blocks need LPA2 / FEAT_LPA).
  const unsigned first_block = g == 12 ? 1 : 2;
  const uint64_t oa = kOa48 & ~((uint64_t{1} << g) - 1);  // tables and pages are granule-aligned
  // TTBR's BADDR (bits 47..1), aligned to the start table, which is at least 64 bytes
  // (CnP and RES0 bits dropped).
  uint64_t table = h.ttbr & 0x0000fffffffffffeull & ~(std::max<uint64_t>(start_entries * 8, 64) - 1);

  bool ro = false, el0 = true, uxn = false, pxn = false;
  for (unsigned level = start; level <= 3; ++level) {
    const unsigned shift = g + bits * (3 - level);
    const uint64_t mask = level == start ? start_entries - 1 : (uint64_t{1} << bits) - 1;
    uint64_t e = 0;
    if (read_(table + ((va >> shift) & mask) * 8, &e, 8) != 8 || !(e & 1)) return false;
    const bool is_table = (e & 2) != 0;
    if (level == 3) {
      if (!is_table) return false;  // 0b01 at level 3 is reserved
    } else if (is_table) {
      ro |= (e >> 62) & 1;   // APTable[1]: no write below
      el0 &= !((e >> 61) & 1);  // APTable[0]: no EL0 access below
      uxn |= (e >> 60) & 1;
      pxn |= (e >> 59) & 1;
      table = e & oa;
      continue;
    } else if (level < first_block) {
      return false;  // no block at this level for this granule
    }
    ro |= (e >> 7) & 1;     // AP[2]
    el0 &= (e >> 6) & 1;    // AP[1]
    uxn |= (e >> 54) & 1;
    pxn |= (e >> 53) & 1;
    const uint64_t size = uint64_t{1} << shift;
    out.pa = (e & kOa48 & ~(size - 1)) | (va & (size - 1));
    out.page_size = size;
    out.writable = !ro;
    out.user = el0;
    out.nx = el0 ? uxn : pxn;  // execute-never for the level that owns the page
    return true;
  }
  return false;
}

bool Arm64PageWalker::translate(const Arm64PagingRegs& regs, uint64_t va, Translation& out) {
  const uint64_t ttbr = ((va >> 55) & 1) ? regs.ttbr1 : regs.ttbr0;
  if (cache_.lookup(va, ttbr, regs.tcr, out)) {
    ++stats_.hits;
    return true;
  }
  ++stats_.misses;
  if (!walk(regs, va, out)) {
    ++stats_.faults;
    return false;
  }
  cache_.store(va, ttbr, regs.tcr, out);
  return true;
}

size_t Arm64PageWalker::read_virt(const Arm64PagingRegs& regs, uint64_t va, void* buf, size_t len) {
  return read_paged(read_, va, buf, len, [&](uint64_t v, Translation& t) { return translate(regs, v, t); });
}

}  // namespace vmitrace::vmi

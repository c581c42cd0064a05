#include "vmi/arm64_paging.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace vmitrace::vmi {

namespace {

constexpr uint64_t kOa48 = 0x0000fffffffff000ull;  // output / next-table address, bits 47..12
constexpr unsigned kMinTxSz = 16, kMaxTxSz = 39;   // 48-bit .. 25-bit virtual addresses

struct Half {
  bool upper = false;
  unsigned txsz = 0;  // TCR_EL1.TnSZ
  unsigned tg = 0;    // TCR_EL1.TGn as encoded
  bool disabled = false, tbi = false;
  uint64_t ttbr = 0;
};

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
  return h;
}

// TGn encodings differ between the halves (TG0: 0 = 4K, 1 = 64K, 2 = 16K; TG1: 2 = 4K,
// 1 = 16K, 3 = 64K); "" means 4 KiB.
const char* other_granule(const Half& h) {
  if (h.upper) return h.tg == 2 ? "" : h.tg == 1 ? "16 KiB" : h.tg == 3 ? "64 KiB" : "reserved";
  return h.tg == 0 ? "" : h.tg == 1 ? "64 KiB" : h.tg == 2 ? "16 KiB" : "reserved";
}

std::string half_problem(const Arm64PagingRegs& r, const Half& h) {
  if (h.disabled) return {};
  const char* name = h.upper ? "TTBR1" : "TTBR0";
  const char* tg = h.upper ? "TG1" : "TG0";
  char b[200];
  const char* g = other_granule(h);
  if (*g) {
    std::snprintf(b, sizeof b, "TCR_EL1 0x%llx: %s uses a %s granule (%s=%u); only 4 KiB granules are supported",
                  static_cast<unsigned long long>(r.tcr), name, g, tg, h.tg);
    return b;
  }
  if (h.txsz < kMinTxSz || ((r.tcr >> 59) & 1)) {
    std::snprintf(b, sizeof b,
                  "TCR_EL1 0x%llx: %s uses %u-bit virtual addresses%s; at most 48-bit ones are supported",
                  static_cast<unsigned long long>(r.tcr), name, 64 - h.txsz, ((r.tcr >> 59) & 1) ? " (DS=1, LPA2)" : "");
    return b;
  }
  if (h.txsz > kMaxTxSz) {
    std::snprintf(b, sizeof b, "TCR_EL1 0x%llx: %s uses %u-bit virtual addresses; at least 25-bit ones are needed",
                  static_cast<unsigned long long>(r.tcr), name, 64 - h.txsz);
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

  const unsigned levels = (vabits - 12 + 8) / 9;  // 4 KiB granule: 9 bits per level
  const unsigned start = 4 - levels;
  const unsigned start_shift = 12 + 9 * (3 - start);
  const uint64_t start_entries = uint64_t{1} << (vabits - start_shift);
  // TTBR's BADDR (bits 47..1), aligned to the start table (CnP and RES0 bits dropped).
  uint64_t table = h.ttbr & 0x0000fffffffffffeull & ~(std::max<uint64_t>(start_entries * 8, 64) - 1);

  bool ro = false, el0 = true, uxn = false, pxn = false;
  for (unsigned level = start; level <= 3; ++level) {
    const unsigned shift = 12 + 9 * (3 - level);
    const uint64_t mask = level == start ? start_entries - 1 : 0x1ff;
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
      table = e & kOa48;
      continue;
    } else if (level == 0) {
      return false;  // no 512 GiB blocks with 4 KiB granules
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

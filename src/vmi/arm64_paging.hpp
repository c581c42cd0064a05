// The arm64 stage-1 page walker (EL1&0 regime) for backends that only give physical
// memory, next to the x86 one (x86_paging.hpp) and with the same contract: 4 KiB,
// 16 KiB and 64 KiB granules (TCR_EL1.TG0/TG1, each half its own), virtual addresses
// of up to 48 bits (the levels follow from TCR_EL1.TxSZ and the granule), the lower
// half through TTBR0_EL1 and the upper half (the kernel) through TTBR1_EL1, blocks
// (1 GiB and 2 MiB with 4 KiB granules, 32 MiB with 16 KiB, 512 MiB with 64 KiB),
// top-byte-ignore. 52-bit virtual addresses (TxSZ < 16, LPA2) and 52-bit physical
// ones with 64 KiB granules are refused (arm64_paging_unsupported names what was found).
// Descriptors come from the guest (hostile): a walk is at most four bounded reads,
// reserved encodings fail the translation, nothing loops.
//
// The same translation cache as the x86 walker (paging.hpp); the backend calls
// invalidate() whenever the guest resumes. Not thread-safe: one per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "vmi/paging.hpp"

namespace vmitrace::vmi {

// The system registers a translation depends on.
struct Arm64PagingRegs {
  uint64_t ttbr0 = 0, ttbr1 = 0, tcr = 0;
};

// "" when the walker handles these registers, else one line naming what it found:
// "TCR_EL1 0x...: TTBR1 uses 52-bit virtual addresses (DS=1, LPA2); at most 48-bit
// ones are supported". Only the halves in use (EPDn clear) are judged; `only`: just TTBR0's
// half (Arm64Half::lower) or TTBR1's (Arm64Half::upper).
enum class Arm64Half : uint8_t { both, lower, upper };
std::string arm64_paging_unsupported(const Arm64PagingRegs& r, Arm64Half only = Arm64Half::both);

class Arm64PageWalker {
 public:
  explicit Arm64PageWalker(PhysRead read, size_t cache_entries = 4096);
  // false when va is not mapped (or the tables are garbage / unreadable, or the
  // registers select a configuration the walker refuses).
  bool translate(const Arm64PagingRegs& regs, uint64_t va, Translation& out);
  // Reads len bytes at va, page by page; returns the bytes read from the start
  // (stops at the first unmapped or unreadable page). Never throws.
  size_t read_virt(const Arm64PagingRegs& regs, uint64_t va, void* buf, size_t len);
  void invalidate() { cache_.invalidate(); }
  const PagingStats& stats() const { return stats_; }

 private:
  bool walk(const Arm64PagingRegs& regs, uint64_t va, Translation& out);

  PhysRead read_;
  TranslationCache cache_;
  PagingStats stats_;
};

}  // namespace vmitrace::vmi

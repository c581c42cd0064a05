// The x86 page walker for backends that only give physical memory (the gdbstub in
// physical mode, a shared guest-RAM file): 32-bit (4 KiB and, with CR4.PSE, 4 MiB
// pages), PAE, and long mode with 4- or 5-level tables (2 MiB and 1 GiB pages).
// Page-table entries come from the guest (hostile): a walk is at most five bounded
// reads, reserved encodings fail the translation, nothing loops.
//
// A small direct-mapped translation cache (4 KiB granularity, paging.hpp) sits in
// front of the walk; the backend calls invalidate() whenever the guest resumes, since
// the guest may change its tables while it runs. Not thread-safe: one walker per thread.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmi/paging.hpp"

namespace vmitrace::vmi {

enum class PagingMode : uint8_t { off, legacy32, pae, long4, long5 };

// The control registers a translation depends on.
struct PagingRegs {
  uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
};
PagingMode paging_mode(const PagingRegs& r);

class PageWalker {
 public:
  explicit PageWalker(PhysRead read, size_t cache_entries = 4096);
  // false when va is not mapped (or the tables are garbage / unreadable).
  bool translate(const PagingRegs& regs, uint64_t va, Translation& out);
  // Reads len bytes at va, page by page; returns the bytes read from the start
  // (stops at the first unmapped or unreadable page). Never throws.
  size_t read_virt(const PagingRegs& regs, uint64_t va, void* buf, size_t len);
  // Forget every cached translation (the guest ran and may have changed its tables).
  void invalidate() { cache_.invalidate(); }
  const PagingStats& stats() const { return stats_; }

 private:
  bool walk(const PagingRegs& regs, PagingMode mode, uint64_t va, Translation& out);
  bool read_entry(uint64_t pa, unsigned size, uint64_t& e);

  PhysRead read_;
  TranslationCache cache_;
  PagingStats stats_;
};

}  // namespace vmitrace::vmi

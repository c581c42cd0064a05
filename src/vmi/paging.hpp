// What the page walkers (x86_paging.hpp, arm64_paging.hpp) share: the physical reader
// they are given, the translation they give, their statistics, the small
// direct-mapped translation cache (4 KiB granularity, also for larger pages: each 4 KiB
// piece of one is cached on its own) in front of each walk, and the
// page-by-page read of a virtual range.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace vmitrace::vmi {

// Reads up to len bytes of guest-physical memory at pa; returns the bytes read.
using PhysRead = std::function<size_t(uint64_t pa, void* buf, size_t len)>;

struct Translation {
  uint64_t pa = 0;         // physical address of va
  uint64_t page_size = 0;  // x86: 4 KiB, 2 MiB, 4 MiB, 1 GiB; arm64 also 16/64 KiB, 32/512 MiB
  bool writable = false, user = false, nx = false;
};

struct PagingStats {
  uint64_t hits = 0, misses = 0, faults = 0;
};

// Translations keyed by (virtual page, root table register, what else changes a walk's
// meaning). Entries die with invalidate(), which the backend calls whenever the guest
// resumes. Not thread-safe.
class TranslationCache {
 public:
  explicit TranslationCache(size_t entries) {
    size_t n = 1;
    while (n < entries && n < (1u << 20)) n <<= 1;
    slots_.resize(n);
  }
  bool lookup(uint64_t va, uint64_t root, uint64_t key, Translation& out) {
    const Slot& s = slot(va >> 12, root);
    if (s.gen != gen_ || s.vpage != va >> 12 || s.root != root || s.key != key) return false;
    out = Translation{s.ppage | (va & 0xfff), 4096, s.writable, s.user, s.nx};
    return true;
  }
  void store(uint64_t va, uint64_t root, uint64_t key, const Translation& t) {
    slot(va >> 12, root) = Slot{va >> 12, root, key, t.pa & ~uint64_t{0xfff}, gen_, t.writable, t.user, t.nx};
  }
  void invalidate() {
    if (++gen_ == 0) {  // wrapped: clear for real
      for (auto& s : slots_) s.gen = 0;
      gen_ = 1;
    }
  }

 private:
  struct Slot {
    uint64_t vpage = 0, root = 0, key = 0, ppage = 0;
    uint32_t gen = 0;  // valid when equal to gen_
    bool writable = false, user = false, nx = false;
  };
  Slot& slot(uint64_t vpage, uint64_t root) {
    return slots_[(vpage ^ (root >> 12) * 0x9e3779b1ull) & (slots_.size() - 1)];
  }
  std::vector<Slot> slots_;
  uint32_t gen_ = 1;
};

// Reads len bytes at va page by page through translate(va, Translation&); returns the
// bytes read from the start (stops at the first unmapped or unreadable page, and at
// the top of the address space).
template <typename Translate>
size_t read_paged(const PhysRead& read, uint64_t va, void* buf, size_t len, Translate&& translate) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    const uint64_t cur = va + done;
    if (cur < va) break;  // wrapped
    const size_t chunk = std::min<uint64_t>(len - done, 4096 - (cur & 4095));
    Translation t;
    if (!translate(cur, t)) break;
    const size_t n = read(t.pa, p + done, chunk);
    done += n;
    if (n != chunk) break;
  }
  return done;
}

}  // namespace vmitrace::vmi

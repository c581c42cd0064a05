// What the page-walker targets (fuzz_paging, fuzz_arm64_paging) share: guest-physical
// memory made of the input (repeated, so that every table entry points back into it;
// nothing is readable at or above 1 TiB), with a count of the reads, and the checks
// every translation must pass.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "vmi/paging.hpp"

namespace vmitrace::fuzz {

struct FuzzPhys {
  static constexpr uint64_t kTop = uint64_t{1} << 40;
  const uint8_t* mem;
  size_t len;  // > 0
  uint64_t reads = 0;
  vmi::PhysRead reader() {
    return [this](uint64_t pa, void* buf, size_t n) -> size_t {
      ++reads;
      if (pa >= kTop || n > kTop - pa) return 0;
      auto* out = static_cast<uint8_t*>(buf);
      for (size_t i = 0; i < n; ++i) out[i] = mem[(pa + i) % len];
      return n;
    };
  }
};

// A page of one of `sizes` that keeps va's offset inside it.
inline bool translation_ok(uint64_t va, const vmi::Translation& t, std::initializer_list<uint64_t> sizes) {
  bool size_ok = false;
  for (uint64_t s : sizes) size_ok |= t.page_size == s;
  return size_ok && (t.pa & (t.page_size - 1)) == (va & (t.page_size - 1));
}

}  // namespace vmitrace::fuzz

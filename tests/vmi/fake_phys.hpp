// Guest-physical memory for the page walker tests (x86 and arm64): a sparse map of
// 4 KiB pages; reads stop at the first missing page and are counted.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>

#include "vmi/paging.hpp"

namespace vmitrace::testing {

struct FakePhys {
  std::map<uint64_t, std::array<uint8_t, 4096>> pages;
  uint64_t reads = 0;
  size_t read(uint64_t pa, void* buf, size_t len) {
    ++reads;
    auto* out = static_cast<uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
      uint64_t a = pa + done;
      auto it = pages.find(a & ~0xfffull);
      if (it == pages.end()) break;
      size_t n = std::min<size_t>(len - done, 4096 - (a & 0xfff));
      std::memcpy(out + done, it->second.data() + (a & 0xfff), n);
      done += n;
    }
    return done;
  }
  void map_page(uint64_t pa) { pages[pa & ~0xfffull].fill(0); }
  void put64(uint64_t pa, uint64_t v) {
    if (!pages.count(pa & ~0xfffull)) map_page(pa);
    std::memcpy(pages[pa & ~0xfffull].data() + (pa & 0xfff), &v, 8);
  }
  void put32(uint64_t pa, uint32_t v) {
    if (!pages.count(pa & ~0xfffull)) map_page(pa);
    std::memcpy(pages[pa & ~0xfffull].data() + (pa & 0xfff), &v, 4);
  }
  void write(uint64_t pa, const char* s) {
    for (size_t i = 0; s[i]; ++i) {
      if (!pages.count((pa + i) & ~0xfffull)) map_page(pa + i);
      pages[(pa + i) & ~0xfffull][(pa + i) & 0xfff] = static_cast<uint8_t>(s[i]);
    }
  }
  vmi::PhysRead reader() {
    return [this](uint64_t pa, void* b, size_t l) { return read(pa, b, l); };
  }
};

}  // namespace vmitrace::testing

// A guest's virtual memory for the memory-route tests and fuzz target: 4 KiB pages
// that exist where something was written; reads stop at the first missing page, as
// a backend's read_virt stops at an unmapped one.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "profile/guest_image.hpp"

namespace vmitrace::test {

class SparseMemory {
 public:
  void write(uint64_t va, const void* data, size_t len) {
    auto* p = static_cast<const uint8_t*>(data);
    while (len > 0) {
      size_t in = size_t(va & 4095), n = std::min(len, 4096 - in);
      std::memcpy(pages_[va >> 12].data() + in, p, n);
      va += n, p += n, len -= n;
    }
  }
  void unmap(uint64_t va) { pages_.erase(va >> 12); }
  size_t read(uint64_t va, void* buf, size_t len) const {
    auto* out = static_cast<uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
      auto it = pages_.find((va + done) >> 12);
      if (it == pages_.end()) break;
      size_t in = size_t((va + done) & 4095), n = std::min(len - done, 4096 - in);
      std::memcpy(out + done, it->second.data() + in, n);
      done += n;
    }
    return done;
  }
  profile::GuestMemory guest(unsigned pointer_size = 8, uint64_t ip = 0) const {
    return {[this](uint64_t va, void* b, size_t n) { return read(va, b, n); }, pointer_size, ip};
  }

 private:
  std::unordered_map<uint64_t, std::array<uint8_t, 4096>> pages_;
};

}  // namespace vmitrace::test

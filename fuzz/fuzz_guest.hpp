// Guest memory made from a fuzz input, for the targets that run the OS layer and the
// syscalls plugin over hostile memory. Pages written by the target itself (the
// kernel banner, so that KASLR detection succeeds) come first; every other page is
// either unmapped (a "hole", chosen by a hash of the page number and a density from
// the input) or holds the input's bytes, wrapping around, so that pointers read from
// guest memory point back into fuzzer-controlled bytes.
#pragma once
#include <cstdint>
#include <cstring>

#include "fake_guest.hpp"  // tests/os_linux: FakeMemory, the synthetic kernel
#include "vmi/vmi.hpp"

namespace vmitrace::fuzz {

class FuzzVcpu : public vmi::Vcpu {
 public:
  FuzzVcpu(const testing::FakeMemory& overlay, const uint8_t* data, size_t size, uint8_t holes)
      : overlay_(overlay), data_(data), size_(size), holes_(holes & 63) {}
  unsigned index() const override { return 0; }
  bool read_reg(vmi::Reg r, uint64_t& out) override {
    out = regs[static_cast<size_t>(r)];
    return true;
  }
  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    auto* out = static_cast<uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
      const uint64_t cur = va + done;
      if (cur < va) break;  // wrapped past 2^64
      const size_t n = std::min<size_t>(len - done, 4096 - (cur & 4095));
      if (overlay_.read(cur, out + done, n) == n) {
        done += n;
        continue;
      }
      if (size_ == 0 || hole(cur >> 12)) break;
      for (size_t i = 0; i < n; ++i) out[done + i] = data_[(cur + i) % size_];
      done += n;
    }
    return done;
  }
  uint64_t timestamp_ns() override { return now_ns += 1000; }
  unsigned pointer_size() const override { return 8; }
  uint64_t& reg(vmi::Reg r) { return regs[static_cast<size_t>(r)]; }

  uint64_t regs[static_cast<size_t>(vmi::Reg::count)] = {};
  uint64_t now_ns = 1700000000000000000ull;

 private:
  bool hole(uint64_t page) const { return ((page * 0x9e3779b97f4a7c15ull) >> 58) < holes_; }
  const testing::FakeMemory& overlay_;
  const uint8_t* data_;
  size_t size_;
  uint8_t holes_;
};

// Reads little-endian values from the front of the input.
struct InputReader {
  const uint8_t* p;
  size_t n;
  uint64_t u64() {
    uint64_t v = 0;
    const size_t k = std::min<size_t>(8, n);
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
};

}  // namespace vmitrace::fuzz

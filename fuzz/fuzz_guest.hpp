// Guest memory made from a fuzz input, for the targets that run the OS layer and the
// syscalls plugin over hostile memory. Pages written by the target itself (the
// kernel banner, so that KASLR detection succeeds) come first; every other page is
// either unmapped (a "hole", chosen by a hash of the page number and a density from
// the input) or holds the input's bytes, wrapping around, so that pointers read from
// guest memory point back into fuzzer-controlled bytes.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fake_guest.hpp"  // tests/os_linux: FakeMemory, the synthetic kernel
#include "vmi/vmi.hpp"

namespace vmitrace::fuzz {

// The memory both kinds of guest share: a page's bytes come from a base (the
// target's own pages: base(va, out, n) returns n when it has them), else from the
// input, wrapping around, unless the page is a hole (a hash of the page number below
// a density; with base_holes, base pages can be holes too).
struct InputMemory {
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint8_t holes = 0;  // 0-63
  bool base_holes = false;

  bool hole(uint64_t page) const { return ((page * 0x9e3779b97f4a7c15ull) >> 58) < holes; }
  template <class Base>
  size_t read(uint64_t va, uint8_t* out, size_t len, Base&& base) const {
    size_t done = 0;
    while (done < len) {
      const uint64_t cur = va + done;
      if (cur < va) break;  // wrapped past 2^64
      const size_t n = std::min<size_t>(len - done, 4096 - (cur & 4095));
      const bool h = hole(cur >> 12);
      if (!(h && base_holes) && base(cur, out + done, n) == n) {
        done += n;
        continue;
      }
      if (size == 0 || h) break;
      for (size_t i = 0; i < n; ++i) out[done + i] = data[(cur + i) % size];
      done += n;
    }
    return done;
  }
};

class FuzzVcpu : public vmi::Vcpu {
 public:
  FuzzVcpu(const testing::FakeMemory& overlay, const uint8_t* data, size_t size, uint8_t holes)
      : overlay_(overlay), mem_{data, size, static_cast<uint8_t>(holes & 63)} {}
  unsigned index() const override { return 0; }
  bool read_reg(vmi::Reg r, uint64_t& out) override {
    out = regs[static_cast<size_t>(r)];
    return true;
  }
  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    return mem_.read(va, static_cast<uint8_t*>(buf), len,
                     [&](uint64_t a, uint8_t* p, size_t n) { return overlay_.read(a, p, n); });
  }
  uint64_t timestamp_ns() override { return now_ns += 1000; }
  unsigned pointer_size() const override { return 8; }
  uint64_t& reg(vmi::Reg r) { return regs[static_cast<size_t>(r)]; }

  uint64_t regs[static_cast<size_t>(vmi::Reg::count)] = {};
  uint64_t now_ns = 1700000000000000000ull;

 private:
  const testing::FakeMemory& overlay_;
  InputMemory mem_;
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

// Runs fn with stderr sent to /dev/null (start-up prints its hook plan and warnings on
// every input), unless VMITRACE_FUZZ_VERBOSE is set (to see them, or a sanitizer's
// report of a crash inside fn, when reproducing an input).
template <class F>
void quietly(F&& fn) {
  static const bool verbose = std::getenv("VMITRACE_FUZZ_VERBOSE") != nullptr;
  if (verbose) return fn();
  std::fflush(stderr);
  const int saved = ::dup(2), null = ::open("/dev/null", O_WRONLY);
  ::dup2(null, 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(null);
}

}  // namespace vmitrace::fuzz

// What the page-walker targets (fuzz_paging, fuzz_arm64_paging) share. An input is
// eight header words (the walker's registers, then virtual addresses) followed by
// guest-physical memory made of the rest of the input (repeated, so that every table
// entry points back into it; nothing is readable at or above 1 TiB). `walk_input` runs
// one input through a walker with the checks every translation must pass; `PagingSeed`
// lays a seed out in that shape.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "seed_writer.hpp"
#include "vmi/paging.hpp"

namespace vmitrace::fuzz {

constexpr size_t kHeaderWords = 8;
constexpr size_t kHeader = kHeaderWords * 8;

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

// A seed input: header words and table entries (little-endian) at guest-physical
// addresses, in memory of at least `phys_size` bytes.
class PagingSeed {
 public:
  explicit PagingSeed(size_t phys_size) : bytes_(kHeader + phys_size) {}
  void header(size_t word, uint64_t v) { put(word * 8, &v, sizeof v); }
  void entry(uint64_t pa, uint64_t v) { put(kHeader + pa, &v, sizeof v); }
  void entry32(uint64_t pa, uint32_t v) { put(kHeader + pa, &v, sizeof v); }
  void write(const char* dir, const char* name) const { write_seed(dir, name, bytes_.data(), bytes_.size()); }

 private:
  void put(size_t at, const void* v, size_t n) {
    if (bytes_.size() < at + n) bytes_.resize(at + n);
    std::memcpy(bytes_.data() + at, v, n);
  }
  std::vector<uint8_t> bytes_;
};

// One input through a Walker (vmi::PageWalker, vmi::Arm64PageWalker): the registers
// are regs_of(header); each virtual address in the header words from first_va on is
// translated and read, then again after next_mode(regs, header) switched the same
// tables to another mode. A translation must be a page of one of `page_sizes` keeping
// the address's offset and pass valid(regs, va, translation); a walk reads at most
// max_reads table entries; a read never returns more than asked. Anything else traps.
template <typename Walker, typename RegsOf, typename Valid, typename NextMode>
int walk_input(const uint8_t* data, size_t size, RegsOf regs_of, size_t first_va,
               std::initializer_list<uint64_t> page_sizes, uint64_t max_reads, Valid valid,
               NextMode next_mode) {
  if (size < kHeader + 8) return 0;
  uint64_t h[kHeaderWords];
  std::memcpy(h, data, sizeof h);
  FuzzPhys phys{data + kHeader, size - kHeader};
  Walker w(phys.reader(), 64);
  auto regs = regs_of(h);
  uint8_t buf[3 * 4096];
  for (int round = 0; round < 2; ++round) {
    for (size_t i = first_va; i < kHeaderWords; ++i) {
      const uint64_t va = h[i];
      vmi::Translation t;
      const uint64_t before = phys.reads;
      if (w.translate(regs, va, t) && !(translation_ok(va, t, page_sizes) && valid(regs, va, t)))
        __builtin_trap();
      if (phys.reads - before > max_reads) __builtin_trap();
      const size_t len = 1 + (va >> 3) % sizeof buf;
      if (w.read_virt(regs, va, buf, len) > len) __builtin_trap();
    }
    w.invalidate();
    next_mode(regs, h);
  }
  return 0;
}

}  // namespace vmitrace::fuzz

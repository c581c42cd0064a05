#include "profile/guest_image.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::profile {

namespace {

constexpr uint64_t kSlot = 2ull << 20;  // KASLR alignment and the large-page size
constexpr uint64_t kPage = 4096;
constexpr uint64_t kTextWindow64 = 0xffffffff80000000ull, kTextWindowEnd64 = 0xffffffffc0000000ull;
constexpr uint64_t kPageOffset32 = 0xc0000000ull, kTop32 = 1ull << 32;
constexpr uint64_t kMaxCopy32 = 96ull << 20;
// Debian's amd64 images are under 64 MiB mapped; a guest that maps the whole 1 GiB
// window does not get a 1 GiB copy.
constexpr uint64_t kMaxCopy64 = 256ull << 20;
constexpr uint64_t kChunk = 64 << 10;
// A run of unmapped pages this long is taken as a gap reaching the next 2 MiB slot
// (the kernel frees whole ranges: text end to rodata, rodata end to data, init).
constexpr unsigned kGapPages = 16;

bool mapped(const GuestMemory& mem, uint64_t va) {
  uint8_t b;
  return mem.read(va, &b, 1) == 1;
}

// arm64's kernel half with 48-bit VAs starts with the linear map; the image lies
// above it, in the vmalloc area.
constexpr uint64_t kArm64Vmalloc = 0xffff800000000000ull;
constexpr uint64_t kArm64Align = 64 << 10;
constexpr size_t kArm64Header = 64;

}  // namespace

std::optional<GuestImage> GuestImage::locate(const GuestMemory& mem) {
  if (mem.arm64) {
    if (mem.ip < kArm64Vmalloc) return std::nullopt;
    uint64_t base = mem.ip & ~(kArm64Align - 1);
    if (!mapped(mem, base)) return std::nullopt;
    for (uint64_t n = 0; n < kMaxCopy64 / kArm64Align && base - kArm64Align >= kArm64Vmalloc &&
                         mapped(mem, base - kArm64Align);
         ++n)
      base -= kArm64Align;
    uint8_t hdr[kArm64Header];
    if (mem.read(base, hdr, sizeof hdr) == sizeof hdr && std::memcmp(hdr + 0x38, "ARM\x64", 4) == 0) {
      uint64_t size = 0;
      std::memcpy(&size, hdr + 0x10, 8);  // image_size, little-endian; 0 on old kernels
      const bool sized = size >= kArm64Align;
      GuestImage img(mem, base, base + (sized ? std::min(size, kMaxCopy64) : kMaxCopy64), !sized);
      img.arm64_header_ = true;
      return img;
    }
    return GuestImage(mem, base, base + kMaxCopy64, true);
  }
  if (mem.pointer_size == 8) {
    std::optional<uint64_t> first, last;
    for (uint64_t va = kTextWindow64; va < kTextWindowEnd64; va += kSlot)
      if (mapped(mem, va)) {
        if (!first) first = va;
        last = va;
      }
    if (!first) return std::nullopt;
    return GuestImage(mem, *first, std::min(*last + kSlot, *first + kMaxCopy64), false);
  }
  if (mem.ip < kPageOffset32 || mem.ip >= kTop32) return std::nullopt;
  uint64_t base = mem.ip & ~(kSlot - 1);
  if (!mapped(mem, base)) return std::nullopt;
  return GuestImage(mem, base, std::min(kTop32, base + kMaxCopy32), true);
}

bool GuestImage::read_to(uint64_t va) {
  va = std::min(va, limit_);
  if (end() >= limit_) return false;
  unsigned misses = 0;
  while (end() < va) {
    uint64_t at = end();
    size_t want = size_t(std::min(kChunk, va - at));
    size_t old = bytes_.size();
    bytes_.resize(old + want);
    size_t got = std::min(mem_.read(at, bytes_.data() + old, want), want);
    bytes_read_ += got;
    if (got > 0) misses = 0;
    if (got == want) continue;
    // An unmapped page at at+got: zeros up to the next page, or after a run of them
    // up to the next slot.
    uint64_t hole = at + got;
    bool gap = ++misses >= kGapPages;
    if (gap && gap_ends_) {  // the end of the image: drop the zeros of the run
      limit_ = (hole & ~(kPage - 1)) - (kGapPages - 1) * kPage;
      limit_ = std::max(limit_, base_);
      bytes_.resize(size_t(limit_ - base_));
      return true;
    }
    uint64_t next = gap ? (hole | (kSlot - 1)) + 1 : (hole | (kPage - 1)) + 1;
    next = std::min(next, va);
    bytes_.resize(size_t(next - base_));
    std::fill(bytes_.begin() + long(old + got), bytes_.end(), uint8_t{0});
  }
  return true;
}

}  // namespace vmitrace::profile

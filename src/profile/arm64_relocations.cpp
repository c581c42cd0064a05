#include "profile/arm64_relocations.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::profile {

namespace {

constexpr uint64_t kRelative = 1027;  // R_AARCH64_RELATIVE
constexpr uint64_t kPage = 4096;
// Entries checked per candidate offset: spread over the whole table.
constexpr size_t kSamples = 512;

uint64_t le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // arm64 kernels handled here are little-endian, as the host
  return v;
}

}  // namespace

uint64_t RelativeRun::r_offset(const uint8_t* d, size_t i) const { return le64(d + at + i * kRelaEntry); }
uint64_t RelativeRun::r_addend(const uint8_t* d, size_t i) const { return le64(d + at + i * kRelaEntry + 16); }

RelativeRun longest_relative_run(const uint8_t* d, size_t n) {
  uint8_t info[8];
  for (int i = 0; i < 8; ++i) info[i] = uint8_t(kRelative >> (8 * i));
  RelativeRun best;
  for (size_t pos = 8; pos + 16 <= n;) {
    const void* hit = memmem(d + pos, n - pos, info, 8);
    if (!hit) break;
    const size_t at = size_t(static_cast<const uint8_t*>(hit) - d);
    if (at % 8 != 0) {
      pos = at + 1;
      continue;
    }
    const size_t start = at - 8;
    size_t len = 0;
    while (start + (len + 1) * kRelaEntry <= n && le64(d + start + len * kRelaEntry + 8) == kRelative) ++len;
    if (len > best.count) best = {start, len};
    pos = start + std::max<size_t>(len, 1) * kRelaEntry + 8;
  }
  if (best.count < kMinRelativeRun) return {};
  return best;
}

std::optional<uint64_t> kaslr_offset_from_relocations(const uint8_t* d, size_t n, uint64_t base,
                                                      const RelativeRun& run) {
  if (!run.count || n < 8 || run.at + run.count * kRelaEntry > n) return std::nullopt;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < run.count; ++i) lo = std::min(lo, run.r_offset(d, i)), hi = std::max(hi, run.r_offset(d, i));
  // Every target lands inside the copy: offset in [base - lo, base + n - 8 - hi], and
  // KASLR only moves the image up.
  if (hi - lo > n - 8 || base + (n - 8) < hi) return std::nullopt;
  const uint64_t first = base > lo ? (base - lo + kPage - 1) & ~(kPage - 1) : 0;
  const uint64_t last = base + (n - 8) - hi;
  const size_t step = std::max<size_t>(run.count / kSamples, 1);
  std::optional<uint64_t> found;
  for (uint64_t off = first; off <= last; off += kPage) {
    size_t checked = 0;
    bool ok = true;
    for (size_t i = 0; i < run.count && ok; i += step) {
      const uint64_t at = run.r_offset(d, i) + off - base;
      const uint64_t v = le64(d + at);
      if (v == 0) continue;  // an unmapped page of the copy
      ok = v == run.r_addend(d, i) + off;
      ++checked;
    }
    if (ok && checked >= kMinRelativeRun) {
      if (found) return std::nullopt;  // two offsets fit: no way to tell
      found = off;
    }
  }
  return found;
}

}  // namespace vmitrace::profile

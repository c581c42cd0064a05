#include "vmi/field_windows.hpp"

#include <cstring>
#include <utility>

namespace vmitrace::vmi {

FieldWindows plan_field_windows(std::span<const FieldSpan> fields, uint32_t gap, uint32_t max_window) {
  FieldSpan f[8];
  unsigned n = 0;
  for (const FieldSpan& x : fields)
    if (x.offset != kNoField && x.length > 0 && n < 8) f[n++] = x;
  // Insertion sort of at most eight: std::sort here trips GCC 12's -Warray-bounds.
  for (unsigned i = 1; i < n; ++i)
    for (unsigned j = i; j > 0 && f[j].offset < f[j - 1].offset; --j) std::swap(f[j], f[j - 1]);
  FieldWindows w;
  uint32_t total = 0;
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t fend = uint64_t{f[i].offset} + f[i].length;
    if (w.count) {
      auto& last = w.win[w.count - 1];
      const uint64_t end = uint64_t{last.offset} + last.length;
      const uint32_t added = fend > end ? static_cast<uint32_t>(fend - end) : 0;
      if (f[i].offset <= end + gap && last.length + added <= max_window &&
          total + added <= FieldWindows::kMaxBytes) {
        last.length += added;
        total += added;
        continue;
      }
    }
    if (w.count < FieldWindows::kMax && f[i].length <= max_window &&
        total + f[i].length <= FieldWindows::kMaxBytes) {
      w.win[w.count++] = {f[i].offset, f[i].length};
      total += f[i].length;
    }
  }
  return w;
}

WindowedRead::WindowedRead(Vcpu& cpu, uint64_t base, const FieldWindows& w) : cpu_(cpu), base_(base), w_(w) {
  uint32_t at = 0;
  for (unsigned i = 0; i < w_.count; ++i) {
    got_[i] = static_cast<uint32_t>(cpu_.read_virt(base_ + w_.win[i].offset, buf_ + at, w_.win[i].length));
    at += w_.win[i].length;
  }
}

// Not in what the windows read (kNoField, a field no window holds, or one a short
// read missed): this field alone, into a scratch buffer so that a failed read
// leaves out untouched.
bool WindowedRead::get_alone(uint32_t offset, void* out, uint32_t len) {
  if (offset == kNoField || len == 0 || len > 64) return false;
  uint8_t tmp[64];
  if (cpu_.read_virt(base_ + offset, tmp, len) != len) return false;
  std::memcpy(out, tmp, len);
  return true;
}

}  // namespace vmitrace::vmi

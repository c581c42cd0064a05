// The fields of one guest structure read per event (a Linux task_struct, a Windows
// KTHREAD / EPROCESS / TOKEN), grouped once from the profile's offsets into a few
// contiguous windows so that one guest read fetches several fields: each guest read
// walks the guest's page tables whatever its length, so a few hundred extra bytes
// are cheaper than a second read.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>

#include "vmi/vmi.hpp"

namespace vmitrace::vmi {

inline constexpr uint32_t kNoField = UINT32_MAX;  // offset of a field the profile lacks

struct FieldSpan {
  uint32_t offset = kNoField, length = 0;
};

struct FieldWindows {
  static constexpr unsigned kMax = 6;
  static constexpr uint32_t kMaxBytes = 1024;  // all windows together
  struct Window { uint32_t offset = 0, length = 0; };
  Window win[kMax];
  unsigned count = 0;
};

// Sorts the fields (kNoField ones skipped, at most 8) and merges a field into the
// previous window when it starts at most `gap` bytes after that window's end and the
// window stays within `max_window` bytes. A field that fits no window is left out:
// WindowedRead reads it alone.
FieldWindows plan_field_windows(std::span<const FieldSpan> fields, uint32_t gap, uint32_t max_window);

// One structure's windows read at `base`, one bounded read each, on the vCPU thread
// (no allocation). A field is served from them only when all its bytes were read;
// otherwise (a window cut short by an unmapped page, a field outside every window)
// get() reads that field alone, so a partial window never yields stale bytes.
class WindowedRead {
 public:
  WindowedRead(Vcpu& cpu, uint64_t base, const FieldWindows& w);
  // Copies len bytes of the field at `offset` into out; false when they cannot all
  // be read (or offset is kNoField). len <= 64. Inline: called per field per event.
  bool get(uint32_t offset, void* out, uint32_t len) {
    uint32_t at = 0;
    for (unsigned i = 0; i < w_.count; ++i) {
      const auto& win = w_.win[i];
      if (offset >= win.offset && uint64_t{offset} + len <= uint64_t{win.offset} + got_[i]) {
        std::memcpy(out, buf_ + at + (offset - win.offset), len);
        return true;
      }
      at += win.length;
    }
    return get_alone(offset, out, len);
  }
  // A little-endian value of `size` bytes (1, 2, 4 or 8), zero-extended.
  bool get_uint(uint32_t offset, unsigned size, uint64_t& out) {
    uint8_t b[8] = {};
    if (size == 0 || size > 8 || !get(offset, b, size)) return false;
    std::memcpy(&out, b, 8);  // x86 guests and hosts: little-endian
    return true;
  }

 private:
  bool get_alone(uint32_t offset, void* out, uint32_t len);

  Vcpu& cpu_;
  uint64_t base_;
  const FieldWindows& w_;
  uint32_t got_[FieldWindows::kMax];  // bytes read of each window
  uint8_t buf_[FieldWindows::kMaxBytes];  // windows back to back (not zeroed: got_ bounds use)
};

}  // namespace vmitrace::vmi

// The running kernel's image in guest memory, found without a profile and copied in
// bounded chunks as far as the caller needs it.
//   x86-64: the image is what is mapped in the kernel-text window
//           [0xffffffff80000000, 0xffffffffc0000000): the kernel unmaps the rest of
//           the window at boot, so the first and last mapped 2 MiB slots bound it
//           (at most 256 MiB).
//   i386:   the window is the direct map of all low memory, so the copy starts at
//           the 2 MiB boundary below a kernel-mode instruction pointer (kernel text;
//           rodata, which holds kallsyms, follows it) and is at most 96 MiB; it
//           ends at the first unmapped run (the direct map has no holes in the image).
//   arm64:  KASLR puts the image anywhere in the vmalloc area, so the copy starts at
//           the lowest 64 KiB step (the image's alignment) mapped without a break
//           below a kernel-mode pc: _text, whose Image header ("ARM\x64" at 0x38)
//           gives the image size, or _stext once the kernel unmapped the header
//           (then the copy ends at the first unmapped run).
// Unmapped pages inside (init memory freed at boot, the gaps between text, rodata
// and data) read as zeros.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace vmitrace::profile {

// Reads guest-virtual memory in the kernel's address space; returns the bytes read
// from the start (stops at an unmapped page); never throws for a bad address.
using GuestRead = std::function<size_t(uint64_t va, void* buf, size_t len)>;

struct GuestMemory {
  GuestRead read;
  unsigned pointer_size = 8;  // the guest kernel's: 8 (x86-64, arm64) or 4 (i386)
  uint64_t ip = 0;            // a kernel-mode instruction pointer (used on i386 and arm64)
  bool arm64 = false;         // an arm64 vCPU
};

class GuestImage {
 public:
  // nullopt when nothing is mapped where the kernel must be (a vCPU on user page
  // tables under KPTI, a guest that is not Linux).
  static std::optional<GuestImage> locate(const GuestMemory& mem);

  uint64_t base() const { return base_; }           // VA of bytes()[0]
  uint64_t window_end() const { return limit_; }    // the image ends at or before this VA
  uint64_t end() const { return base_ + bytes_.size(); }  // copied so far
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Copies on up to `va` (clamped to the window). False when the window was
  // already copied whole.
  bool read_to(uint64_t va);
  uint64_t bytes_read() const { return bytes_read_; }  // mapped bytes read so far
  bool at_arm64_header() const { return arm64_header_; }  // arm64: base() is _text

 private:
  GuestImage(const GuestMemory& mem, uint64_t base, uint64_t limit, bool gap_ends)
      : mem_(mem), base_(base), limit_(limit), gap_ends_(gap_ends) {}
  GuestMemory mem_;
  uint64_t base_, limit_;
  bool gap_ends_;  // a run of unmapped pages ends the image (i386) or is skipped (x86-64)
  bool arm64_header_ = false;
  std::vector<uint8_t> bytes_;
  uint64_t bytes_read_ = 0;
};

}  // namespace vmitrace::profile

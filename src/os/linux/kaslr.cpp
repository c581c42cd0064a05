// KASLR: the kernel text is moved by a 2 MiB-aligned slide inside the 1 GiB
// kernel-image window (x86-64: 0xffffffff80000000 .. 0xffffffffc0000000). We try each
// slide and look for linux_banner there; the full banner then proves that the
// profile describes this very kernel. arm64 has its own candidates (arm64.cpp).
#include <cstring>

#include "os/linux/kernel.hpp"

namespace vmitrace::oslinux {
namespace {

constexpr uint64_t kAlign = 2ull << 20;
constexpr char kProbe[] = "Linux version ";
constexpr size_t kProbeLen = sizeof(kProbe) - 1;
constexpr unsigned kMaxMisses = 8;  // readable scans without a banner before giving up

// One line, printable, bounded: for the mismatch message.
std::string excerpt(const char* s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && out.size() < 100; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0 || c == '\n') break;
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace

bool LinuxKernel::banner_at(vmi::Vcpu& cpu, uint64_t slide, BannerScan& scan) {
  const uint64_t va = banner_link_ + slide;
  char probe[kProbeLen];
  const size_t n = cpu.read_virt(va, probe, kProbeLen);
  if (n > 0) scan.any_readable = true;
  if (n != kProbeLen || std::memcmp(probe, kProbe, kProbeLen) != 0) return false;
  scan.prefix_hit = true;
  if (banner_.empty()) return true;  // the profile has no banner text: the prefix must do
  char buf[1024];
  const size_t want = banner_.size();
  const size_t got = cpu.read_virt(va, buf, want);
  if (got == want && std::memcmp(buf, banner_.data(), want) == 0) return true;
  if (scan.guest_banner.empty()) scan.guest_banner = excerpt(buf, got);
  return false;
}

LinuxKernel::Locate LinuxKernel::locate(vmi::Vcpu& cpu, std::string* error) {
  if (located_) return Locate::found;
  BannerScan scan;
  bool found = false;
  uint64_t slide = 0;
  if (arch_ == Arch::arm64) {
    if (const std::string why = arm64_space_problem(cpu); !why.empty()) {
      if (error) *error = what_ + ": " + why;
      return Locate::mismatch;
    }
    found = scan_arm64(cpu, scan, slide);
  } else {
    // Highest address the kernel text may start at, and the last slide to try.
    const uint64_t top = ptr_size_ == 8 ? 0xffffffffc0000000ull : 0xffffffffull;
    const uint64_t window = ptr_size_ == 8 ? (1ull << 30) : (512ull << 20);
    for (uint64_t s = 0; s < window; s += kAlign) {
      if (text_link_ + s >= top || banner_link_ + s < banner_link_) break;
      if (banner_at(cpu, s, scan)) {
        found = true;
        slide = s;
        break;
      }
    }
  }
  if (found) {
    set_slide(slide);
    return Locate::found;
  }

  if (scan.prefix_hit) {
    if (error)
      *error = what_ + ": profile does not match the running kernel: the guest runs \"" +
               scan.guest_banner + "\", the profile is for \"" +
               excerpt(banner_.data(), banner_.size()) + "\"";
    return Locate::mismatch;
  }
  if (scan.any_readable && ++misses_ >= kMaxMisses) {
    if (error)
      *error = what_ +
               ": profile does not match the running kernel: linux_banner not found at any "
               "KASLR slide";
    return Locate::mismatch;
  }
  return Locate::retry;
}

}  // namespace vmitrace::oslinux

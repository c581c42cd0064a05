// KASLR: the kernel text is moved by a 2 MiB-aligned slide inside the 1 GiB
// kernel-image window (x86-64: 0xffffffff80000000 .. 0xffffffffc0000000). We try each
// slide and look for linux_banner there; the full banner then proves that the
// profile describes this very kernel.
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

LinuxKernel::Locate LinuxKernel::locate(vmi::Vcpu& cpu, std::string* error) {
  if (located_) return Locate::found;
  // Highest address the kernel text may start at, and the last slide to try.
  const uint64_t top = ptr_size_ == 8 ? 0xffffffffc0000000ull : 0xffffffffull;
  const uint64_t window = ptr_size_ == 8 ? (1ull << 30) : (512ull << 20);
  bool any_readable = false;
  bool prefix_hit = false;
  std::string guest_banner;
  char buf[1024];

  for (uint64_t slide = 0; slide < window; slide += kAlign) {
    if (text_link_ + slide >= top || banner_link_ + slide < banner_link_) break;
    const uint64_t va = banner_link_ + slide;
    char probe[kProbeLen];
    size_t n = cpu.read_virt(va, probe, kProbeLen);
    if (n > 0) any_readable = true;
    if (n != kProbeLen || std::memcmp(probe, kProbe, kProbeLen) != 0) continue;
    prefix_hit = true;
    if (banner_.empty()) {  // the profile has no banner text: the prefix must do
      set_slide(slide);
      return Locate::found;
    }
    size_t want = banner_.size();
    size_t got = cpu.read_virt(va, buf, want);
    if (got == want && std::memcmp(buf, banner_.data(), want) == 0) {
      set_slide(slide);
      return Locate::found;
    }
    if (guest_banner.empty()) guest_banner = excerpt(buf, got);
  }

  if (prefix_hit) {
    if (error)
      *error = what_ + ": profile does not match the running kernel: the guest runs \"" +
               guest_banner + "\", the profile is for \"" +
               excerpt(banner_.data(), banner_.size()) + "\"";
    return Locate::mismatch;
  }
  if (any_readable && ++misses_ >= kMaxMisses) {
    if (error)
      *error = what_ +
               ": profile does not match the running kernel: linux_banner not found at any "
               "KASLR slide";
    return Locate::mismatch;
  }
  return Locate::retry;
}

}  // namespace vmitrace::oslinux

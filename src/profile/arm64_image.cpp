#include "profile/arm64_image.hpp"

#include "profile/arm64_relocations.hpp"

#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"

namespace vmitrace::profile {

namespace {

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return uint32_t(le16(p)) | uint32_t(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

constexpr size_t kHeader = 64;
// A kernel Image is far below this; the bound stops a hostile payload from eating memory.
constexpr uint64_t kMaxImage = 1ull << 30;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

// The EFI stub's PE/COFF header (offset at 0x3c, "PE\0\0"): the end of the last
// section's raw data is how long the file must be; .text starts at _stext. An
// Image without the stub ("MZ" absent) says neither.
struct PeFacts {
  uint64_t raw_end = 0;
  std::optional<uint64_t> text_va;
};
std::optional<PeFacts> pe_facts(const std::vector<uint8_t>& img, const std::string& what) {
  const uint8_t* d = img.data();
  size_t n = img.size();
  if (d[0] != 'M' || d[1] != 'Z') return std::nullopt;
  uint64_t pe = le32(d + 0x3c);
  if (pe > n || n - pe < 24 || std::memcmp(d + pe, "PE\0\0", 4) != 0)
    throw Error(what, "truncated or damaged arm64 Image (no PE header at " + hex(pe) + " for its EFI stub)");
  uint64_t sections = le16(d + pe + 6), optional = le16(d + pe + 20);
  uint64_t table = pe + 24 + optional;
  if (table > n || (n - table) / 40 < sections)
    throw Error(what, "truncated arm64 Image (PE section table cut short)");
  PeFacts f;
  for (uint64_t i = 0; i < sections; ++i) {
    const uint8_t* s = d + table + 40 * i;
    uint64_t end = uint64_t(le32(s + 20)) + le32(s + 16);  // PointerToRawData + SizeOfRawData
    f.raw_end = std::max(f.raw_end, end);
    if (std::memcmp(s, ".text\0\0\0", 8) == 0) f.text_va = le32(s + 12);  // VirtualAddress
  }
  return f;
}

// The R_AARCH64_RELATIVE table (arm64_relocations.hpp). r_offset is a link-time
// address; which one is offset 0 (_text) the table does not say: it is the
// 64 KiB-aligned base that puts every entry inside the image onto a zero in the
// file (the linker left the targets empty), checked on a sample of entries.
std::vector<std::pair<uint64_t, uint64_t>> relative_relocations(const std::vector<uint8_t>& img, uint64_t image_size) {
  constexpr uint64_t kEntry = kRelaEntry, kMinRun = kMinRelativeRun, kAlign = 0x10000;
  const uint8_t* d = img.data();
  const size_t n = img.size();
  const RelativeRun run = longest_relative_run(d, n);
  const uint64_t best = run.at, best_len = run.count;
  if (best_len < kMinRun) return {};
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint64_t i = 0; i < best_len; ++i) {
    uint64_t r = le64(d + best + i * kEntry);
    lo = std::min(lo, r), hi = std::max(hi, r);
  }
  if (image_size == 0 || hi - lo >= image_size) return {};
  // Every candidate base puts all targets inside [base, base + image_size).
  const uint64_t step = std::max<uint64_t>(best_len / 512, 1);
  std::optional<uint64_t> found;
  for (uint64_t base = lo & ~(kAlign - 1); base + image_size > hi && base <= lo; base -= kAlign) {
    bool ok = true;
    uint64_t checked = 0;
    for (uint64_t i = 0; i < best_len && ok; i += step) {
      uint64_t off = le64(d + best + i * kEntry) - base;
      if (off + 8 > n) continue;  // in .bss: not in the file
      ok = le64(d + off) == 0 && !(off >= best && off < best + best_len * kEntry);
      ++checked;
    }
    if (ok && checked >= kMinRun) {
      if (found) return {};  // two bases fit: no way to tell
      found = base;
    }
    if (base < kAlign) break;
  }
  if (!found) return {};
  std::vector<std::pair<uint64_t, uint64_t>> out;
  out.reserve(best_len);
  for (uint64_t i = 0; i < best_len; ++i)
    out.emplace_back(le64(d + best + i * kEntry) - *found, le64(d + best + i * kEntry + 16));
  std::sort(out.begin(), out.end());
  return out;
}

Arm64Image check_image(std::vector<uint8_t> img, const std::string& what) {
  if (img.size() < kHeader || !looks_like_arm64_image(img.data(), img.size()))
    throw Error(what, "not an arm64 Image (no \"ARM\\x64\" magic at 0x38)");
  const uint64_t flags = le64(img.data() + 0x18);
  if (flags & 1) throw Error(what, "big-endian arm64 Image: only little-endian kernels are supported");
  Arm64Image r;
  static const unsigned kPage[4] = {0, 4096, 16384, 65536};
  r.page_size = kPage[(flags >> 1) & 3];
  if (auto pe = pe_facts(img, what)) {
    if (pe->raw_end > img.size())
      throw Error(what, "truncated arm64 Image (its PE header describes " + std::to_string(pe->raw_end) +
                            " bytes, the file has " + std::to_string(img.size()) + ")");
    if (pe->text_va && *pe->text_va < img.size()) r.stext_offset = pe->text_va;
  }
  r.relocated = relative_relocations(img, le64(img.data() + 0x10));
  r.bytes = std::move(img);
  return r;
}

}  // namespace

std::optional<uint64_t> Arm64Image::pointer_at(uint64_t offset) const {
  auto it = std::lower_bound(relocated.begin(), relocated.end(), std::make_pair(offset, uint64_t{0}));
  if (it == relocated.end() || it->first != offset) return std::nullopt;
  return it->second;
}

bool looks_like_arm64_image(const uint8_t* d, size_t n) {
  return n >= kHeader && std::memcmp(d + 0x38, "ARM\x64", 4) == 0;
}

bool looks_like_efi_zboot(const uint8_t* d, size_t n) {
  return n >= kHeader && d[0] == 'M' && d[1] == 'Z' && std::memcmp(d + 4, "zimg", 4) == 0;
}

Arm64Image read_arm64_image(std::vector<uint8_t> raw, const std::string& what) {
  if (looks_like_arm64_image(raw.data(), raw.size())) return check_image(std::move(raw), what);
  if (looks_like_efi_zboot(raw.data(), raw.size())) {
    uint64_t off = le32(raw.data() + 8), len = le32(raw.data() + 12);
    char type[33] = {};
    std::memcpy(type, raw.data() + 0x18, 32);
    for (char& c : type)
      if (c && (c < 0x20 || c > 0x7e)) c = '?';
    if (len == 0) throw Error(what, "EFI zboot image with an empty payload");
    if (off > raw.size() || len > raw.size() - off)
      throw Error(what, "truncated EFI zboot image (payload at " + std::to_string(off) + "+" + std::to_string(len) +
                            " extends past the end of the " + std::to_string(raw.size()) + "-byte file)");
    Compression c = sniff_compression(raw.data() + off, len);
    if (c == Compression::none)
      throw Error(what, std::string("EFI zboot payload: unknown compression (header says \"") + type + "\")");
    return check_image(decompress(raw.data() + off, len, c, what + " (EFI zboot payload)", kMaxImage),
                       what + " (EFI zboot payload)");
  }
  return check_image(std::move(raw), what);
}

}  // namespace vmitrace::profile

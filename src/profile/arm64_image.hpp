// Debian's arm64 vmlinuz: the kernel's flat `Image` (Documentation/arch/arm64/
// booting.rst: a 64-byte header, magic "ARM\x64" at 0x38, flags at 0x18; with the
// EFI stub also a PE/COFF header whose .text section starts where _stext is),
// stored as is (bookworm's kernels), compressed (gzip, older releases) or inside an
// EFI zboot PE ("zimg" at 4: payload offset/size at 8/12, compression name at 0x18).
// The Image has no section table: offset 0 is _text, .BTF and the kallsyms tables
// are found by their contents. A relocatable kernel linked with
// --no-apply-dynamic-relocs (Debian's) holds zero in every absolute pointer; the
// link-time values are the addends of its R_AARCH64_RELATIVE table (.rela.dyn,
// inside the Image), applied at boot.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmitrace::profile {

bool looks_like_arm64_image(const uint8_t* data, size_t size);
bool looks_like_efi_zboot(const uint8_t* data, size_t size);

struct Arm64Image {
  std::vector<uint8_t> bytes;          // the flat Image: file offset = address - _text
  unsigned page_size = 0;              // 4096, 16384, 65536; 0 = the header does not say
  std::optional<uint64_t> stext_offset;  // where _stext lies (the PE .text section), when known
  // The link-time value of the pointer at a file offset, from the RELA table
  // (sorted by offset; empty when the Image has none or it did not check out).
  std::vector<std::pair<uint64_t, uint64_t>> relocated;
  std::optional<uint64_t> pointer_at(uint64_t offset) const;
};

// The flat Image in `raw`: an Image (a compressed one is decompressed by the caller,
// like any compressed vmlinux) or an EFI zboot PE around a compressed Image.
// Throws Error(what, problem): truncated or inconsistent headers, a big-endian
// kernel, an unknown or corrupt payload compression, a payload that is no arm64 Image.
Arm64Image read_arm64_image(std::vector<uint8_t> raw, const std::string& what);

}  // namespace vmitrace::profile

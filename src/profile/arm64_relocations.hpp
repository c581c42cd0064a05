// arm64 kernels' R_AARCH64_RELATIVE table (.rela.dyn, 24-byte Elf64_Rela entries
// with r_info 1027), inside the Image. At boot the kernel writes r_addend + offset at
// r_offset + offset for every entry, offset being its KASLR offset (the table lies in
// init memory, which the kernel frees just before it starts init). Read both ways:
// in an Image file the targets are still zero (arm64_image.cpp: which offset is
// _text), in guest memory they hold the relocated pointers (this file: the offset).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

namespace vmitrace::profile {

struct RelativeRun {
  size_t at = 0;     // offset of the first entry in the bytes
  size_t count = 0;  // entries; 0: no run of at least kMinRelativeRun
  uint64_t r_offset(const uint8_t* d, size_t i) const;
  uint64_t r_addend(const uint8_t* d, size_t i) const;
};
inline constexpr size_t kMinRelativeRun = 64;
inline constexpr size_t kRelaEntry = 24;

// The longest run of R_AARCH64_RELATIVE entries in d[0..n), 8-byte aligned.
RelativeRun longest_relative_run(const uint8_t* d, size_t n);

// The KASLR offset of a running kernel from a copy of its image (d[0..n), at
// guest-virtual `base`, unmapped pages zero) and the table in it (longest_relative_run):
// the one 4 KiB-aligned offset that puts the addend + offset at each sampled entry's
// target, link-time r_offset + offset, for at least kMinRelativeRun targets inside the
// copy. nullopt: no table (freed init memory, another architecture), or no offset or
// several fit.
std::optional<uint64_t> kaslr_offset_from_relocations(const uint8_t* d, size_t n, uint64_t base,
                                                      const RelativeRun& run);

}  // namespace vmitrace::profile

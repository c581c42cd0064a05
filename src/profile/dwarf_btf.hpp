// Kernel types from DWARF, for kernels built without CONFIG_DEBUG_INFO_BTF (e.g.
// Debian's i386 686-pae): the debug vmlinux of the -dbg package is checked against
// the image (build id, else banner), then pahole (dwarves) converts its DWARF into
// raw BTF, which the BTF reader turns into the ISF model as for any other kernel.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "profile/elf.hpp"

namespace vmitrace::profile {

// The GNU build id (NT_GNU_BUILD_ID in .notes / .note.gnu.build-id) as lower-case
// hex, if the ELF has one.
std::optional<std::string> elf_build_id(const uint8_t* data, const ElfImage& elf);

// Checks that the debug ELF has complete DWARF (.debug_info, .debug_abbrev, ...)
// and runs `pahole --btf_encode_detached` on it; returns the raw BTF bytes.
// Throws Error(debug_path, problem) on a missing tool, missing/truncated DWARF or a
// pahole failure (its first error line).
std::vector<uint8_t> btf_from_dwarf(const std::string& debug_path, const ElfImage& elf);

}  // namespace vmitrace::profile

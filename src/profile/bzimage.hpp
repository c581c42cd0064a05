// x86 bzImage (vmlinuz): the setup header tells where the compressed vmlinux
// payload is (Documentation/arch/x86/boot.rst: setup_sects at 0x1F1, "HdrS" at
// 0x202, payload_offset/payload_length at 0x248/0x24C, boot protocol >= 2.08).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vmitrace::profile {

bool looks_like_bzimage(const uint8_t* data, size_t size);

// Returns the decompressed payload (normally the vmlinux ELF). Throws
// Error(what, problem) for a truncated header/payload or an unknown compression.
std::vector<uint8_t> bzimage_payload(const std::vector<uint8_t>& image, const std::string& what);

}  // namespace vmitrace::profile

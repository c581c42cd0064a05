// A raw BTF blob (struct btf_header + types + strings) found in bytes that did not
// say where it is: the .BTF section as the running kernel keeps it mapped (what
// /sys/kernel/btf/vmlinux serves). Only the header is checked here; libbpf checks
// the rest when the types are loaded.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

namespace vmitrace::profile {

// Size of the BTF blob whose header is at data[0] (avail bytes readable there), or
// nullopt when the header is not a consistent BTF header: magic 0xeB9F, version 1,
// hdr_len 24..256, type and string sections inside the blob, the string section
// starting with a NUL.
std::optional<size_t> btf_blob_size(const uint8_t* data, size_t avail);

// The blob size the header at hdr[0..24) declares (same header checks, contents
// not looked at): how much to read before calling btf_blob_size.
std::optional<size_t> btf_declared_size(const uint8_t* hdr, size_t avail);

struct BtfBlob {
  size_t offset = 0, size = 0;
};
// The first consistent BTF header in [data, data+size) (4-byte aligned, as the
// linker places .BTF), with its blob wholly inside.
std::optional<BtfBlob> find_btf_blob(const uint8_t* data, size_t size);

}  // namespace vmitrace::profile

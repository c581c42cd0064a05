#include "profile/guest_btf.hpp"

#include <cstring>

namespace vmitrace::profile {

namespace {

constexpr uint32_t kMaxHeader = 256;
constexpr uint32_t kMaxBlob = 256u << 20;  // a kernel's BTF is a few MiB

uint32_t u32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

}  // namespace

std::optional<size_t> btf_declared_size(const uint8_t* d, size_t avail) {
  // struct btf_header: u16 magic, u8 version, u8 flags, u32 hdr_len,
  // u32 type_off, type_len, str_off, str_len (offsets from the end of the header).
  if (avail < 24 || d[0] != 0x9f || d[1] != 0xeb || d[2] != 1 || d[3] != 0) return std::nullopt;
  uint32_t hdr_len = u32(d + 4), type_off = u32(d + 8), type_len = u32(d + 12);
  uint32_t str_off = u32(d + 16), str_len = u32(d + 20);
  if (hdr_len < 24 || hdr_len > kMaxHeader || hdr_len % 4 != 0) return std::nullopt;
  if (type_off % 4 != 0 || type_len % 4 != 0 || type_len == 0 || str_len == 0) return std::nullopt;
  uint64_t type_end = uint64_t(type_off) + type_len, str_end = uint64_t(str_off) + str_len;
  // Types then strings, without overlap (libbpf demands the same).
  if (type_end > str_off) return std::nullopt;
  uint64_t total = hdr_len + str_end;
  if (total > kMaxBlob) return std::nullopt;
  return size_t(total);
}

std::optional<size_t> btf_blob_size(const uint8_t* d, size_t avail) {
  auto total = btf_declared_size(d, avail);
  if (!total || *total > avail) return std::nullopt;
  uint32_t hdr_len = u32(d + 4), str_off = u32(d + 16);
  if (d[hdr_len + str_off] != 0 || d[*total - 1] != 0) return std::nullopt;
  return total;
}

std::optional<BtfBlob> find_btf_blob(const uint8_t* data, size_t size) {
  static const uint8_t kMagic[4] = {0x9f, 0xeb, 1, 0};
  size_t pos = 0;
  while (pos + 24 <= size) {
    const void* hit = memmem(data + pos, size - pos, kMagic, sizeof kMagic);
    if (!hit) break;
    size_t off = size_t(static_cast<const uint8_t*>(hit) - data);
    if (off % 4 == 0)
      if (auto n = btf_blob_size(data + off, size - off)) return BtfBlob{off, *n};
    pos = off + 1;
  }
  return std::nullopt;
}

}  // namespace vmitrace::profile

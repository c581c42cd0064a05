#include "profile/bzimage.hpp"

#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"

namespace vmitrace::profile {

namespace {
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
// A vmlinux is far below this; the bound stops a hostile payload from eating memory.
constexpr uint64_t kMaxVmlinux = 1ull << 30;
}  // namespace

bool looks_like_bzimage(const uint8_t* d, size_t n) {
  return n >= 0x206 && std::memcmp(d + 0x202, "HdrS", 4) == 0;
}

std::vector<uint8_t> bzimage_payload(const std::vector<uint8_t>& img, const std::string& what) {
  const uint8_t* d = img.data();
  size_t n = img.size();
  if (!looks_like_bzimage(d, n)) throw Error(what, "not a bzImage (no HdrS signature)");
  if (n < 0x250) throw Error(what, "truncated bzImage (setup header cut short)");
  uint16_t version = uint16_t(d[0x206] | d[0x207] << 8);
  if (version < 0x208)
    throw Error(what, "bzImage boot protocol " + std::to_string(version >> 8) + "." +
                          std::to_string(version & 0xFF) + " has no payload fields (need >= 2.08)");
  uint64_t setup_sects = d[0x1F1] ? d[0x1F1] : 4;
  uint64_t start = (setup_sects + 1) * 512;
  uint64_t off = start + le32(d + 0x248), len = le32(d + 0x24C);
  if (len == 0) throw Error(what, "bzImage payload_length is 0");
  if (off > n || len > n - off)
    throw Error(what, "truncated bzImage (payload at " + std::to_string(off) + "+" + std::to_string(len) +
                          " extends past the end of the " + std::to_string(n) + "-byte file)");
  Compression c = sniff_compression(d + off, len);
  if (c == Compression::none) {
    char magic[32];
    std::snprintf(magic, sizeof magic, "%02x %02x %02x %02x", d[off], len > 1 ? d[off + 1] : 0,
                  len > 2 ? d[off + 2] : 0, len > 3 ? d[off + 3] : 0);
    throw Error(what, std::string("unknown bzImage payload compression (magic ") + magic + ")");
  }
  // The build appends the decompressed size (le32) to every payload: a hint only.
  uint64_t hint = len >= 8 ? le32(d + off + len - 4) : 0;
  return decompress(d + off, len, c, what + " (bzImage payload)", kMaxVmlinux, hint);
}

}  // namespace vmitrace::profile

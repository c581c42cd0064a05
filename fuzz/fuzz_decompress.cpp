// libFuzzer target: bzImage setup header + payload decompression (xz, lzma, gzip,
// zstd, lz4 by magic), as read_kernel_image does on a vmlinuz, with a small
// output bound so a decompression bomb is an Error, not an OOM.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/bzimage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    if (vmitrace::profile::looks_like_bzimage(data, size)) {
      std::vector<uint8_t> img(data, data + size);
      (void)vmitrace::profile::bzimage_payload(img, "fuzz-bzImage");
    } else {
      auto c = vmitrace::sniff_compression(data, size);
      if (c != vmitrace::Compression::none)
        (void)vmitrace::decompress(data, size, c, "fuzz-payload", 64ull << 20, size * 4);
    }
  } catch (const vmitrace::Error&) {
  }
  return 0;
}

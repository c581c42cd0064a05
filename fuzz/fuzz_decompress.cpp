// libFuzzer target: bzImage setup header + payload decompression (xz, lzma, gzip,
// zstd, lz4 by magic), as read_kernel_image does on a vmlinuz, with a small
// output bound so a decompression bomb is an Error, not an OOM; and arm64 images
// (the Image header, its PE header, an EFI zboot wrapper, the RELA table).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/arm64_image.hpp"
#include "profile/bzimage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    if (vmitrace::profile::looks_like_arm64_image(data, size) || vmitrace::profile::looks_like_efi_zboot(data, size)) {
      auto img = vmitrace::profile::read_arm64_image(std::vector<uint8_t>(data, data + size), "fuzz-arm64");
      for (const auto& r : img.relocated) (void)img.pointer_at(r.first);
    } else if (vmitrace::profile::looks_like_bzimage(data, size)) {
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

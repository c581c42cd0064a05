// Whole-file reads with errors that name the file. Transparent decompression of
// .xz / .gz / .zst by content (magic bytes), not by extension.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vmitrace {

// Checks that path names a file this process can open for reading (not a directory);
// throws Error("PATH: problem"). Nothing is read.
void check_readable_file(const std::string& path);

// Reads the file; throws Error("PATH: problem") if missing, a directory, unreadable.
std::vector<uint8_t> read_file(const std::string& path);
// Same, with at least `padding` zeroed bytes of spare capacity after size()
// (parsers that read past the end, e.g. simdjson, can then use the buffer in place).
std::vector<uint8_t> read_file_padded(const std::string& path, size_t padding);

// Like read_file, then decompresses when the content starts with an xz, gzip or
// zstd magic. Throws Error naming the file on a corrupt/truncated stream.
// max_out bounds the decompressed size (hostile inputs).
std::vector<uint8_t> read_file_decompressed(const std::string& path,
                                            uint64_t max_out = 4ull << 30);

enum class Compression { none, xz, gzip, zstd, lzma, bzip2, lz4, lzo };
Compression sniff_compression(const uint8_t* data, size_t len);
const char* compression_name(Compression c);

// Decompresses one buffer (xz, lzma, gzip, zstd, lz4); throws Error(what, problem).
// Trailing garbage after a complete stream is ignored (bzImage payloads have some).
// size_hint (optional, untrusted) is the expected output size: the buffer is
// allocated once at that size instead of growing (a wrong hint only costs time).
std::vector<uint8_t> decompress(const uint8_t* data, size_t len, Compression c,
                                const std::string& what, uint64_t max_out = 4ull << 30,
                                uint64_t size_hint = 0);

}  // namespace vmitrace

namespace vmitrace {

// A read-only memory map of a whole file (large debug files: no copy into the heap).
// Throws Error("PATH: problem") if missing, a directory, empty or unmappable.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vmitrace

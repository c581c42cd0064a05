// read_file / decompress: each format round-trips, and every bad input (missing,
// directory, truncated, corrupt, too big, unsupported) gives an Error naming the file.
#include <gtest/gtest.h>
#include <lz4.h>
#include <lzma.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/error.hpp"
#include "common/file.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace vmitrace;
using Bytes = std::vector<uint8_t>;
using test::error_of;
using test::TempDir;

namespace {

Bytes sample(size_t n) {
  Bytes b(n);
  std::mt19937 rng(42);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t("vmitrace profile "[i % 17] ^ (rng() % 4 == 0 ? rng() : 0));
  return b;
}

Bytes xz(const Bytes& in) {
  Bytes out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, in.data(), in.size(), out.data(), &pos, out.size()),
            LZMA_OK);
  out.resize(pos);
  return out;
}

Bytes gz(const Bytes& in) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&s, in.size()) + 64);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = uInt(in.size());
  s.next_out = out.data();
  s.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

Bytes zst(const Bytes& in) {
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// The kernel's LZ4 legacy format: magic, (le32 size, block)*, then the bzImage's le32 length.
Bytes lz4_legacy(const Bytes& in) {
  Bytes out = {0x02, 0x21, 0x4C, 0x18};
  const size_t block = 8u << 20;
  for (size_t off = 0; off < in.size(); off += block) {
    int n = int(std::min(block, in.size() - off));
    std::vector<char> c(LZ4_compressBound(n));
    int m = LZ4_compress_default(reinterpret_cast<const char*>(in.data() + off), c.data(), n, int(c.size()));
    EXPECT_GT(m, 0);
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(uint32_t(m) >> (8 * i)));
    out.insert(out.end(), c.begin(), c.begin() + m);
  }
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(uint32_t(in.size()) >> (8 * i)));
  return out;
}

}  // namespace

TEST(ReadFile, ReadsWholeFile) {
  TempDir d;
  Bytes content = sample(100000);
  EXPECT_EQ(read_file(d.file("a.bin", content)), content);
  EXPECT_EQ(read_file_decompressed(d.file("a.bin", content)), content);
  EXPECT_TRUE(read_file(d.file("empty", Bytes{})).empty());
}

TEST(ReadFile, ErrorsNameTheFile) {
  TempDir d;
  std::string missing = d.path() + "/missing.json";
  EXPECT_EQ(error_of([&] { read_file(missing); }), missing + ": No such file or directory");
  EXPECT_EQ(error_of([&] { read_file(d.path()); }), d.path() + ": is a directory");
}

TEST(Decompress, EachFormatRoundTrips) {
  TempDir d;
  Bytes content = sample(3u << 20);
  struct Case {
    const char* name;
    Bytes data;
    Compression c;
  } cases[] = {{"x.xz", xz(content), Compression::xz},
               {"x.gz", gz(content), Compression::gzip},
               {"x.zst", zst(content), Compression::zstd},
               {"x.lz4", lz4_legacy(content), Compression::lz4}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(sniff_compression(c.data.data(), c.data.size()), c.c);
    EXPECT_EQ(read_file_decompressed(d.file(c.name, c.data)), content);
  }
}

// A bzImage's trailing "decompressed size" is input like any other: a lying hint of
// 1 GiB for 64 KiB of data must not make the decoder allocate it. Checked in a child
// with a 256 MiB address-space limit (not under ASan, which needs more).
TEST(Decompress, LyingSizeHintDoesNotAllocateIt) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "address-space limit and AddressSanitizer do not mix";
#else
  Bytes content = sample(64u << 10);
  for (auto [data, c] : {std::pair{lz4_legacy(content), Compression::lz4},
                         std::pair{xz(content), Compression::xz},
                         std::pair{zst(content), Compression::zstd}}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      rlimit lim{256u << 20, 256u << 20};
      setrlimit(RLIMIT_AS, &lim);
      try {
        auto out = decompress(data.data(), data.size(), c, "lying", 4ull << 30, 1ull << 30);
        _exit(out == content ? 0 : 2);
      } catch (...) {
        _exit(3);
      }
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << compression_name(c) << ": child status " << status;
  }
#endif
}

TEST(Decompress, LargerThanOneLz4Block) {
  Bytes content = sample(9u << 20);  // two legacy blocks
  Bytes c = lz4_legacy(content);
  EXPECT_EQ(decompress(c.data(), c.size(), Compression::lz4, "x"), content);
}

TEST(Decompress, TrailingGarbageIsIgnored) {
  Bytes content = sample(10000);
  for (Bytes c : {xz(content), gz(content), zst(content)}) {
    c.insert(c.end(), {0x12, 0x34, 0x56, 0x78});  // like the bzImage's appended size
    EXPECT_EQ(decompress(c.data(), c.size(), sniff_compression(c.data(), c.size()), "x"), content);
  }
}

TEST(Decompress, TruncatedStreamsAreErrors) {
  Bytes content = sample(200000);
  for (Bytes c : {xz(content), gz(content), zst(content), lz4_legacy(content)}) {
    Compression kind = sniff_compression(c.data(), c.size());
    SCOPED_TRACE(compression_name(kind));
    c.resize(c.size() / 2);
    std::string e = error_of([&] { decompress(c.data(), c.size(), kind, "img.bin"); });
    EXPECT_EQ(e.rfind("img.bin: ", 0), 0u) << e;
    EXPECT_NE(e.find(compression_name(kind)), std::string::npos) << e;
  }
}

TEST(Decompress, CorruptStreamsAreErrors) {
  Bytes content = sample(200000);
  for (Bytes c : {xz(content), gz(content), zst(content)}) {  // all three carry checksums
    Compression kind = sniff_compression(c.data(), c.size());
    SCOPED_TRACE(compression_name(kind));
    for (size_t i = c.size() / 3; i < c.size() / 3 + 64; ++i) c[i] ^= 0xA5;
    std::string e = error_of([&] { decompress(c.data(), c.size(), kind, "img.bin"); });
    EXPECT_EQ(e.rfind("img.bin: corrupt ", 0), 0u) << e;
  }
  // LZ4 legacy has no checksum: only structural damage can be seen (here the
  // first block size points past the end).
  Bytes c = lz4_legacy(content);
  c[7] = 0x7F;
  EXPECT_EQ(error_of([&] { decompress(c.data(), c.size(), Compression::lz4, "img.bin"); }),
            "img.bin: corrupt lz4 data (bad block size)");
}

TEST(Decompress, OutputIsBounded) {
  Bytes zeros(8u << 20);  // compresses to almost nothing: a small "bomb"
  for (Bytes c : {xz(zeros), gz(zeros), zst(zeros), lz4_legacy(zeros)}) {
    Compression kind = sniff_compression(c.data(), c.size());
    SCOPED_TRACE(compression_name(kind));
    std::string e = error_of([&] { decompress(c.data(), c.size(), kind, "bomb", 1u << 20); });
    EXPECT_NE(e.find("bomb: "), std::string::npos) << e;
  }
}

TEST(Decompress, UnsupportedFormatsSaySo) {
  const uint8_t bz[] = {'B', 'Z', 'h', '9', 0x31, 0x41};
  EXPECT_EQ(sniff_compression(bz, sizeof bz), Compression::bzip2);
  std::string e = error_of([&] { decompress(bz, sizeof bz, Compression::bzip2, "k"); });
  EXPECT_EQ(e.rfind("k: unsupported compression: bzip2", 0), 0u) << e;
  const uint8_t plain[] = {'{', '"', 'a'};
  EXPECT_EQ(sniff_compression(plain, sizeof plain), Compression::none);
  EXPECT_EQ(sniff_compression(plain, 0), Compression::none);
}

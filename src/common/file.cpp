// Whole-file reads and bounded decompression (xz/lzma via liblzma, gzip via zlib,
// zstd via libzstd, LZ4 via liblz4). Every decoder is driven with a growing output
// buffer capped at max_out, so a hostile "zip bomb" stops with an error instead of
// exhausting memory.
#include "common/file.hpp"

#include <fcntl.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lzma.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "common/error.hpp"

namespace vmitrace {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Grows `out` for the next decoder call without passing max_out; returns false
// when the limit is already reached.
bool grow(std::vector<uint8_t>& out, size_t used, uint64_t max_out, uint64_t hint = 0) {
  if (used < out.size()) return true;
  if (used >= max_out) return false;
  // +1 so that a correct hint leaves room to see the end of the stream.
  uint64_t first = hint ? std::min<uint64_t>(hint + 1, 1ull << 32) : (1u << 20);
  uint64_t want = out.empty() ? first : uint64_t(out.size()) * 2;
  if (want > max_out) want = max_out;
  out.resize(size_t(want));
  return true;
}

[[noreturn]] void too_big(const std::string& what, uint64_t max_out) {
  throw Error(what, "decompressed data exceeds the limit of " + std::to_string(max_out) + " bytes");
}

std::vector<uint8_t> decompress_xz(const uint8_t* data, size_t len, bool alone, uint64_t hint,
                                   const std::string& what, uint64_t max_out) {
  lzma_stream s = LZMA_STREAM_INIT;
  // The memory limit protects against headers asking for absurd dictionaries.
  lzma_ret r = alone ? lzma_alone_decoder(&s, 1ull << 30) : lzma_stream_decoder(&s, 1ull << 30, 0);
  if (r != LZMA_OK) throw Error(what, "cannot initialise the xz decoder");
  std::vector<uint8_t> out;
  size_t used = 0;
  s.next_in = data;
  s.avail_in = len;
  for (;;) {
    if (!grow(out, used, max_out, hint)) {
      lzma_end(&s);
      too_big(what, max_out);
    }
    s.next_out = out.data() + used;
    s.avail_out = out.size() - used;
    r = lzma_code(&s, LZMA_FINISH);
    used = out.size() - s.avail_out;
    if (r == LZMA_STREAM_END) break;
    if (r == LZMA_OK && s.avail_out == 0) continue;
    lzma_end(&s);
    if (r == LZMA_OK || r == LZMA_BUF_ERROR) throw Error(what, "truncated xz data");
    if (r == LZMA_MEMLIMIT_ERROR) throw Error(what, "xz data needs too much memory");
    throw Error(what, std::string("corrupt xz data (liblzma error ") + std::to_string(int(r)) + ")");
  }
  lzma_end(&s);
  out.resize(used);
  return out;
}

std::vector<uint8_t> decompress_gzip(const uint8_t* data, size_t len, uint64_t hint, const std::string& what,
                                     uint64_t max_out) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) throw Error(what, "cannot initialise the gzip decoder");
  std::vector<uint8_t> out;
  size_t used = 0;
  size_t in_left = len;
  s.next_in = const_cast<Bytef*>(data);
  for (;;) {
    if (!grow(out, used, max_out, hint)) {
      inflateEnd(&s);
      too_big(what, max_out);
    }
    // zlib counts in uInt: feed at most 1 GiB per call.
    uInt in_chunk = uInt(std::min<size_t>(in_left, 1u << 30));
    uInt out_chunk = uInt(std::min<size_t>(out.size() - used, 1u << 30));
    s.avail_in = in_chunk;
    s.next_out = out.data() + used;
    s.avail_out = out_chunk;
    int r = inflate(&s, Z_NO_FLUSH);
    in_left -= in_chunk - s.avail_in;
    used += out_chunk - s.avail_out;
    if (r == Z_STREAM_END) break;
    if (r == Z_OK) continue;
    if (r == Z_BUF_ERROR && s.avail_out == 0) continue;
    inflateEnd(&s);
    if (r == Z_BUF_ERROR) throw Error(what, "truncated gzip data");
    throw Error(what, std::string("corrupt gzip data") + (s.msg ? std::string(" (") + s.msg + ")" : ""));
  }
  inflateEnd(&s);
  out.resize(used);
  return out;
}

std::vector<uint8_t> decompress_zstd(const uint8_t* data, size_t len, uint64_t hint, const std::string& what,
                                     uint64_t max_out) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) throw Error(what, "cannot initialise the zstd decoder");
  // Kernel payloads use windows larger than zstd's default limit (2^27).
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 31);
  if (!hint) {
    unsigned long long fcs = ZSTD_getFrameContentSize(data, len);
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR) hint = fcs;
  }
  std::vector<uint8_t> out;
  ZSTD_inBuffer in{data, len, 0};
  ZSTD_outBuffer ob{nullptr, 0, 0};
  for (;;) {
    if (!grow(out, ob.pos, max_out, hint)) {
      ZSTD_freeDCtx(ctx);
      too_big(what, max_out);
    }
    ob.dst = out.data();
    ob.size = out.size();
    size_t r = ZSTD_decompressStream(ctx, &ob, &in);
    if (ZSTD_isError(r)) {
      std::string msg = ZSTD_getErrorName(r);
      ZSTD_freeDCtx(ctx);
      throw Error(what, "corrupt zstd data (" + msg + ")");
    }
    if (r == 0) break;  // frame complete; anything after it is trailing data
    if (in.pos == in.size && ob.pos < ob.size) {
      ZSTD_freeDCtx(ctx);
      throw Error(what, "truncated zstd data");
    }
  }
  ZSTD_freeDCtx(ctx);
  out.resize(ob.pos);
  return out;
}

uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

// The kernel's LZ4 "legacy" format: magic, then blocks of (le32 compressed size,
// data), each expanding to at most 8 MiB. The bzImage appends the le32
// decompressed size, which ends the stream.
std::vector<uint8_t> decompress_lz4_legacy(const uint8_t* data, size_t len, uint64_t hint, const std::string& what,
                                           uint64_t max_out) {
  constexpr uint32_t kMagic = 0x184C2102;
  constexpr size_t kBlock = 8u << 20;
  const size_t max_chunk = size_t(LZ4_compressBound(int(kBlock)));
  std::vector<uint8_t> out;
  if (hint) out.resize(size_t(std::min<uint64_t>(hint, max_out)));
  size_t pos = 4, used = 0;
  while (pos + 4 <= len) {
    uint32_t chunk = le32(data + pos);
    if (chunk == kMagic) {
      pos += 4;
      continue;
    }
    if (chunk == 0 || chunk > max_chunk || chunk > len - pos - 4) {
      if (used > 0) break;  // trailing size field or garbage after the stream
      throw Error(what, "corrupt lz4 data (bad block size)");
    }
    pos += 4;
    if (used >= max_out) too_big(what, max_out);
    // Decode into the room we have (a right size hint makes that the whole
    // output); if a block does not fit, make room for a full block and retry.
    int n = -1;
    size_t room = out.size() - used;
    if (room > 0)
      n = LZ4_decompress_safe(reinterpret_cast<const char*>(data + pos), reinterpret_cast<char*>(out.data() + used),
                              int(chunk), int(std::min(room, kBlock)));
    if (n < 0 && room < kBlock) {
      size_t want = size_t(std::min<uint64_t>(max_out, std::max<uint64_t>(out.size() * 2, used + kBlock)));
      out.resize(want);
      room = std::min(out.size() - used, kBlock);
      n = LZ4_decompress_safe(reinterpret_cast<const char*>(data + pos), reinterpret_cast<char*>(out.data() + used),
                              int(chunk), int(room));
      if (n < 0 && room < kBlock) too_big(what, max_out);
    }
    if (n < 0) throw Error(what, "corrupt lz4 data");
    used += size_t(n);
    pos += chunk;
  }
  if (used == 0) throw Error(what, "truncated lz4 data");
  out.resize(used);
  return out;
}

std::vector<uint8_t> decompress_lz4_frame(const uint8_t* data, size_t len, uint64_t hint, const std::string& what,
                                          uint64_t max_out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
    throw Error(what, "cannot initialise the lz4 decoder");
  std::vector<uint8_t> out;
  size_t used = 0, pos = 0;
  for (;;) {
    if (!grow(out, used, max_out, hint)) {
      LZ4F_freeDecompressionContext(ctx);
      too_big(what, max_out);
    }
    size_t dst = out.size() - used, src = len - pos;
    size_t r = LZ4F_decompress(ctx, out.data() + used, &dst, data + pos, &src, nullptr);
    used += dst;
    pos += src;
    if (LZ4F_isError(r)) {
      std::string msg = LZ4F_getErrorName(r);
      LZ4F_freeDecompressionContext(ctx);
      throw Error(what, "corrupt lz4 data (" + msg + ")");
    }
    if (r == 0) break;
    if (pos == len && dst == 0) {
      LZ4F_freeDecompressionContext(ctx);
      throw Error(what, "truncated lz4 data");
    }
  }
  LZ4F_freeDecompressionContext(ctx);
  out.resize(used);
  return out;
}

}  // namespace

void check_readable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path, "is a directory");
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};  // a FIFO: do not wait for a writer
  if (f.fd < 0) throw Error(path, std::strerror(errno));
}

std::vector<uint8_t> read_file(const std::string& path) { return read_file_padded(path, 0); }

std::vector<uint8_t> read_file_padded(const std::string& path, size_t padding) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw Error(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw Error(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path, "is a directory");
  std::vector<uint8_t> buf;
  // Regular files: one allocation of the right size (+1 byte to see EOF without a
  // second allocation, + the caller's padding); pipes etc. grow as they come.
  // Touching fresh memory is the main cost of reading a large file, so never
  // allocate and zero more than needed.
  size_t want = S_ISREG(st.st_mode) && st.st_size > 0 ? size_t(st.st_size) + 1 : 65536;
  buf.resize(want + padding);
  size_t used = 0;
  for (;;) {
    if (used + padding == buf.size()) buf.resize(buf.size() * 2);
    ssize_t n = ::read(f.fd, buf.data() + used, buf.size() - padding - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path, std::strerror(errno));
    }
    if (n == 0) break;
    used += size_t(n);
  }
  // Keep the capacity (padding bytes stay allocated and zeroed past size()).
  std::fill(buf.begin() + used, buf.end(), 0);
  buf.resize(used);
  return buf;
}

Compression sniff_compression(const uint8_t* d, size_t n) {
  auto has = [&](std::initializer_list<uint8_t> m) {
    if (n < m.size()) return false;
    size_t i = 0;
    for (uint8_t b : m)
      if (d[i++] != b) return false;
    return true;
  };
  if (has({0xFD, '7', 'z', 'X', 'Z', 0x00})) return Compression::xz;
  if (has({0x1F, 0x8B}) || has({0x1F, 0x9E})) return Compression::gzip;
  if (has({0x28, 0xB5, 0x2F, 0xFD})) return Compression::zstd;
  if (has({0x02, 0x21, 0x4C, 0x18}) || has({0x04, 0x22, 0x4D, 0x18})) return Compression::lz4;
  if (has({0x5D, 0x00, 0x00})) return Compression::lzma;
  if (has({'B', 'Z', 'h'})) return Compression::bzip2;
  if (has({0x89, 'L', 'Z', 'O'})) return Compression::lzo;
  return Compression::none;
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::xz: return "xz";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
    case Compression::lzma: return "lzma";
    case Compression::bzip2: return "bzip2";
    case Compression::lz4: return "lz4";
    case Compression::lzo: return "lzo";
  }
  return "unknown";
}

std::vector<uint8_t> decompress(const uint8_t* data, size_t len, Compression c,
                                const std::string& what, uint64_t max_out, uint64_t hint) {
  // The hint comes from the (untrusted) input: it only sizes the first buffer. One
  // claiming more than max_out, or an expansion no kernel compressor reaches (real
  // bzImage payloads expand 3-6x), is a lie: grow as needed and let max_out stop it.
  constexpr uint64_t kMaxHintRatio = 32;
  if (hint > max_out || hint > uint64_t(len) * kMaxHintRatio) hint = 0;
  switch (c) {
    case Compression::none: return std::vector<uint8_t>(data, data + len);
    case Compression::xz: return decompress_xz(data, len, false, hint, what, max_out);
    case Compression::lzma: return decompress_xz(data, len, true, hint, what, max_out);
    case Compression::gzip: return decompress_gzip(data, len, hint, what, max_out);
    case Compression::zstd: return decompress_zstd(data, len, hint, what, max_out);
    case Compression::lz4:
      if (len >= 4 && data[0] == 0x02) return decompress_lz4_legacy(data, len, hint, what, max_out);
      return decompress_lz4_frame(data, len, hint, what, max_out);
    case Compression::bzip2:
    case Compression::lzo: break;
  }
  throw Error(what, std::string("unsupported compression: ") + compression_name(c) +
                        " (supported: xz, lzma, gzip, zstd, lz4)");
}

std::vector<uint8_t> read_file_decompressed(const std::string& path, uint64_t max_out) {
  std::vector<uint8_t> raw = read_file(path);
  Compression c = sniff_compression(raw.data(), raw.size());
  if (c == Compression::none) return raw;
  return decompress(raw.data(), raw.size(), c, path, max_out);
}

MappedFile::MappedFile(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw Error(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw Error(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path, "is a directory");
  if (!S_ISREG(st.st_mode)) throw Error(path, "not a regular file");
  if (st.st_size <= 0) throw Error(path, "empty file");
  void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (p == MAP_FAILED) throw Error(path, std::string("cannot map: ") + std::strerror(errno));
  data_ = static_cast<const uint8_t*>(p);
  size_ = size_t(st.st_size);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace vmitrace

// kallsyms extraction from a vmlinux whose symbol table was stripped (the bzImage
// payload). scripts/kallsyms.c emits, each table aligned to the pointer size:
//   6.1 (and stable kernels with seqs_of_names backported):
//     offsets, relative_base, num_syms, names, markers, [seqs_of_names], token_table, token_index
//   6.2+ (6.12):
//     num_syms, names, markers, token_table, token_index, offsets, relative_base, seqs_of_names
// We find token_table by its shape (256 NUL-terminated tokens; the digits keep
// their own byte value, so "0\0" "1\0" ... "9\0" sits at token 0x30), confirm it
// with token_index, then find num_syms+names backwards by decoding candidates and
// checking them against markers, then try both places for offsets/relative_base
// and keep the one whose _text lands on relative_base.
#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include "common/error.hpp"
#include "profile/elf.hpp"
#include "profile/kernel_image.hpp"

namespace vmitrace::profile {

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  size_t size() const { return n_; }
  bool has(uint64_t off, uint64_t len) const { return off <= n_ && len <= n_ - off; }
  uint8_t u8(uint64_t off) const { return d_[off]; }
  uint16_t u16(uint64_t o) const { return uint16_t(d_[o] | d_[o + 1] << 8); }
  uint32_t u32(uint64_t o) const { return uint32_t(u16(o)) | uint32_t(u16(o + 2)) << 16; }
  uint64_t u64(uint64_t o) const { return uint64_t(u32(o)) | uint64_t(u32(o + 4)) << 32; }
  const uint8_t* at(uint64_t off) const { return d_ + off; }

 private:
  const uint8_t* d_;
  size_t n_;
};

struct TokenTable {
  uint64_t table = 0;  // file offset of kallsyms_token_table
  uint64_t index = 0;  // file offset of kallsyms_token_index
  std::string tokens[256];
};

struct Names {
  uint64_t num_syms_at = 0;
  uint64_t names_at = 0;
  uint32_t count = 0;
  std::vector<std::string> expanded;  // type letter + name, per symbol
};

constexpr size_t kMaxToken = 255;
constexpr uint32_t kMaxSyms = 4u << 20;

// Alignment helper working on virtual addresses: table alignment is a property of
// the link address, not of the file offset (they agree only modulo section alignment).
struct Aligner {
  uint64_t delta = 0;  // vaddr - file offset for the section holding the tables
  uint64_t up(uint64_t off, uint64_t a) const { return ((off + delta + a - 1) & ~(a - 1)) - delta; }
  bool aligned(uint64_t off, uint64_t a) const { return ((off + delta) & (a - 1)) == 0; }
};

std::optional<TokenTable> find_token_table_at(const Bytes& b, uint64_t digits) {
  // Walk back from token '0' (0x30) to token 1: tokens 1..0x2f each end at a NUL, so
  // their starts are exact. Token 0's start is not: the table before it may end in
  // non-NUL bytes, so token_index (its entry 1 is token 0's length + 1) places it.
  uint64_t p = digits;
  for (int k = 1; k < 0x30; ++k) {
    if (p < 2 || b.u8(p - 1) != 0) return std::nullopt;
    uint64_t q = p - 1;  // the NUL ending the previous token
    size_t len = 0;
    while (q > 0 && b.u8(q - 1) != 0 && len <= kMaxToken) --q, ++len;
    if (len == 0 || len > kMaxToken) return std::nullopt;
    p = q;
  }
  const uint64_t first = p;  // token 1
  if (first < 2 || b.u8(first - 1) != 0) return std::nullopt;
  uint64_t rel[256] = {};  // token k's offset from token 1
  uint64_t pos = first;
  for (int k = 1; k < 256; ++k) {
    if (pos - first > 0xFFFF) return std::nullopt;
    rel[k] = pos - first;
    size_t len = 0;
    while (b.has(pos + len, 1) && b.u8(pos + len) != 0 && len <= kMaxToken) ++len;
    if (len == 0 || len > kMaxToken || !b.has(pos + len, 1)) return std::nullopt;
    pos += len + 1;
  }
  // token_index follows after alignment padding (at most 7 bytes).
  for (uint64_t idx = pos; idx <= pos + 8; ++idx) {
    if (!b.has(idx, 512) || b.u16(idx) != 0) continue;
    const uint64_t tok0 = b.u16(idx + 2);  // token 0's length + 1
    if (tok0 < 2 || tok0 - 1 > kMaxToken || tok0 > first) continue;
    bool ok = true;
    for (int k = 1; k < 256 && ok; ++k) ok = b.u16(idx + 2 * k) == tok0 + rel[k];
    if (!ok) continue;
    TokenTable t;
    t.table = first - tok0;
    t.index = idx;
    for (uint64_t i = t.table; i + 1 < first && ok; ++i) ok = b.u8(i) != 0;  // token 0 has no NUL inside
    if (!ok) return std::nullopt;
    t.tokens[0].assign(reinterpret_cast<const char*>(b.at(t.table)), tok0 - 1);
    for (int k = 1; k < 256; ++k) {
      const uint64_t at = first + rel[k];
      const uint64_t end = k < 255 ? first + rel[k + 1] - 1 : pos - 1;
      t.tokens[k].assign(reinterpret_cast<const char*>(b.at(at)), end - at);
    }
    return t;
  }
  return std::nullopt;
}

std::optional<TokenTable> find_token_table(const Bytes& b) {
  static const char kDigits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";  // 20 bytes incl. final NUL
  const size_t plen = 20;
  const uint8_t* base = b.at(0);
  const uint8_t* p = base;
  size_t left = b.size();
  while (left >= plen) {
    const void* hit = memmem(p, left, kDigits, plen);
    if (!hit) break;
    uint64_t off = uint64_t(static_cast<const uint8_t*>(hit) - base);
    if (auto t = find_token_table_at(b, off)) return t;
    p = static_cast<const uint8_t*>(hit) + 1;
    left = b.size() - uint64_t(p - base);
  }
  return std::nullopt;
}

// Reads one compressed name entry at `pos`; returns false if it leaves [0, limit).
bool entry(const Bytes& b, uint64_t& pos, uint64_t limit, uint32_t& len) {
  if (pos >= limit) return false;
  len = b.u8(pos++);
  if (len & 0x80) {  // 6.1+: two-byte length for long names
    if (pos >= limit) return false;
    len = (len & 0x7F) | uint32_t(b.u8(pos++)) << 7;
  }
  return len != 0 && len <= limit - pos;
}

std::string expand(const Bytes& b, const TokenTable& t, uint64_t pos, uint32_t len) {
  std::string s;
  for (uint32_t i = 0; i < len; ++i) s += t.tokens[b.u8(pos + i)];
  return s;
}

bool plausible_name(const std::string& s) {
  if (s.size() < 2 || !std::isalpha(uint8_t(s[0]))) return false;
  for (char c : s)
    if (uint8_t(c) <= 0x20 || uint8_t(c) >= 0x7F) return false;
  return true;
}

// Tries num_syms at `x`: decodes the names and checks them against the markers.
std::optional<Names> try_names(const Bytes& b, const TokenTable& t, const Aligner& al, uint64_t x,
                               uint64_t ptr, uint64_t limit) {
  uint32_t n = b.u32(x);
  if (n == 0 || n > kMaxSyms) return std::nullopt;
  uint64_t names = al.up(x + 4, ptr);
  // Cheap filter first: a few leading entries must expand to sane names.
  uint64_t pos = names;
  uint32_t len;
  for (uint32_t i = 0; i < std::min<uint32_t>(n, 8); ++i) {
    if (!entry(b, pos, limit, len) || !plausible_name(expand(b, t, pos, len))) return std::nullopt;
    pos += len;
  }
  std::vector<uint64_t> marks;
  marks.reserve((n + 255) / 256);
  pos = names;
  for (uint32_t i = 0; i < n; ++i) {
    if (i % 256 == 0) marks.push_back(pos - names);
    if (!entry(b, pos, limit, len)) return std::nullopt;
    pos += len;
  }
  // markers follow the names: 4-byte entries (current kernels) or pointer-sized.
  bool ok = false;
  for (uint64_t esz : {uint64_t(4), uint64_t(8)}) {
    uint64_t m = al.up(pos, esz == 8 ? 8 : ptr);
    if (!b.has(m, marks.size() * esz)) continue;
    ok = true;
    for (size_t k = 0; k < marks.size() && ok; ++k)
      ok = (esz == 4 ? b.u32(m + 4 * k) : b.u64(m + 8 * k)) == marks[k];
    if (ok) break;
  }
  if (!ok) return std::nullopt;
  Names r;
  r.num_syms_at = x;
  r.names_at = names;
  r.count = n;
  r.expanded.reserve(n);
  pos = names;
  for (uint32_t i = 0; i < n; ++i) {
    entry(b, pos, limit, len);
    r.expanded.push_back(expand(b, t, pos, len));
    pos += len;
  }
  return r;
}

std::optional<Names> find_names(const Bytes& b, const TokenTable& t, const Aligner& al, uint64_t ptr) {
  // Names lie before the token table in both layouts; 64 MiB is far more than any
  // kernel's names + markers + seqs_of_names.
  uint64_t lowest = t.table > (64u << 20) ? t.table - (64u << 20) : 0;
  uint64_t x = al.up(t.table >= 8 ? t.table - 8 : 0, 4);
  if (x > t.table) x -= 4;
  for (; x >= lowest + 4; x -= 4) {
    if (!al.aligned(x, 4)) continue;
    if (auto r = try_names(b, t, al, x, ptr, t.table)) return r;
  }
  return std::nullopt;
}

struct Resolved {
  std::vector<uint64_t> addr;
  uint64_t relative_base = 0;
};

// Reads offsets + relative_base at the given places and checks them.
using Relocated = std::function<std::optional<uint64_t>(uint64_t)>;

std::optional<Resolved> try_offsets(const Bytes& b, const Names& nm, uint64_t offsets_at, uint64_t base_at,
                                    uint64_t ptr, bool is64, const Relocated& relocated) {
  uint64_t n = nm.count;
  if (!b.has(offsets_at, 4 * n) || !b.has(base_at, ptr)) return std::nullopt;
  Resolved r;
  r.relative_base = ptr == 8 ? b.u64(base_at) : b.u32(base_at);
  if (r.relative_base == 0 && relocated)
    if (auto v = relocated(base_at)) r.relative_base = *v;
  if (is64 && r.relative_base < 0xFFFF800000000000ull) return std::nullopt;
  if (!is64 && r.relative_base < 0x80000000u) return std::nullopt;
  bool any_negative = false;
  for (uint64_t i = 0; i < n && !any_negative; ++i) any_negative = int32_t(b.u32(offsets_at + 4 * i)) < 0;
  r.addr.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    int32_t off = int32_t(b.u32(offsets_at + 4 * i));
    if (any_negative) {
      // CONFIG_KALLSYMS_ABSOLUTE_PERCPU: non-negative = absolute value (per-CPU
      // symbols), negative = relative_base - 1 - offset.
      r.addr[i] = off >= 0 ? uint64_t(off) : r.relative_base - 1 - int64_t(off);
    } else {
      r.addr[i] = r.relative_base + uint32_t(off);
    }
    if (!is64) r.addr[i] &= 0xFFFFFFFFu;
  }
  // _text must land on relative_base (the lowest kernel address); _stext is in its first MiBs.
  std::optional<uint64_t> text, stext;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view s = nm.expanded[i];
    if (s.size() > 1 && s.substr(1) == "_text") text = r.addr[i];
    else if (s.size() > 1 && s.substr(1) == "_stext") stext = r.addr[i];
  }
  if (text && *text != r.relative_base) return std::nullopt;
  if (!text && !(stext && *stext >= r.relative_base && *stext - r.relative_base < (64u << 20)))
    return std::nullopt;
  return r;
}

}  // namespace

std::vector<KernelSymbol> extract_kallsyms(const std::vector<uint8_t>& vmlinux, const std::string& what) {
  std::optional<ElfImage> elf;
  if (ElfImage::looks_like_elf(vmlinux.data(), vmlinux.size())) elf.emplace(vmlinux.data(), vmlinux.size(), what);
  // The ELF only gives the alignment: vaddr - file offset of the section holding the tables.
  auto delta = [&](uint64_t table) {
    if (elf)
      for (const auto& s : elf->sections())
        if (s.size && s.addr && table >= s.offset && table - s.offset < s.size) return s.addr - s.offset;
    return uint64_t{0};
  };
  return extract_kallsyms(vmlinux.data(), vmlinux.size(), !elf || elf->is_64bit(), delta, what);
}

std::vector<KernelSymbol> extract_kallsyms(const uint8_t* data, size_t size, bool is64,
                                           const std::function<uint64_t(uint64_t)>& vaddr_delta,
                                           const std::string& what, const Relocated& relocated) {
  Bytes b(data, size);
  const uint64_t ptr = is64 ? 8 : 4;
  auto tt = find_token_table(b);
  if (!tt) throw Error(what, "kallsyms not found (no kallsyms_token_table; kernel built without CONFIG_KALLSYMS?)");
  Aligner al;
  al.delta = vaddr_delta(tt->table);
  auto names = find_names(b, *tt, al, ptr);
  if (!names) throw Error(what, "kallsyms: token table found but no kallsyms_num_syms/names/markers matching it");

  uint64_t n = names->count;
  std::optional<Resolved> res;
  // 6.1 layout: offsets, relative_base, then num_syms.
  if (names->num_syms_at >= ptr) {
    uint64_t base_at = names->num_syms_at - ptr;
    uint64_t span = (4 * n + ptr - 1) / ptr * ptr;  // offsets, padded to the pointer size
    if (base_at >= span) res = try_offsets(b, *names, base_at - span, base_at, ptr, is64, relocated);
  }
  // 6.2+ layout: offsets and relative_base after token_index.
  if (!res) {
    uint64_t offsets_at = al.up(tt->index + 512, ptr);
    uint64_t base_at = al.up(offsets_at + 4 * n, ptr);
    res = try_offsets(b, *names, offsets_at, base_at, ptr, is64, relocated);
  }
  if (!res)
    throw Error(what, "kallsyms: found " + std::to_string(n) +
                          " names but no kallsyms_offsets/relative_base consistent with _text (unsupported layout)");

  std::vector<KernelSymbol> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string& e = names->expanded[i];
    out.push_back(KernelSymbol{e.substr(1), e[0], res->addr[i]});
  }
  return out;
}

}  // namespace vmitrace::profile

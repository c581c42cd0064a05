#include "output/escape.hpp"

#include <cstdint>

namespace vmitrace::output {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u00(std::string& out, unsigned char c) {
  const char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  out.append(buf, 6);
}

bool cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

size_t utf8_seq_len(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  size_t left = s.size() - i;
  unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(p[1]) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(p[1]) || !cont(p[2])) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] > 0x9F) return 0;   // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3])) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] > 0x8F) return 0;   // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_escaped(std::string& out, std::string_view s) {
  append_escaped_with(out, s, [](std::string& o, unsigned char c) {
    switch (c) {
      case '"': o.append("\\\""); break;
      case '\\': o.append("\\\\"); break;
      case '\b': o.append("\\b"); break;
      case '\f': o.append("\\f"); break;
      case '\n': o.append("\\n"); break;
      case '\r': o.append("\\r"); break;
      case '\t': o.append("\\t"); break;
      default: append_u00(o, c); break;  // control bytes, DEL, invalid UTF-8
    }
  });
}

void append_utf16le_as_utf8(std::string& out, const unsigned char* p, size_t n) {
  constexpr uint32_t kReplacement = 0xFFFD;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    if (i + 1 >= n) {  // odd length: a lone byte cannot be a code unit
      cp = kReplacement;
      i = n;
    } else {
      uint32_t u = p[i] | (uint32_t{p[i + 1]} << 8);
      i += 2;
      if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n) {
        uint32_t lo = p[i] | (uint32_t{p[i + 1]} << 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
          i += 2;
        } else {
          cp = kReplacement;
        }
      } else if (u >= 0xD800 && u <= 0xDFFF) {
        cp = kReplacement;  // high surrogate at the end, or a stray low one
      } else {
        cp = u;
      }
    }
    char buf[4];
    size_t len;
    if (cp < 0x80) {
      buf[0] = static_cast<char>(cp);
      len = 1;
    } else if (cp < 0x800) {
      buf[0] = static_cast<char>(0xC0 | (cp >> 6));
      buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
      len = 2;
    } else if (cp < 0x10000) {
      buf[0] = static_cast<char>(0xE0 | (cp >> 12));
      buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
      len = 3;
    } else {
      buf[0] = static_cast<char>(0xF0 | (cp >> 18));
      buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
      len = 4;
    }
    out.append(buf, len);
  }
}

}  // namespace vmitrace::output

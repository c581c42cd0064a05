// Internal: appends the fields of one output line in the layout of a format
// (separators, keys, quoting, hex case). No allocation beyond the growth of out.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "output/escape.hpp"
#include "output/format.hpp"

namespace vmitrace::output {

// "0x" + hex digits of v (lower case for json, upper case for the text formats, as
// DRAKVUF writes them), without quotes.
inline void append_hex(std::string& out, uint64_t v, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char buf[18];
  char* p = buf + sizeof(buf);
  do { *--p = digits[v & 15]; v >>= 4; } while (v);
  *--p = 'x';
  *--p = '0';
  out.append(p, buf + sizeof(buf) - p);
}

class Line {
 public:
  Line(std::string& out, Format f) : out_(out), f_(f) {}

  std::string& out() { return out_; }
  bool json() const { return f_ == Format::json; }
  bool upper_hex() const { return f_ != Format::json; }

  // Starts a field: the separator (none before the first field) and the key.
  void key(std::string_view k) {
    switch (f_) {
      case Format::json:
        if (!first_) out_ += ',';
        out_ += '"';
        out_.append(k);
        out_.append("\":");
        break;
      case Format::kv:
        if (!first_) out_ += ',';
        out_.append(k);
        out_ += '=';
        break;
      case Format::drakvuf_default:
        if (!first_) out_ += ' ';
        out_.append(k);
        out_ += ':';
        break;
      case Format::csv:
        if (!first_) out_ += ',';
        break;
    }
    first_ = false;
  }
  // Quoted, escaped string (every format).
  void str(std::string_view v) {
    out_ += '"';
    append_escaped(out_, v);
    out_ += '"';
  }
  void dec(int64_t v) { out_.append(fmt::format_int(v).c_str()); }
  // json: "0x2a"; text formats: 0x2A.
  void hex(uint64_t v) {
    if (json()) out_ += '"';
    append_hex(out_, v, upper_hex());
    if (json()) out_ += '"';
  }
  // A safe token (syscall name): quoted in json, as it is in the text formats.
  void bare(std::string_view v) {
    if (json()) str(v);
    else out_.append(v);
  }

  void field_str(std::string_view k, std::string_view v) { key(k); str(v); }
  void field_dec(std::string_view k, int64_t v) { key(k); dec(v); }
  void field_hex(std::string_view k, uint64_t v) { key(k); hex(v); }
  void field_bare(std::string_view k, std::string_view v) { key(k); bare(v); }

 private:
  std::string& out_;
  Format f_;
  bool first_ = true;
};

}  // namespace vmitrace::output

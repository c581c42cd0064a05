// String escaping shared by every output format (hostile guest bytes in, valid
// UTF-8 JSON-string content out).
#pragma once
#include <string>
#include <string_view>

namespace vmitrace::output {

// Appends s escaped as the inside of a JSON string (no quotes): `"` and `\` are
// backslash-escaped, \b \f \n \r \t by name, other control bytes (and DEL) as
// \u00XX. Valid UTF-8 sequences are copied as they are. Convention for bytes that
// are not valid UTF-8: each one is written as \u00XX with XX the byte's value
// (i.e. read as Latin-1), so the line stays valid JSON and the byte is recoverable.
// The text formats (kv, csv, default) use the same rules: DRAKVUF escapes their
// strings as JSON strings too.
void append_escaped(std::string& out, std::string_view s);

// Appends the UTF-8 form of UTF-16LE text (Windows guest strings: UNICODE_STRING
// buffers, module paths). An unpaired surrogate and a trailing odd byte each become
// U+FFFD, so the result is always valid UTF-8; the caller escapes it as any string.
void append_utf16le_as_utf8(std::string& out, const unsigned char* p, size_t n);

// Length of the valid UTF-8 sequence that starts at s[i] (a byte >= 0x80), 0 when it
// is not valid UTF-8 (overlong forms, surrogates, values above U+10FFFF).
size_t utf8_seq_len(std::string_view s, size_t i);

// The scan both escapers share (JSON above, strace's style in decode.cpp): printable
// ASCII other than '"' and '\\' and valid UTF-8 sequences are copied as they are;
// every other byte goes to escape_byte(out, byte).
template <class EscapeByte>
void append_escaped_with(std::string& out, std::string_view s, EscapeByte escape_byte) {
  size_t i = 0, run = 0;  // [run, i): bytes to copy as they are
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') { ++i; continue; }
    if (c >= 0x80) {
      if (size_t len = utf8_seq_len(s, i)) { i += len; continue; }
    }
    out.append(s.data() + run, i - run);
    escape_byte(out, c);
    run = ++i;
  }
  out.append(s.data() + run, n - run);
}

}  // namespace vmitrace::output

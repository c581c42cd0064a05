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

// Length of the valid UTF-8 sequence that starts at s[i] (a byte >= 0x80), 0 when it
// is not valid UTF-8 (overlong forms, surrogates, values above U+10FFFF).
size_t utf8_seq_len(std::string_view s, size_t i);

}  // namespace vmitrace::output

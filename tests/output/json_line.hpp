// For the output tests: a Linux record formatted as one JSON line, a key's string
// value read back from it, and syscall entry/return records named by syscall.
#pragma once
#include <simdjson.h>

#include <string>

#include "output/format.hpp"
#include "record_helpers.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::test {

inline std::string json_line(const event::Record& r, output::ArgStyle st,
                             output::Format f = output::Format::json) {
  output::FormatOptions o;
  o.format = f;
  o.args = st;
  std::string out;
  output::format_event(r, 7, o, out);
  return out;
}

// The bytes of an object as a string (an extra's payload).
inline std::string bytes(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

// The JSON value of key k (a string), "<missing>" when absent or not a string.
inline std::string json_str(const std::string& line, const char* k) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  if (p.parse(line).get(e)) return "<invalid json>";
  std::string_view v;
  if (e[k].get_string().get(v)) return "<missing>";
  return std::string(v);
}

// An entry (or return) of the named syscall, in the lab's cat process.
inline event::Record& entry_of(RecordBuf& rb, const char* name,
                               event::Abi abi = event::Abi::linux_x64) {
  event::Record& r = rb.rec();
  fill_context(r);
  r.kind = event::Kind::syscall;
  r.abi = abi;
  const syscalls::SyscallInfo* s = syscalls::lookup(abi, name);
  r.nr = s->nr;
  r.nargs = s->nargs;
  return r;
}
inline event::Record& sysret_of(RecordBuf& rb, const char* name, int64_t ret,
                                event::Abi abi = event::Abi::linux_x64) {
  event::Record& r = entry_of(rb, name, abi);
  r.kind = event::Kind::sysret;
  r.ret = ret;
  return r;
}

}  // namespace vmitrace::test

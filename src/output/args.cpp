#include "output/args.hpp"

#include <string_view>

#include "syscalls/tables/constants.hpp"

namespace vmitrace::output {
namespace {

using syscalls::ArgKind;

constexpr std::string_view kTruncated = "...";  // visible marker, inside the quotes

void append_string(Line& line, const ArgValue& a, uint64_t v, const FormatOptions& opt) {
  const event::BlobView& b = a.blob;
  bool have = (b.state == event::Capture::ok || b.state == event::Capture::truncated) &&
              b.data != nullptr;
  if (!have) {  // not captured or unreadable: the pointer, as DRAKVUF prints it
    line.hex(v);
    return;
  }
  std::string_view s(reinterpret_cast<const char*>(b.data), b.len);
  bool truncated = b.state == event::Capture::truncated;
  if (opt.string_limit != 0 && s.size() > opt.string_limit) {
    s = s.substr(0, opt.string_limit);
    truncated = true;
  }
  std::string& out = line.out();
  out += '"';
  append_escaped(out, s);
  if (truncated) out.append(kTruncated);
  out += '"';
}

// "NAME" or the value in hex when the set does not name it.
void append_enum(Line& line, const syscalls::ConstSet& set, uint64_t v) {
  if (const syscalls::NamedValue* nv = syscalls::find_value(set, v)) line.str(nv->name);
  else line.hex(v);
}

// "A | B | 0x..." (the zero name, e.g. PROT_NONE, for 0).
void append_flags(Line& line, const syscalls::ConstSet& set, uint64_t v) {
  std::string& out = line.out();
  out += '"';
  if (v == 0 && set.zero) {
    out.append(set.zero);
  } else {
    bool first = true;
    uint64_t rest = v;
    for (const syscalls::NamedValue& nv : set.values) {
      if (nv.value != 0 && (rest & nv.value) == nv.value) {
        if (!first) out.append(" | ");
        out.append(nv.name);
        rest &= ~nv.value;
        first = false;
      }
    }
    if (rest != 0 || first) {
      if (!first) out.append(" | ");
      append_hex(out, rest, line.upper_hex());
    }
  }
  out += '"';
}

}  // namespace

void append_arg(Line& line, const ArgValue& a, const FormatOptions& opt) {
  uint64_t v = syscalls::mask_arg(a.raw, a.bits);
  if (!a.info) {
    line.hex(v);
    return;
  }
  switch (a.info->kind) {
    case ArgKind::string: append_string(line, a, v, opt); break;
    case ArgKind::prot: append_flags(line, syscalls::consts::prot, v); break;
    case ArgKind::prctl_option: append_enum(line, syscalls::consts::prctl_option, v); break;
    case ArgKind::arch_prctl_code: append_enum(line, syscalls::consts::arch_prctl_code, v); break;
    default: line.hex(v); break;  // the other kinds are decoded by the rich style (later)
  }
}

}  // namespace vmitrace::output

// The tagged extras of a record as output keys: fd paths on entries, out arguments
// on sysrets. Both styles print them the same way (strace's text): raw mode keeps
// DRAKVUF's keys unchanged and only gains these.
#include <fmt/format.h>

#include "output/args.hpp"
#include "output/decode.hpp"

namespace vmitrace::output {
namespace {

using syscalls::ArgKind;

// "<name><suffix>" (or "arg<i><suffix>" for an unknown syscall) in buf.
std::string_view arg_key(char (&buf)[64], const syscalls::SyscallInfo* info, unsigned i,
                         std::string_view suffix) {
  fmt::format_to_n_result<char*> r{};
  if (info && i < info->nargs) r = fmt::format_to_n(buf, sizeof buf, "{}{}", info->args[i].name, suffix);
  else r = fmt::format_to_n(buf, sizeof buf, "arg{}{}", i, suffix);
  return {buf, std::min<size_t>(r.size, sizeof buf)};
}

bool known_state(event::Capture c) { return static_cast<uint8_t>(c) <= 3; }

}  // namespace

void append_fd_paths(Line& line, const event::Record& r, const syscalls::SyscallInfo* info) {
  char key[64];
  thread_local std::string text;
  event::for_each_extra(r, [&](const event::ExtraView& x) {
    if (x.tag != event::Extra::fd_path || x.arg >= event::kMaxArgs || !known_state(x.state)) return;
    text.clear();
    // A path longer than the capture keeps its tail: "..." in front says so.
    if (x.state == event::Capture::truncated) text.append("...");
    text.append(reinterpret_cast<const char*>(x.data), x.len);
    if (x.state == event::Capture::unreadable) text = "(unreadable)";
    line.key(arg_key(key, info, x.arg, "_path"));
    line.str(text);
  });
}

void append_out_args(Line& line, const event::Record& r, const syscalls::SyscallInfo* info,
                     const FormatOptions&) {
  if (!info) return;
  char key[64];
  thread_local std::string text;
  event::for_each_extra(r, [&](const event::ExtraView& x) {
    if (x.tag != event::Extra::out_arg || x.arg >= info->nargs || !known_state(x.state)) return;
    const syscalls::ArgInfo& a = info->args[x.arg];
    const std::string_view b(reinterpret_cast<const char*>(x.data), x.len);
    const bool trunc = x.state == event::Capture::truncated;
    text.clear();
    if (x.state == event::Capture::unreadable) {
      decode::ptr(text, syscalls::mask_arg(r.args[x.arg], a.bits));
      text.append(" (unreadable)");
    } else {
      switch (a.kind) {
        case ArgKind::stat_out:
        case ArgKind::stat32_out:
        case ArgKind::stat64_out:
        case ArgKind::statx_out: decode::stat(text, b, a.kind); break;
        case ArgKind::fd_pair_out: decode::fd_pair(text, b); break;
        case ArgKind::len_out: decode::int_ref(text, b); break;
        case ArgKind::sockaddr_out: decode::sockaddr(text, b, trunc); break;
        case ArgKind::out_buffer: decode::quoted(text, b, 0, trunc); break;  // --capture-buffers bounds it
        default: return;
      }
    }
    line.key(arg_key(key, info, x.arg, ""));
    line.str(text);
  });
}

}  // namespace vmitrace::output

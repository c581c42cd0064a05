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

// A path extra as text: a path longer than the capture keeps its tail ("..." in
// front says so); "(unreadable)" when the kernel objects could not be read.
void path_text(std::string& text, const event::ExtraView& x) {
  if (x.state == event::Capture::unreadable) {
    text.append("(unreadable)");
    return;
  }
  if (x.state == event::Capture::truncated) text.append("...");
  text.append(reinterpret_cast<const char*>(x.data), x.len);
}

}  // namespace

void append_fd_paths(Line& line, const event::Record& r, const syscalls::SyscallInfo* info) {
  char key[64];
  thread_local std::string text;
  event::for_each_extra(r, [&](const event::ExtraView& x) {
    if (x.tag != event::Extra::fd_path || x.arg >= event::kMaxArgs || !known_state(x.state)) return;
    text.clear();
    path_text(text, x);
    line.key(arg_key(key, info, x.arg, "_path"));
    line.str(text);
  });
}

void append_ret_path(Line& line, const event::Record& r) {
  thread_local std::string text;
  bool done = false;  // one key (a record is data: it might carry two)
  event::for_each_extra(r, [&](const event::ExtraView& x) {
    if (done || x.tag != event::Extra::ret_path || !known_state(x.state)) return;
    done = true;
    text.clear();
    path_text(text, x);
    line.key("Ret_path");
    line.str(text);
  });
}

void append_out_args(Line& line, const event::Record& r, const syscalls::SyscallInfo* info,
                     const FormatOptions& opt) {
  if (!info) return;
  char key[64];
  thread_local std::string text;
  event::for_each_extra(r, [&](const event::ExtraView& x) {
    if (x.tag != event::Extra::out_arg || x.arg >= info->nargs || !known_state(x.state)) return;
    const unsigned ptr_size = event::is_compat32(r.abi) ? 4 : 8;
    const syscalls::ArgInfo& a = info->args[x.arg];
    const std::string_view b(reinterpret_cast<const char*>(x.data), x.len);
    const bool trunc = x.state == event::Capture::truncated;
    // The raw style keeps the keys (and the escapes) it had before the rich style
    // learned more out arguments: none of the newer kinds, no empty read buffer.
    const bool rich = opt.args == ArgStyle::rich;
    if (!rich && (!syscalls::raw_shows_out_kind(a.kind) || (a.kind == ArgKind::out_buffer && x.len == 0)))
      return;
    const decode::Escapes esc = rich ? decode::Escapes::strace : decode::Escapes::utf8;
    text.clear();
    if (x.state == event::Capture::unreadable) {
      decode::ptr(text, syscalls::mask_arg(r.args[x.arg], a.bits));
      text.append(" (unreadable)");
    } else {
      switch (a.kind) {
        case ArgKind::stat_out:
        case ArgKind::stat32_out:
        case ArgKind::stat64_out:
        case ArgKind::stat_arm_out:
        case ArgKind::statx_out: decode::stat(text, b, a.kind); break;
        case ArgKind::fd_pair_out: decode::fd_pair(text, b); break;
        case ArgKind::len_out: decode::int_ref(text, b); break;
        case ArgKind::sockaddr_out: decode::sockaddr(text, b, trunc, esc); break;
        case ArgKind::out_buffer: decode::quoted(text, b, 0, trunc, esc); break;  // --capture-buffers bounds it
        case ArgKind::prctl_arg: decode::quoted(text, b, 0, trunc, esc); break;   // PR_GET_NAME
        case ArgKind::wait_status_out: decode::wait_status(text, b); break;
        case ArgKind::siginfo_out: decode::siginfo(text, b, ptr_size); break;
        case ArgKind::clone_ptid_out: decode::int_ref(text, b); break;
        case ArgKind::msghdr_out: decode::msghdr(text, b, ptr_size, esc); break;
        case ArgKind::mmsghdr_out:
          decode::mmsghdr(text, b, ptr_size, static_cast<uint64_t>(r.ret) & 0xffffffffu, esc);
          break;
        case ArgKind::sigset_out: decode::sigset(text, b); break;
        case ArgKind::sigaction_out: decode::sigaction(text, b, ptr_size); break;
        case ArgKind::rlimit_out: decode::rlimit(text, b, 8); break;
        case ArgKind::rlimit32_out: decode::rlimit(text, b, 4); break;
        case ArgKind::timespec_out: decode::timespec(text, b); break;
        case ArgKind::utsname_out: decode::utsname(text, b); break;
        case ArgKind::sysinfo_out: decode::sysinfo(text, b); break;
        case ArgKind::statfs_out: decode::statfs(text, b); break;
        case ArgKind::dirent64_out: decode::dirents64(text, b, trunc); break;
        case ArgKind::out_string: decode::quoted(text, b, 0, trunc); break;  // the string limit bounds it
        case ArgKind::ioctl_arg:  // TCGETS, TIOCGWINSZ
          decode::ioctl_out(text, a.len_arg >= 0 ? r.args[a.len_arg] : 0, b);
          break;
        case ArgKind::gid_list_out: decode::gid_list(text, b, trunc); break;
        case ArgKind::cpu_mask_out: decode::cpu_list(text, b, trunc); break;
        case ArgKind::random_out: decode::quoted(text, b, 0, trunc, decode::Escapes::hex_all); break;
        default: return;
      }
    }
    line.key(arg_key(key, info, x.arg, ""));
    line.str(text);
  });
}

}  // namespace vmitrace::output

// The rich argument style: picks the decoder for the argument's kind (the kind and
// its constant set come from the data tables) and writes its text as one string.
#include <string>

#include "output/args.hpp"
#include "output/decode.hpp"
#include "syscalls/tables/constants.hpp"

namespace vmitrace::output {
namespace {

using syscalls::ArgKind;

bool captured(const event::BlobView& b) {
  return (b.state == event::Capture::ok || b.state == event::Capture::truncated) &&
         b.data != nullptr;
}

std::string_view bytes(const event::BlobView& b) {
  return {reinterpret_cast<const char*>(b.data), b.len};
}

// A pointer whose data was not captured: NULL, the address, or the address marked
// unreadable when the capture side tried and failed.
void uncaptured_pointer(std::string& out, const event::BlobView& b, uint64_t v) {
  decode::ptr(out, v);
  if (v != 0 && b.state == event::Capture::unreadable) out.append(" (unreadable)");
}

void render(std::string& out, const ArgValue& a, const FormatOptions& opt) {
  const uint64_t v = syscalls::mask_arg(a.raw, a.bits);
  if (!a.info) {
    decode::hex(out, v);
    return;
  }
  const syscalls::ArgInfo& ai = *a.info;
  const bool trunc = a.blob.state == event::Capture::truncated;
  switch (ai.kind) {
    case ArgKind::int_: decode::dec(out, decode::sign_extend(v, a.bits)); break;
    case ArgKind::uint_: decode::udec(out, v); break;
    case ArgKind::hex: decode::alt_hex(out, v); break;
    case ArgKind::fd: decode::dec(out, decode::sign_extend(v, 32)); break;  // an int
    case ArgKind::dirfd: decode::dirfd(out, decode::sign_extend(v, 32)); break;
    case ArgKind::mode: decode::mode(out, v); break;
    case ArgKind::signal: decode::signal(out, decode::sign_extend(v, 32)); break;
    case ArgKind::open_flags: decode::open_flags(out, v, ai.set); break;
    case ArgKind::clone_flags: decode::clone_flags(out, v); break;
    case ArgKind::socket_type: decode::socket_type(out, v); break;
    case ArgKind::ioctl_cmd: decode::ioctl_cmd(out, v); break;
    case ArgKind::prot:
    case ArgKind::mmap_flags:
    case ArgKind::flags:
      if (ai.set) decode::flags(out, *ai.set, v);
      else decode::hex(out, v);
      break;
    case ArgKind::prctl_option:
    case ArgKind::arch_prctl_code:
    case ArgKind::enum_:
      if (ai.set) decode::enumeration(out, *ai.set, v);
      else decode::hex(out, v);
      break;
    case ArgKind::string:
    case ArgKind::buffer:
      if (captured(a.blob)) decode::quoted(out, bytes(a.blob), opt.string_limit, trunc);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::string_array:
      if (captured(a.blob)) decode::string_array(out, bytes(a.blob), opt.string_limit, trunc);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::sockaddr:
      if (captured(a.blob)) decode::sockaddr(out, bytes(a.blob), trunc);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::timespec:
    case ArgKind::timespec32:
      if (captured(a.blob)) decode::timespec(out, bytes(a.blob));
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::timespec_pair:
    case ArgKind::timespec32_pair:
      if (captured(a.blob))
        decode::utime_pair(out, bytes(a.blob), ai.kind == ArgKind::timespec_pair ? 16 : 8);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::sockopt_val:  // captured only when it is an int
      if (captured(a.blob)) decode::int_ref(out, bytes(a.blob));
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::iovec:
      if (captured(a.blob)) decode::iovec(out, bytes(a.blob), a.bits >= 64 ? 8 : 4, trunc);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::iovec_data:
      if (captured(a.blob)) decode::iovec_data(out, bytes(a.blob), a.bits >= 64 ? 8 : 4, trunc);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::futex_op: decode::futex_op(out, v); break;
    case ArgKind::futex_timeout:
    case ArgKind::futex_timeout32:
      if (captured(a.blob)) decode::timespec(out, bytes(a.blob));
      else if (a.all && ai.len_arg >= 0 && !syscalls::futex_has_timeout(a.all[ai.len_arg]))
        decode::udec(out, v & 0xffffffffu);  // val2 of the requeue/wake commands
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::prctl_arg:  // PR_SET_NAME's name; PR_GET_NAME's comes on the sysret
      if (captured(a.blob)) decode::quoted(out, bytes(a.blob), 0, trunc);
      else if (a.blob.state == event::Capture::unreadable) uncaptured_pointer(out, a.blob, v);
      else decode::prctl_arg2(out, a.all && ai.len_arg >= 0 ? a.all[ai.len_arg] : 0, v);
      break;
    case ArgKind::msghdr:
      if (captured(a.blob)) decode::msghdr(out, bytes(a.blob), a.bits >= 64 ? 8 : 4);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::mmsghdr:
      if (captured(a.blob))
        decode::mmsghdr(out, bytes(a.blob), a.bits >= 64 ? 8 : 4,
                        a.all && ai.len_arg >= 0 ? a.all[ai.len_arg] & 0xffffffffu : 1);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::socket_protocol:
      decode::socket_protocol(out, a.all && ai.len_arg >= 0 ? a.all[ai.len_arg] & 0xffffffffu : 0, v);
      break;
    case ArgKind::fcntl_arg:
      if (a.all && ai.len_arg >= 0) decode::fcntl_arg(out, a.all[ai.len_arg], v, ai.set);
      else decode::hex(out, v);
      break;
    case ArgKind::statx_flags: decode::statx_flags(out, v); break;
    case ArgKind::ioctl_arg:
      if (captured(a.blob)) decode::ifreq_flags(out, bytes(a.blob));  // SIOCSIFFLAGS
      else decode::ioctl_arg(out, a.all && ai.len_arg >= 0 ? a.all[ai.len_arg] : 0, v);
      break;
    case ArgKind::sockopt_name:
      decode::sockopt_name(out, a.all && ai.len_arg >= 0 ? a.all[ai.len_arg] : 0, v);
      break;
    case ArgKind::futex_val3:
      decode::futex_val3(out, a.all && ai.len_arg >= 0 ? a.all[ai.len_arg] : 0, v);
      break;
    case ArgKind::sigset:
      if (captured(a.blob)) decode::sigset(out, bytes(a.blob));
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::sigaction:
      if (captured(a.blob)) decode::sigaction(out, bytes(a.blob), a.bits >= 64 ? 8 : 4);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::rlimit:
    case ArgKind::rlimit32:
      if (captured(a.blob)) decode::rlimit(out, bytes(a.blob), ai.kind == ArgKind::rlimit32 ? 4 : 8);
      else uncaptured_pointer(out, a.blob, v);
      break;
    case ArgKind::ptr:
    case ArgKind::out_ptr:
    default: decode::ptr(out, v); break;  // out kinds: their data comes on the sysret
  }
}

}  // namespace

void append_rich_arg(Line& line, const ArgValue& a, const FormatOptions& opt) {
  // Reused per thread: no allocation once it has grown (format_event's promise).
  thread_local std::string text;
  text.clear();
  render(text, a, opt);
  line.str(text);
}

void append_rich_errno(Line& line, int64_t ret) {
  std::string& out = line.out();
  out += '"';
  if (const syscalls::NamedValue* nv = syscalls::errno_entry(ret)) {
    append_escaped(out, nv->name);
    if (nv->text[0] != '\0') {
      out.append(" (");
      append_escaped(out, nv->text);
      out += ')';
    }
  }
  out += '"';
}

}  // namespace vmitrace::output

#include "output/decode.hpp"

#include <fmt/format.h>

#include "output/escape.hpp"
#include "output/line.hpp"

namespace vmitrace::output::decode {
namespace {

using syscalls::ConstSet;
using syscalls::NamedValue;

constexpr char kHex[] = "0123456789abcdef";

// Appends the named bits of v; returns the unknown remainder. `first` tells whether
// nothing was written yet (it is updated).
uint64_t named_bits(std::string& out, const ConstSet& set, uint64_t v, bool& first) {
  for (const NamedValue& nv : set.values) {
    if (nv.value != 0 && (v & nv.value) == nv.value) {
      if (!first) out += '|';
      out.append(nv.name);
      v &= ~nv.value;
      first = false;
    }
  }
  return v;
}

void remainder(std::string& out, uint64_t rest, bool& first) {
  if (rest == 0) return;
  if (!first) out += '|';
  hex(out, rest);
  first = false;
}

}  // namespace

int64_t sign_extend(uint64_t v, unsigned bits) {
  if (bits >= 64) return static_cast<int64_t>(v);
  if (bits == 0) return 0;
  const uint64_t m = uint64_t{1} << (bits - 1);
  v &= (m << 1) - 1;
  return static_cast<int64_t>((v ^ m) - m);
}

void hex(std::string& out, uint64_t v) { append_hex(out, v, false); }
void dec(std::string& out, int64_t v) { out.append(fmt::format_int(v).c_str()); }
void udec(std::string& out, uint64_t v) { out.append(fmt::format_int(v).c_str()); }

void ptr(std::string& out, uint64_t v) {
  if (v == 0) out.append("NULL");
  else hex(out, v);
}

void alt_hex(std::string& out, uint64_t v) {
  if (v == 0) out += '0';
  else hex(out, v);
}

void flags(std::string& out, const ConstSet& set, uint64_t v) {
  if (v == 0) {
    out.append(set.zero ? set.zero : "0");
    return;
  }
  bool first = true;
  uint64_t rest = named_bits(out, set, v, first);
  remainder(out, rest, first);
}

void enumeration(std::string& out, const ConstSet& set, uint64_t v) {
  if (const NamedValue* nv = syscalls::find_value(set, v)) out.append(nv->name);
  else hex(out, v);
}

void open_flags(std::string& out, uint64_t v, const syscalls::ConstSet* flags) {
  enumeration(out, syscalls::consts::open_accmode, v & 3);
  bool first = false;
  remainder(out, named_bits(out, flags ? *flags : syscalls::consts::open_flags, v & ~uint64_t{3}, first), first);
}

void clone_flags(std::string& out, uint64_t v) {
  bool first = true;
  remainder(out, named_bits(out, syscalls::consts::clone_flags, v & ~uint64_t{0xff}, first),
            first);
  if (uint64_t sig = v & 0xff) {
    if (!first) out += '|';
    signal(out, static_cast<int64_t>(sig));
  }
  if (v == 0) out += '0';
}

void socket_type(std::string& out, uint64_t v) {
  const uint64_t type = v & 0xf;
  if (type == 0 && v != 0) {  // flags only
    flags(out, syscalls::consts::socket_flags, v);
    return;
  }
  if (const NamedValue* nv = syscalls::find_value(syscalls::consts::socket_type, type))
    out.append(nv->name);
  else
    alt_hex(out, type);
  bool first = false;
  remainder(out, named_bits(out, syscalls::consts::socket_flags, v & ~uint64_t{0xf}, first),
            first);
}

void ioctl_cmd(std::string& out, uint64_t v) {
  if (const NamedValue* nv = syscalls::find_value(syscalls::consts::ioctl_cmd, v)) {
    out.append(nv->name);
    return;
  }
  // <asm-generic/ioctl.h>: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits.
  out.append("_IOC(");
  flags(out, syscalls::consts::ioctl_dir, (v >> 30) & 3);
  out.append(", ");
  alt_hex(out, (v >> 8) & 0xff);
  out.append(", ");
  alt_hex(out, v & 0xff);
  out.append(", ");
  alt_hex(out, (v >> 16) & 0x3fff);
  out += ')';
  if (v >> 32) {  // bits no ioctl number has (a 64-bit register value)
    out.append("|");
    hex(out, v & ~uint64_t{0xffffffff});
  }
}

void futex_op(std::string& out, uint64_t v) {
  constexpr uint64_t kPrivate = 128, kClockRealtime = 256;
  const uint64_t cmd = v & ~(kPrivate | kClockRealtime);
  const NamedValue* nv = syscalls::find_value(syscalls::consts::futex_cmd, cmd);
  if (!nv) {
    hex(out, v);
    return;
  }
  out.append(nv->name);
  if (v & kPrivate) out.append("_PRIVATE");
  if (v & kClockRealtime) out.append("|FUTEX_CLOCK_REALTIME");
}

void signal(std::string& out, int64_t sig) {
  const NamedValue* nv =
      sig > 0 ? syscalls::find_value(syscalls::consts::signals, static_cast<uint64_t>(sig))
              : nullptr;
  if (nv) out.append(nv->name);
  else dec(out, sig);
}

void mode(std::string& out, uint64_t v) {
  char buf[24];
  char* p = buf + sizeof(buf);
  do { *--p = static_cast<char>('0' + (v & 7)); v >>= 3; } while (v);
  if (*p != '0') *--p = '0';  // the octal prefix (0 alone is already "0")
  for (size_t n = buf + sizeof(buf) - p; n < 3; ++n) *--p = '0';
  out.append(p, buf + sizeof(buf) - p);
}

void dirfd(std::string& out, int64_t fd) {
  if (fd == -100) out.append("AT_FDCWD");
  else dec(out, fd);
}

void socket_protocol(std::string& out, uint64_t family, uint64_t v) {
  constexpr uint64_t kAfInet = 2, kAfInet6 = 10;
  if (family == kAfInet || family == kAfInet6) enumeration(out, syscalls::consts::ipproto, v);
  else dec(out, sign_extend(v, 32));
}

void fcntl_arg(std::string& out, uint64_t cmd, uint64_t v, const syscalls::ConstSet* open_set) {
  switch (cmd & 0xffffffffu) {
    case 2: flags(out, syscalls::consts::fd_flags, v); break;  // F_SETFD
    case 4: open_flags(out, v, open_set); break;                // F_SETFL
    case 5: case 6: case 7: case 12: case 13: case 14:          // F_GETLK.. F_SETLKW64
    case 15: case 16:                                           // F_SETOWN_EX, F_GETOWN_EX
    case 36: case 37: case 38:                                  // F_OFD_GETLK..
      ptr(out, v);
      break;
    default: dec(out, sign_extend(v, 32)); break;
  }
}

void statx_flags(std::string& out, uint64_t v) {
  constexpr uint64_t kSyncType = 0x6000;
  switch (v & kSyncType) {
    case 0: out.append("AT_STATX_SYNC_AS_STAT"); break;
    case 0x2000: out.append("AT_STATX_FORCE_SYNC"); break;
    case 0x4000: out.append("AT_STATX_DONT_SYNC"); break;
    default: hex(out, kSyncType); break;
  }
  bool first = false;
  remainder(out, named_bits(out, syscalls::consts::at_flags, v & ~kSyncType, first), first);
}

void sockopt_name(std::string& out, uint64_t level, uint64_t v) {
  constexpr uint64_t kSolSocket = 1;
  if ((level & 0xffffffffu) == kSolSocket) enumeration(out, syscalls::consts::socket_options, v & 0xffffffffu);
  else dec(out, sign_extend(v, 32));
}

void prctl_arg2(std::string& out, uint64_t option, uint64_t v) {
  constexpr uint64_t kPrCapbsetRead = 23, kPrCapbsetDrop = 24;
  const uint64_t opt = option & 0xffffffffu;
  if (opt != kPrCapbsetRead && opt != kPrCapbsetDrop) {
    alt_hex(out, v);
  } else if (const syscalls::NamedValue* nv = syscalls::find_value(syscalls::consts::capability, v)) {
    out.append(nv->name);
  } else {  // a capability this kernel may not have (programs probe upwards)
    hex(out, v);
    out.append(" /* CAP_??? */");
  }
}

void futex_val3(std::string& out, uint64_t op, uint64_t v) {
  const uint64_t cmd = op & 0x7f;  // FUTEX_CMD_MASK without the private/clock bits
  v &= 0xffffffffu;
  if (cmd == 9 || cmd == 10) {  // FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET
    if (v == 0xffffffffu) out.append("FUTEX_BITSET_MATCH_ANY");
    else hex(out, v);
  } else {
    udec(out, v);
  }
}

namespace {

// The escapes strace and the utf8 style share; false for the other bytes.
bool named_escape(std::string& o, unsigned char c) {
  switch (c) {
    case '"': o.append("\\\""); return true;
    case '\\': o.append("\\\\"); return true;
    case '\t': o.append("\\t"); return true;
    case '\n': o.append("\\n"); return true;
    case '\v': o.append("\\v"); return true;
    case '\f': o.append("\\f"); return true;
    case '\r': o.append("\\r"); return true;
    default: return false;
  }
}

void hex_escape(std::string& o, unsigned char c) {
  const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  o.append(esc, 4);
}

// strace's octal: the fewest digits, three when the next byte is an octal digit (so
// that it does not read as part of the escape).
void octal_escape(std::string& o, unsigned char c, bool digit_follows) {
  o += '\\';
  if (digit_follows || c >= 0100) o += static_cast<char>('0' + (c >> 6));
  if (digit_follows || c >= 010) o += static_cast<char>('0' + ((c >> 3) & 7));
  o += static_cast<char>('0' + (c & 7));
}

}  // namespace

void quoted(std::string& out, std::string_view s, size_t limit, bool truncated, Escapes e) {
  if (limit != 0 && s.size() > limit) {
    s = s.substr(0, limit);
    truncated = true;
  }
  out += '"';
  switch (e) {
    case Escapes::strace:
      for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += static_cast<char>(c);
        else if (!named_escape(out, c))
          octal_escape(out, c, i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7');
      }
      break;
    case Escapes::hex_all:
      for (char c : s) hex_escape(out, static_cast<unsigned char>(c));
      break;
    case Escapes::utf8:
      append_escaped_with(out, s, [](std::string& o, unsigned char c) {
        if (!named_escape(o, c)) hex_escape(o, c);
      });
      break;
  }
  out += '"';
  if (truncated) out.append("...");
}

void string_array(std::string& out, std::string_view blob, size_t limit, bool truncated) {
  out += '[';
  bool first = true;
  while (!blob.empty()) {
    size_t end = blob.find('\0');
    std::string_view item = blob.substr(0, end);
    if (!first) out.append(", ");
    quoted(out, item, limit, false);
    first = false;
    if (end == std::string_view::npos) {  // the last string was cut: no terminator
      out.append("...");
      break;
    }
    blob.remove_prefix(end + 1);
  }
  if (truncated) out.append(first ? "..." : ", ...");
  out += ']';
}

}  // namespace vmitrace::output::decode

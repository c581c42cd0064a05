// Terminal structures of the rich style: struct termios (ioctl TCGETS), as strace -v
// prints it.
#include "output/decode.hpp"
#include "output/struct_bytes.hpp"

namespace vmitrace::output::decode {
namespace {

namespace consts = syscalls::consts;

// A multi-bit field of c_oflag and the names of its values (strace prints each field's
// value, NL0 included, before the single bits).
struct DelayField {
  uint32_t mask;
  unsigned shift;
  const char* names[4];
};
constexpr DelayField kOutputDelays[] = {
    {0x100, 8, {"NL0", "NL1"}},               // NLDLY
    {0x600, 9, {"CR0", "CR1", "CR2", "CR3"}},  // CRDLY
    {0x1800, 11, {"TAB0", "TAB1", "TAB2", "TAB3"}},  // TABDLY (TAB3 is XTABS)
    {0x2000, 13, {"BS0", "BS1"}},             // BSDLY
    {0x4000, 14, {"VT0", "VT1"}},             // VTDLY
    {0x8000, 15, {"FF0", "FF1"}},             // FFDLY
};

void oflag(std::string& out, uint32_t v) {
  for (const DelayField& f : kOutputDelays) {
    out.append(f.names[(v & f.mask) >> f.shift]);
    out += '|';
    v &= ~f.mask;
  }
  flags(out, consts::termios_oflag, v);
}

void cflag(std::string& out, uint32_t v) {
  constexpr uint32_t kCbaud = 0x100f, kCsize = 0x30;
  enumeration(out, consts::termios_baud, v & kCbaud);
  out.append("|CS");
  udec(out, 5 + ((v & kCsize) >> 4));
  v &= ~(kCbaud | kCsize);
  if (v) {
    out += '|';
    flags(out, consts::termios_cflag, v);
  }
}

}  // namespace

void termios(std::string& out, std::string_view b) {
  constexpr size_t kNcc = 19;  // the kernel's struct termios: c_cc[19] at 17
  uint32_t iflag = 0, oflag_v = 0, cflag_v = 0, lflag = 0;
  uint8_t line = 0;
  if (!get(b, 0, iflag) || !get(b, 4, oflag_v) || !get(b, 8, cflag_v) || !get(b, 12, lflag) ||
      !get(b, 16, line) || b.size() < 17 + kNcc) {
    out.append("{...}");
    return;
  }
  out.append("{c_iflag=");
  flags(out, consts::termios_iflag, iflag);
  out.append(", c_oflag=");
  oflag(out, oflag_v);
  out.append(", c_cflag=");
  cflag(out, cflag_v);
  out.append(", c_lflag=");
  flags(out, consts::termios_lflag, lflag);
  out.append(", c_line=");
  enumeration(out, consts::tty_ldisc, line);
  out.append(", c_cc=[");
  for (size_t i = 0; i < kNcc; ++i) {
    if (i) out.append(", ");
    out += '[';
    if (const syscalls::NamedValue* nv = syscalls::find_value(consts::termios_cc, i)) out.append(nv->name);
    else udec(out, i);
    out.append("]=");
    alt_hex(out, static_cast<uint8_t>(b[17 + i]));
  }
  out.append("]}");
}

// ioctl(2) third argument at entry: the descriptor of FICLONE, the int of TIOCSCTTY,
// else the pointer (TCGETS's structure comes on the sysret).
void ioctl_arg(std::string& out, uint64_t cmd, uint64_t v) {
  switch (cmd & 0xffffffffu) {
    case 0x40049409:  // FICLONE: the source descriptor
    case 0x540e:      // TIOCSCTTY: an int
      dec(out, sign_extend(v, 32));
      break;
    default: ptr(out, v); break;
  }
}

}  // namespace vmitrace::output::decode

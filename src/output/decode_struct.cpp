// Structure decoders of the rich style: the bytes a pointer argument referred to
// (copied at entry or return), bounds-checked against what was captured (a record
// is data: a field that is not all there is not printed).
#include <arpa/inet.h>

#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "output/decode.hpp"
#include "output/struct_bytes.hpp"

namespace vmitrace::output::decode {
namespace {

// " /* 2023-11-14T22:13:20.5+0000 */" after a time (fraction only when nsec is not 0,
// nine digits as strace writes it); nothing when the time is not a valid date.
void utc_comment(std::string& out, int64_t sec, int64_t nsec) {
  if (nsec < 0 || nsec >= 1000000000) return;
  const time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return;
  char date[64];
  if (std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) return;
  out.append(" /* ");
  out.append(date);
  if (nsec != 0) out.append(fmt::format(".{:09}", nsec));
  out.append("+0000 */");
}

void file_type_and_mode(std::string& out, uint32_t m) {
  static constexpr struct { uint32_t v; const char* n; } kTypes[] = {
      {0140000, "S_IFSOCK"}, {0120000, "S_IFLNK"}, {0100000, "S_IFREG"}, {0060000, "S_IFBLK"},
      {0040000, "S_IFDIR"},  {0020000, "S_IFCHR"}, {0010000, "S_IFIFO"}};
  const uint32_t type = m & 0170000;
  bool named = false;
  for (const auto& t : kTypes)
    if (t.v == type) {
      out.append(t.n);
      named = true;
    }
  if (!named && type) hex(out, type);
  if (named || type) out += '|';
  // The set-id and sticky bits by name, as strace's sprintmode: S_IFDIR|S_ISVTX|0777.
  if (m & 04000) out.append("S_ISUID|");
  if (m & 02000) out.append("S_ISGID|");
  if (m & 01000) out.append("S_ISVTX|");
  mode(out, m & 0777);
}

// makedev(0x88, 0) from the kernel's new dev_t encoding (huge_encode_dev).
void makedev(std::string& out, uint64_t dev) {
  const uint64_t major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~uint64_t{0xfff});
  const uint64_t minor = (dev & 0xff) | ((dev >> 12) & ~uint64_t{0xff});
  out.append("makedev(");
  alt_hex(out, major);
  out.append(", ");
  alt_hex(out, minor);
  out += ')';
}

}  // namespace

void sockaddr(std::string& out, std::string_view b, bool truncated, Escapes e) {
  uint16_t family = 0;
  out += '{';
  if (!get(b, 0, family)) {
    out.append("...}");
    return;
  }
  out.append("sa_family=");
  enumeration(out, syscalls::consts::socket_domain, family);
  if (family == 2 /* AF_INET */ && b.size() >= 8) {
    uint16_t port = 0;
    get(b, 2, port);
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, b.data() + 4, ip, sizeof ip);
    out.append(", sin_port=htons(");
    udec(out, ntohs(port));
    out.append("), sin_addr=inet_addr(\"");
    out.append(ip);
    out.append("\")");
  } else if (family == 10 /* AF_INET6 */ && b.size() >= 24) {
    uint16_t port = 0;
    uint32_t flow = 0, scope = 0;
    get(b, 2, port);
    get(b, 4, flow);
    char ip[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, b.data() + 8, ip, sizeof ip);
    out.append(", sin6_port=htons(");
    udec(out, ntohs(port));
    out.append("), sin6_flowinfo=htonl(");
    udec(out, ntohl(flow));
    out.append("), inet_pton(AF_INET6, \"");
    out.append(ip);
    out.append("\", &sin6_addr)");
    if (get(b, 24, scope)) {
      out.append(", sin6_scope_id=");
      udec(out, scope);
    }
  } else if (family == 1 /* AF_UNIX */ && b.size() > 2) {  // an unnamed socket: the family only
    std::string_view path = b.substr(2);
    out.append(", sun_path=");
    if (!path.empty() && path[0] == '\0') {  // abstract socket: no terminator, "@name"
      out += '@';
      quoted(out, path.substr(1), 0, false, e);
    } else {
      quoted(out, path.substr(0, path.find('\0')), 0, false, e);
    }
  } else if (b.size() > 2) {
    out.append(", ...");
  }
  out += '}';
  if (truncated) out.append("...");
}

void utime_pair(std::string& out, std::string_view b, size_t elem_size) {
  constexpr int64_t kUtimeNow = (1 << 30) - 1, kUtimeOmit = (1 << 30) - 2;
  if (b.size() < 2 * elem_size) {
    out.append("[...]");
    return;
  }
  out += '[';
  for (size_t i = 0; i < 2; ++i) {
    if (i) out.append(", ");
    const std::string_view one = b.substr(i * elem_size, elem_size);
    int64_t sec = 0, nsec = 0;
    if (elem_size == 16) {
      get(one, 0, sec);
      get(one, 8, nsec);
    } else {
      int32_t s = 0, n = 0;
      get(one, 0, s);
      get(one, 4, n);
      sec = s;
      nsec = n;
    }
    out.append("{tv_sec=");
    dec(out, sec);
    out.append(", tv_nsec=");
    if (nsec == kUtimeNow || nsec == kUtimeOmit) {
      out.append(nsec == kUtimeNow ? "UTIME_NOW}" : "UTIME_OMIT}");
      continue;
    }
    dec(out, nsec);
    out += '}';
    utc_comment(out, sec, nsec);
  }
  out += ']';
}

void timespec(std::string& out, std::string_view b) {
  int64_t sec = 0, nsec = 0;
  if (b.size() >= 16) {
    get(b, 0, sec);
    get(b, 8, nsec);
  } else if (b.size() >= 8) {
    int32_t s = 0, n = 0;
    get(b, 0, s);
    get(b, 4, n);
    sec = s;
    nsec = n;
  } else {
    out.append("{...}");
    return;
  }
  out.append("{tv_sec=");
  dec(out, sec);
  out.append(", tv_nsec=");
  dec(out, nsec);
  out += '}';
}

namespace {

// [{iov_base=..., iov_len=5}, ...] from {base, len} pairs; `data` (iovec_data's blob
// after the pairs: u16 n + n bytes per pair, in order) shows the buffers' bytes when
// it has them.
void iovec_items(std::string& out, std::string_view pairs, std::string_view data,
                 unsigned ptr_size, bool truncated) {
  out += '[';
  const size_t item = 2 * size_t{ptr_size};
  for (size_t off = 0; off + item <= pairs.size(); off += item) {
    uint64_t base = 0, len = 0;
    std::memcpy(&base, pairs.data() + off, ptr_size);
    std::memcpy(&len, pairs.data() + off + ptr_size, ptr_size);
    if (off) out.append(", ");
    out.append("{iov_base=");
    uint16_t n = 0;
    if (get(data, 0, n) && n <= data.size() - 2) {
      quoted(out, data.substr(2, n), 0, n < len);
      data.remove_prefix(2 + size_t{n});
    } else {
      data = {};  // no (more) data: the pointers
      ptr(out, base);
    }
    out.append(", iov_len=");
    udec(out, len);
    out += '}';
  }
  if (truncated) out.append(pairs.size() >= item ? ", ..." : "...");
  out += ']';
}

}  // namespace

void iovec(std::string& out, std::string_view b, unsigned ptr_size, bool truncated) {
  iovec_items(out, b, {}, ptr_size, truncated);
}

void iovec_data(std::string& out, std::string_view b, unsigned ptr_size, bool truncated) {
  uint16_t pair_bytes = 0;
  if (!get(b, 0, pair_bytes) || pair_bytes > b.size() - 2) {
    out.append("[...]");
    return;
  }
  iovec_items(out, b.substr(2, pair_bytes), b.substr(2 + size_t{pair_bytes}), ptr_size, truncated);
}

void stat(std::string& out, std::string_view b, syscalls::ArgKind which) {
  using syscalls::ArgKind;
  uint32_t m = 0;
  uint64_t size = 0, rdev = 0;
  bool ok = false;
  out += '{';
  switch (which) {
    case ArgKind::stat_out: {  // x86-64: st_mode @24, st_rdev @40, st_size @48
      ok = get(b, 24, m) && get(b, 40, rdev) && get(b, 48, size);
      break;
    }
    case ArgKind::stat32_out: {  // compat_stat: u16 st_mode @8, u32 rdev @16, u32 size @20
      uint16_t m16 = 0;
      uint32_t r32 = 0, s32 = 0;
      ok = get(b, 8, m16) && get(b, 16, r32) && get(b, 20, s32);
      m = m16, rdev = r32, size = s32;
      break;
    }
    case ArgKind::stat64_out:  // i386 stat64: st_mode @16, st_rdev @32, st_size @44
      ok = get(b, 16, m) && get(b, 32, rdev) && get(b, 44, size);
      break;
    case ArgKind::stat_arm_out:  // arm64 stat, arm stat64: st_mode @16, st_rdev @32, st_size @48
      ok = get(b, 16, m) && get(b, 32, rdev) && get(b, 48, size);
      break;
    case ArgKind::statx_out: {  // stx_mask @0, stx_attributes @8, stx_mode @28, stx_size @40,
                                // stx_rdev_major/minor @128/@132
      uint32_t mask = 0, rmaj = 0, rmin = 0;
      uint64_t attrs = 0;
      uint16_t m16 = 0;
      if (!(get(b, 0, mask) && get(b, 8, attrs) && get(b, 28, m16) && get(b, 40, size) &&
            get(b, 128, rmaj) && get(b, 132, rmin)))
        break;
      out.append("stx_mask=");
      flags(out, syscalls::consts::statx_mask, mask);
      out.append(", stx_attributes=");
      flags(out, syscalls::consts::statx_attributes, attrs);
      out.append(", stx_mode=");
      file_type_and_mode(out, m16);
      const uint32_t type = m16 & 0170000;
      if (type == 0020000 || type == 0060000) {
        out.append(", stx_rdev_major=");
        udec(out, rmaj);
        out.append(", stx_rdev_minor=");
        udec(out, rmin);
      } else {
        out.append(", stx_size=");
        udec(out, size);
      }
      out.append(", ...}");
      return;
    }
    default: break;
  }
  if (!ok) {
    out.append("...}");
    return;
  }
  out.append("st_mode=");
  file_type_and_mode(out, m);
  const uint32_t type = m & 0170000;
  if (type == 0020000 || type == 0060000) {
    out.append(", st_rdev=");
    makedev(out, rdev);
  } else {
    out.append(", st_size=");
    udec(out, size);
  }
  out.append(", ...}");
}

void fd_pair(std::string& out, std::string_view b) {
  int32_t a = 0, c = 0;
  if (!get(b, 0, a) || !get(b, 4, c)) {
    out.append("[...]");
    return;
  }
  out += '[';
  dec(out, a);
  out.append(", ");
  dec(out, c);
  out += ']';
}

void user_desc(std::string& out, std::string_view b) {
  uint32_t entry = 0, base = 0, limit = 0, bits = 0;
  if (!get(b, 0, entry) || !get(b, 4, base) || !get(b, 8, limit) || !get(b, 12, bits)) {
    out.append("{...}");
    return;
  }
  out.append("{entry_number=");
  dec(out, static_cast<int32_t>(entry));
  out.append(", base_addr=");
  alt_hex(out, base);
  out.append(fmt::format(", limit={:#08x}", limit));
  // <asm/ldt.h>: seg_32bit:1, contents:2, read_exec_only:1, limit_in_pages:1,
  // seg_not_present:1, useable:1 from bit 0.
  static constexpr struct { const char* name; unsigned shift, width; } kBits[] = {
      {"seg_32bit", 0, 1}, {"contents", 1, 2}, {"read_exec_only", 3, 1}, {"limit_in_pages", 4, 1},
      {"seg_not_present", 5, 1}, {"useable", 6, 1}};
  for (const auto& f : kBits) {
    out.append(", ").append(f.name).append("=");
    dec(out, (bits >> f.shift) & ((1u << f.width) - 1));
  }
  out += '}';
}

void int_ref(std::string& out, std::string_view b) {
  int64_t v = 0;
  int32_t v32 = 0;
  if (b.size() >= 8 ? !get(b, 0, v) : !get(b, 0, v32)) {
    out.append("[...]");
    return;
  }
  if (b.size() < 8) v = v32;
  out += '[';
  dec(out, v);
  out += ']';
}

void wait_status(std::string& out, std::string_view b) {
  uint32_t s = 0;
  if (!get(b, 0, s)) {
    out.append("[...]");
    return;
  }
  out.append("[{");
  if ((s & 0xff) == 0x7f) {  // stopped
    const uint32_t sig = (s >> 8) & 0xff;
    out.append("WIFSTOPPED(s) && WSTOPSIG(s) == ");
    signal(out, sig & 0x7f);
    if (sig & 0x80) out.append(" | 0x80");
    s &= ~uint32_t{0xff7f};
  } else if ((s & 0x7f) != 0 && s != 0xffff) {  // killed by a signal
    out.append("WIFSIGNALED(s) && WTERMSIG(s) == ");
    signal(out, s & 0x7f);
    if (s & 0x80) out.append(" && WCOREDUMP(s)");
    s &= ~uint32_t{0xff};
  } else if ((s & 0x7f) == 0) {  // exited
    out.append("WIFEXITED(s) && WEXITSTATUS(s) == ");
    udec(out, (s >> 8) & 0xff);
    s &= ~uint32_t{0xff00};
  } else {  // 0xffff: continued
    out.append("WIFCONTINUED(s)");
    s = 0;
  }
  out += '}';
  if (s >> 16) {  // a ptrace event in the high bits
    out.append(" | ");
    hex(out, s >> 16);
    out.append(" << 16");
  }
  if (s & 0xffff) {
    out.append(" | ");
    hex(out, s & 0xffff);
  }
  out += ']';
}

void siginfo(std::string& out, std::string_view b, unsigned ptr_size) {
  int32_t signo = 0, code = 0, pid = 0, status = 0;
  uint32_t uid = 0;
  int64_t utime = 0, stime = 0;
  bool ok = get(b, 0, signo) && get(b, 8, code);
  if (ptr_size == 4) {  // compat_siginfo: the union at 12, clock_t of 32 bits
    int32_t ut = 0, st = 0;
    ok = ok && get(b, 12, pid) && get(b, 16, uid) && get(b, 20, status) && get(b, 24, ut) &&
         get(b, 28, st);
    utime = ut, stime = st;
  } else {  // the union at 16, clock_t of 64 bits
    ok = ok && get(b, 16, pid) && get(b, 20, uid) && get(b, 24, status) && get(b, 32, utime) &&
         get(b, 40, stime);
  }
  if (!ok) {
    out.append("{...}");
    return;
  }
  if (signo == 0) {  // WNOHANG and no child to report
    out.append("{}");
    return;
  }
  out.append("{si_signo=");
  signal(out, signo);
  out.append(", si_code=");
  const bool chld = signo == 17;  // SIGCHLD
  if (const syscalls::NamedValue* nv =
          chld ? syscalls::find_value(syscalls::consts::sigchld_code, static_cast<uint32_t>(code))
               : nullptr)
    out.append(nv->name);
  else
    dec(out, code);
  out.append(", si_pid=");
  dec(out, pid);
  out.append(", si_uid=");
  udec(out, uid);
  if (chld) {
    out.append(", si_status=");
    if (code == 1 /* CLD_EXITED */) dec(out, status);
    else signal(out, status);
    out.append(", si_utime=");
    dec(out, utime);
    out.append(", si_stime=");
    dec(out, stime);
  }
  out += '}';
}

namespace {
// Bytes of a msghdr blob (its part lengths say), 0 when they do not fit in b.
size_t msghdr_blob_size(std::string_view b, unsigned ptr_size) {
  uint16_t name_bytes = 0, iov_bytes = 0;
  const size_t n = 4 + size_t{syscalls::msghdr_layout(ptr_size).size};
  if (!get(b, 0, name_bytes) || !get(b, 2, iov_bytes) || n + name_bytes + iov_bytes > b.size())
    return 0;
  return n + name_bytes + iov_bytes;
}
}  // namespace

void mmsghdr(std::string& out, std::string_view b, unsigned ptr_size, uint64_t count, Escapes e) {
  const size_t n = msghdr_blob_size(b, ptr_size);
  out.append("[{msg_hdr=");
  msghdr(out, b.substr(0, n), ptr_size, e);
  uint32_t msg_len = 0;
  if (n && get(b, n, msg_len)) {
    out.append(", msg_len=");
    udec(out, msg_len);
  }
  out += '}';
  if (count > 1) out.append(", ...");
  out += ']';
}

void msghdr(std::string& out, std::string_view b, unsigned ptr_size, Escapes e) {
  const syscalls::MsghdrLayout L = syscalls::msghdr_layout(ptr_size);
  uint16_t name_bytes = 0, iov_bytes = 0;
  if (msghdr_blob_size(b, ptr_size) == 0) {
    out.append("{...}");
    return;
  }
  get(b, 0, name_bytes);
  get(b, 2, iov_bytes);
  const std::string_view h = b.substr(4, L.size);
  auto word = [&](uint32_t off, unsigned w) {
    uint64_t v = 0;
    std::memcpy(&v, h.data() + off, w);
    return v;
  };
  const uint64_t name = word(L.name, ptr_size), iov = word(L.iov, ptr_size);
  const uint32_t namelen = static_cast<uint32_t>(word(L.namelen, 4));
  const uint64_t iovlen = word(L.iovlen, L.word), controllen = word(L.controllen, L.word);
  const uint32_t flags = static_cast<uint32_t>(word(L.flags, 4));
  out.append("{msg_name=");
  if (name_bytes) {
    sockaddr(out, b.substr(4 + L.size, name_bytes), namelen > name_bytes, e);
  } else {
    ptr(out, name);
    if (name != 0 && namelen != 0) out.append(" (unreadable)");
  }
  out.append(", msg_namelen=");
  dec(out, static_cast<int32_t>(namelen));
  out.append(", msg_iov=");
  if (iov_bytes) {
    iovec(out, b.substr(4 + size_t{L.size} + name_bytes, iov_bytes), ptr_size,
          iovlen > iov_bytes / (2 * ptr_size));
  } else {
    ptr(out, iov);
    if (iov != 0 && iovlen != 0) out.append(" (unreadable)");
  }
  out.append(", msg_iovlen=");
  udec(out, iovlen);
  out.append(", msg_controllen=");
  udec(out, controllen);
  out.append(", msg_flags=");
  alt_hex(out, flags);
  out += '}';
}

}  // namespace vmitrace::output::decode

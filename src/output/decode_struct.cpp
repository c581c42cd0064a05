// Structure decoders of the rich style: the bytes a pointer argument referred to
// (copied at entry or return), bounds-checked against what was captured (a record
// is data: a field that is not all there is not printed).
#include <arpa/inet.h>

#include <cstring>

#include "output/decode.hpp"

namespace vmitrace::output::decode {
namespace {

template <class T>
bool get(std::string_view b, size_t off, T& v) {
  if (off + sizeof(T) > b.size()) return false;
  std::memcpy(&v, b.data() + off, sizeof(T));  // little-endian guest, as the host
  return true;
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
  mode(out, m & 07777);
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

void sockaddr(std::string& out, std::string_view b, bool truncated) {
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
  } else if (family == 1 /* AF_UNIX */) {
    std::string_view path = b.substr(2);
    out.append(", sun_path=");
    if (!path.empty() && path[0] == '\0') {  // abstract socket: no terminator, "@name"
      out += '@';
      quoted(out, path.substr(1), 0, false);
    } else {
      quoted(out, path.substr(0, path.find('\0')), 0, false);
    }
  } else if (b.size() > 2) {
    out.append(", ...");
  }
  out += '}';
  if (truncated) out.append("...");
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

void iovec(std::string& out, std::string_view b, unsigned ptr_size, bool truncated) {
  out += '[';
  const size_t item = 2 * size_t{ptr_size};
  for (size_t off = 0; off + item <= b.size(); off += item) {
    uint64_t base = 0, len = 0;
    std::memcpy(&base, b.data() + off, ptr_size);
    std::memcpy(&len, b.data() + off + ptr_size, ptr_size);
    if (off) out.append(", ");
    out.append("{iov_base=");
    ptr(out, base);
    out.append(", iov_len=");
    udec(out, len);
    out += '}';
  }
  if (truncated) out.append(b.size() >= item ? ", ..." : "...");
  out += ']';
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
      alt_hex(out, attrs);
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

void int_ref(std::string& out, std::string_view b) {
  int32_t v = 0;
  if (!get(b, 0, v)) {
    out.append("[...]");
    return;
  }
  out += '[';
  dec(out, v);
  out += ']';
}

}  // namespace vmitrace::output::decode

// File system structures of the rich style (directory entries, statfs), as strace
// prints them with -v.
#include "output/decode.hpp"
#include "output/struct_bytes.hpp"

namespace vmitrace::output::decode {

void dirents64(std::string& out, std::string_view b, bool truncated) {
  constexpr size_t kHeader = 19;  // d_ino, d_off, d_reclen, d_type; d_name follows
  out += '[';
  size_t off = 0;
  bool first = true;
  while (off < b.size()) {
    uint64_t ino = 0;
    int64_t doff = 0;
    uint16_t reclen = 0;
    uint8_t type = 0;
    // A record that does not fit what was captured (or is malformed) ends the list.
    if (!get(b, off, ino) || !get(b, off + 8, doff) || !get(b, off + 16, reclen) ||
        !get(b, off + 18, type) || reclen < kHeader || reclen > b.size() - off) {
      truncated = true;
      break;
    }
    if (!first) out.append(", ");
    first = false;
    out.append("{d_ino=");
    udec(out, ino);
    out.append(", d_off=");
    dec(out, doff);
    out.append(", d_reclen=");
    udec(out, reclen);
    out.append(", d_type=");
    enumeration(out, syscalls::consts::dirent_type, type);
    out.append(", d_name=");
    const std::string_view name = b.substr(off + kHeader, reclen - kHeader);
    quoted(out, name.substr(0, name.find('\0')), 0, false);
    out += '}';
    off += reclen;
  }
  if (truncated) out.append(first ? "..." : ", ...");
  out += ']';
}

void statfs(std::string& out, std::string_view b, syscalls::ArgKind which) {
  // f_type, f_bsize, 5 counts, f_fsid (2 x u32), f_namelen, f_frsize, f_flags: all 8
  // bytes but f_fsid (x86-64); all 4 (compat_statfs); 4, 4, counts of 8, then 4 (statfs64).
  const bool x64 = which == syscalls::ArgKind::statfs_out, s32 = which == syscalls::ArgKind::statfs32_out;
  auto field = [&](size_t off, size_t size, uint64_t& v) {
    uint32_t v32 = 0;
    if (size == 8) return get(b, off, v);
    const bool ok = get(b, off, v32);
    v = v32;
    return ok;
  };
  uint64_t v[7] = {}, namelen = 0, frsize = 0, fl = 0;
  uint32_t fsid[2] = {};
  bool ok = true;
  size_t off = 0;
  for (size_t i = 0; i < 7; ++i) {
    const size_t size = x64 || (!s32 && i >= 2) ? 8 : 4;
    ok = ok && field(off, size, v[i]);
    off += size;
  }
  const size_t tail = x64 ? 8 : 4;
  ok = ok && get(b, off, fsid[0]) && get(b, off + 4, fsid[1]) && field(off + 8, tail, namelen) &&
       field(off + 8 + tail, tail, frsize) && field(off + 8 + 2 * tail, tail, fl);
  if (!ok) {
    out.append("{...}");
    return;
  }
  static constexpr const char* kCounts[] = {"f_bsize", "f_blocks", "f_bfree", "f_bavail",
                                            "f_files", "f_ffree"};
  out.append("{f_type=");
  enumeration(out, syscalls::consts::fs_magic, v[0]);
  for (size_t i = 0; i < 6; ++i) {
    out.append(", ");
    out.append(kCounts[i]);
    out += '=';
    udec(out, v[i + 1]);
  }
  out.append(", f_fsid={val=[");
  alt_hex(out, fsid[0]);
  out.append(", ");
  alt_hex(out, fsid[1]);
  out.append("]}, f_namelen=");
  udec(out, namelen);
  out.append(", f_frsize=");
  udec(out, frsize);
  out.append(", f_flags=");
  flags(out, syscalls::consts::statfs_flags, fl);
  out += '}';
}

}  // namespace vmitrace::output::decode

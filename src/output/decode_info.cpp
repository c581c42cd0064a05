// Process and system information structures of the rich style (resource limits,
// uname, sysinfo), as strace prints them.
#include "output/decode.hpp"
#include "output/struct_bytes.hpp"

namespace vmitrace::output::decode {
namespace {

// strace's rlimit value: RLIM64_INFINITY, multiples of 1024 as N*1024, else decimal.
void rlim_value(std::string& out, uint64_t v, unsigned word) {
  if (word == 4 && v == 0xffffffffu) {
    out.append("RLIM_INFINITY");
  } else if (v == ~uint64_t{0}) {
    out.append("RLIM64_INFINITY");
  } else if (v > 1024 && v % 1024 == 0) {
    udec(out, v / 1024);
    out.append("*1024");
  } else {
    udec(out, v);
  }
}

}  // namespace

void rlimit(std::string& out, std::string_view b, unsigned word) {
  uint64_t cur = 0, max = 0;
  bool ok;
  if (word == 4) {
    uint32_t c = 0, m = 0;
    ok = get(b, 0, c) && get(b, 4, m);
    cur = c, max = m;
  } else {
    ok = get(b, 0, cur) && get(b, 8, max);
  }
  if (!ok) {
    out.append("{...}");
    return;
  }
  out.append("{rlim_cur=");
  rlim_value(out, cur, word);
  out.append(", rlim_max=");
  rlim_value(out, max, word);
  out += '}';
}

void gid_list(std::string& out, std::string_view b, bool truncated) {
  out += '[';
  for (size_t off = 0; off + 4 <= b.size(); off += 4) {
    uint32_t gid = 0;
    get(b, off, gid);
    if (off) out.append(", ");
    udec(out, gid);
  }
  if (truncated) out.append(b.size() >= 4 ? ", ..." : "...");
  out += ']';
}

void cpu_list(std::string& out, std::string_view b, bool truncated) {
  out += '[';
  bool first = true;
  for (size_t i = 0; i < b.size(); ++i) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if (!(static_cast<uint8_t>(b[i]) & (1u << bit))) continue;
      if (!first) out.append(", ");
      first = false;
      udec(out, i * 8 + bit);
    }
  }
  if (truncated) out.append(first ? "..." : ", ...");
  out += ']';
}

void utsname(std::string& out, std::string_view b) {
  constexpr size_t kLen = 65;  // __NEW_UTS_LEN + 1
  static constexpr const char* kFields[] = {"sysname", "nodename", "release",
                                            "version", "machine", "domainname"};
  out += '{';
  size_t off = 0;
  for (const char* field : kFields) {
    if (off != 0) out.append(", ");
    if (b.size() < off + kLen) {
      out.append("...");
      break;
    }
    const std::string_view s = b.substr(off, kLen);
    out.append(field);
    out += '=';
    quoted(out, s.substr(0, s.find('\0')), 0, false);
    off += kLen;
  }
  out += '}';
}

void sysinfo(std::string& out, std::string_view b) {
  int64_t uptime = 0;
  uint64_t loads[3] = {}, ram[6] = {}, high[2] = {};
  uint16_t procs = 0;
  uint32_t mem_unit = 0;
  bool ok = get(b, 0, uptime) && get(b, 80, procs) && get(b, 88, high[0]) &&
            get(b, 96, high[1]) && get(b, 104, mem_unit);
  for (size_t i = 0; i < 3; ++i) ok = ok && get(b, 8 + 8 * i, loads[i]);
  for (size_t i = 0; i < 6; ++i) ok = ok && get(b, 32 + 8 * i, ram[i]);
  if (!ok) {
    out.append("{...}");
    return;
  }
  static constexpr const char* kRam[] = {"totalram", "freeram", "sharedram",
                                         "bufferram", "totalswap", "freeswap"};
  out.append("{uptime=");
  dec(out, uptime);
  out.append(", loads=[");
  for (size_t i = 0; i < 3; ++i) {
    if (i) out.append(", ");
    udec(out, loads[i]);
  }
  out += ']';
  for (size_t i = 0; i < 6; ++i) {
    out.append(", ");
    out.append(kRam[i]);
    out += '=';
    udec(out, ram[i]);
  }
  out.append(", procs=");
  udec(out, procs);
  out.append(", totalhigh=");
  udec(out, high[0]);
  out.append(", freehigh=");
  udec(out, high[1]);
  out.append(", mem_unit=");
  udec(out, mem_unit);
  out += '}';
}

}  // namespace vmitrace::output::decode

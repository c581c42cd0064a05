// Structures and extras in the output: sockaddr/timespec/iovec in rich entries,
// fd paths (both styles), out arguments on sysrets (stat, pipe fds, accept's
// address, read buffers) and marked values for hostile bytes.
#include <gtest/gtest.h>

#include <string>

#include "output/decode.hpp"
#include "json_line.hpp"
#include "syscalls/tables/linux.hpp"

using namespace vmitrace;
using event::Capture;
using event::Extra;
using output::ArgStyle;
using output::Format;
using test::RecordBuf;

namespace {

using test::json_line;
using test::bytes;
using test::json_str;


TEST(Structures, SockaddrFamilies) {
  std::string s;
  const uint8_t in4[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
  output::decode::sockaddr(s, bytes(in4, 16), false);
  EXPECT_EQ(s, "{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}");
  uint8_t in6[28] = {10, 0, 0, 80};
  in6[23] = 1;
  s.clear();
  output::decode::sockaddr(s, bytes(in6, 28), false);
  EXPECT_EQ(s, "{sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), "
               "inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}");
  s.clear();
  output::decode::sockaddr(s, std::string("\x01\x00/run/x.sock\0", 15), false);
  EXPECT_EQ(s, "{sa_family=AF_UNIX, sun_path=\"/run/x.sock\"}");
  s.clear();
  output::decode::sockaddr(s, std::string("\x01\x00\0abs", 6), false);
  EXPECT_EQ(s, "{sa_family=AF_UNIX, sun_path=@\"abs\"}");
  s.clear();  // one byte, and a cut capture
  output::decode::sockaddr(s, "\x02", false);
  EXPECT_EQ(s, "{...}");
  s.clear();
  output::decode::sockaddr(s, std::string(128, '\x02').replace(1, 1, 1, '\0'), true);
  EXPECT_EQ(s.substr(0, 20), "{sa_family=AF_INET, ");
  EXPECT_EQ(s.substr(s.size() - 4), "}...");
}

TEST(Structures, TimespecIovecStatPipe) {
  std::string s;
  const int64_t ts[2] = {1, 500};
  output::decode::timespec(s, bytes(ts, 16));
  EXPECT_EQ(s, "{tv_sec=1, tv_nsec=500}");
  s.clear();
  const int32_t ts32[2] = {2, 7};
  output::decode::timespec(s, bytes(ts32, 8));
  EXPECT_EQ(s, "{tv_sec=2, tv_nsec=7}");
  s.clear();
  const uint64_t iov[4] = {0x1000, 5, 0, 3};
  output::decode::iovec(s, bytes(iov, 32), 8, true);
  EXPECT_EQ(s, "[{iov_base=0x1000, iov_len=5}, {iov_base=NULL, iov_len=3}, ...]");

  uint8_t st[144] = {};
  uint32_t mode = 0100644;
  uint64_t size = 123;
  std::memcpy(st + 24, &mode, 4);
  std::memcpy(st + 48, &size, 8);
  s.clear();
  output::decode::stat(s, bytes(st, 144), syscalls::ArgKind::stat_out);
  EXPECT_EQ(s, "{st_mode=S_IFREG|0644, st_size=123, ...}");
  mode = 020620;
  uint64_t rdev = 0x8800;  // makedev(0x88, 0)
  std::memcpy(st + 24, &mode, 4);
  std::memcpy(st + 40, &rdev, 8);
  s.clear();
  output::decode::stat(s, bytes(st, 144), syscalls::ArgKind::stat_out);
  EXPECT_EQ(s, "{st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0), ...}");
  s.clear();
  output::decode::stat(s, bytes(st, 10), syscalls::ArgKind::stat_out);  // short: marked
  EXPECT_EQ(s, "{...}");

  uint8_t sx[256] = {};
  const uint32_t mask = 0x17ff;
  const uint16_t xm = 040755;
  const uint64_t xs = 4096;
  std::memcpy(sx, &mask, 4);
  std::memcpy(sx + 28, &xm, 2);
  std::memcpy(sx + 40, &xs, 8);
  s.clear();
  output::decode::stat(s, bytes(sx, 256), syscalls::ArgKind::statx_out);
  EXPECT_EQ(s, "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, "
               "stx_mode=S_IFDIR|0755, stx_size=4096, ...}");

  const int32_t fds[2] = {3, 4};
  s.clear();
  output::decode::fd_pair(s, bytes(fds, 8));
  EXPECT_EQ(s, "[3, 4]");
}

TEST(Extras, FdPathsInBothStylesAfterTheArguments) {
  RecordBuf rb;
  event::Record& r = test::entry_of(rb, "read");
  r.args[0] = 3;
  r.args[1] = 0x7ffd0000;
  r.args[2] = 4096;
  rb.b.add_extra(Extra::fd_path, 0, "/tmp/vmitrace-lab/file64.txt", 28);
  const event::Record& rec = rb.done();
  for (ArgStyle st : {ArgStyle::raw, ArgStyle::rich}) {
    std::string l = json_line(rec, st);
    EXPECT_EQ(json_str(l, "fd_path"), "/tmp/vmitrace-lab/file64.txt") << l;
    EXPECT_LT(l.find("\"count\""), l.find("\"fd_path\""));
  }
  EXPECT_EQ(json_str(json_line(rec, ArgStyle::raw), "fd"), "0x3");  // raw entry keys unchanged
  std::string kv = json_line(rec, ArgStyle::raw, Format::kv);
  EXPECT_NE(kv.find(",fd_path=\"/tmp/vmitrace-lab/file64.txt\""), std::string::npos) << kv;
}

TEST(Extras, MarkedFdPaths) {
  RecordBuf rb;
  event::Record& r = test::entry_of(rb, "dup2");
  r.args[0] = 3;
  r.args[1] = 4;
  rb.b.add_extra(Extra::fd_path, 0, "dir/file", 8, Capture::truncated);
  rb.b.add_extra(Extra::fd_path, 1, nullptr, 0, Capture::unreadable);
  std::string l = json_line(rb.done(), ArgStyle::rich);
  EXPECT_EQ(json_str(l, "oldfd_path"), "...dir/file");
  EXPECT_EQ(json_str(l, "newfd_path"), "(unreadable)");
}

TEST(Extras, OutArgumentsOnSysret) {
  RecordBuf rb;
  event::Record& r = test::sysret_of(rb, "pipe2", 0);
  r.args[0] = 0x7ffd1000;
  const int32_t fds[2] = {3, 4};
  rb.b.add_extra(Extra::out_arg, 0, fds, 8);
  const event::Record& rec = rb.done();
  for (ArgStyle st : {ArgStyle::raw, ArgStyle::rich}) {
    std::string l = json_line(rec, st);
    EXPECT_EQ(json_str(l, "fildes"), "[3, 4]") << l;
    EXPECT_LT(l.find("\"Info\""), l.find("\"fildes\""));
  }

  RecordBuf ra;
  event::Record& a = test::sysret_of(ra, "accept", 5);
  a.args[1] = 0x7ffd2000;
  a.args[2] = 0x7ffd3000;
  const uint8_t sin[16] = {2, 0, 0, 80, 10, 0, 0, 1};
  ra.b.add_extra(Extra::out_arg, 1, sin, 16);
  const int32_t len = 16;
  ra.b.add_extra(Extra::out_arg, 2, &len, 4);
  std::string l = json_line(ra.done(), ArgStyle::rich);
  EXPECT_EQ(json_str(l, "upeer_sockaddr"),
            "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"10.0.0.1\")}");
  EXPECT_EQ(json_str(l, "upeer_addrlen"), "[16]");

  RecordBuf rr;
  event::Record& rd = test::sysret_of(rr, "read", 10);
  rd.args[1] = 0x7ffd4000;
  rr.b.add_extra(Extra::out_arg, 1, "01234567", 8, Capture::truncated);
  EXPECT_EQ(json_str(json_line(rr.done(), ArgStyle::raw), "buf"), "\"01234567\"...");

  RecordBuf ru;  // the kernel's buffer was unreadable at return: marked
  event::Record& u = test::sysret_of(ru, "fstat", 0);
  u.args[1] = 0x7ffd5000;
  ru.b.add_extra(Extra::out_arg, 1, nullptr, 0, Capture::unreadable);
  EXPECT_EQ(json_str(json_line(ru.done(), ArgStyle::rich), "statbuf"), "0x7ffd5000 (unreadable)");
}

TEST(Extras, RichEntryStructures) {
  RecordBuf rb;
  event::Record& r = test::entry_of(rb, "connect");
  r.args[0] = 3;
  r.args[1] = 0x7ffd0000;
  r.args[2] = 16;
  const uint8_t in4[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
  rb.blob(1, bytes(in4, 16));
  const event::Record& rec = rb.done();
  EXPECT_EQ(json_str(json_line(rec, ArgStyle::rich), "uservaddr"),
            "{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}");
  EXPECT_EQ(json_str(json_line(rec, ArgStyle::raw), "uservaddr"), "0x7ffd0000");  // raw: unchanged

  RecordBuf rn;
  event::Record& n = test::entry_of(rn, "nanosleep");
  n.args[0] = 0x7ffd0000;
  rn.blob(0, "", Capture::unreadable);
  EXPECT_EQ(json_str(json_line(rn.done(), ArgStyle::rich), "rqtp"), "0x7ffd0000 (unreadable)");
}

// A record whose extras lie (lengths past the end, unknown tags and states, an
// argument index out of range) still formats to valid JSON.
TEST(Extras, HostileExtrasStayValid) {
  RecordBuf rb;
  event::Record& r = test::sysret_of(rb, "fstat", 0);
  rb.b.add_extra(Extra::out_arg, 200, "x", 1);
  rb.b.add_extra(static_cast<Extra>(99), 0, "y", 1);
  rb.b.add_extra(Extra::out_arg, 1, "short", 5, static_cast<Capture>(9));
  rb.b.add_extra(Extra::out_arg, 1, "abc", 3);  // a stat of 3 bytes
  (void)r;
  std::string l = json_line(rb.done(), ArgStyle::rich);
  EXPECT_EQ(json_str(l, "statbuf"), "{...}");
  simdjson::dom::parser p;
  simdjson::dom::element e;
  EXPECT_FALSE(p.parse(l).get(e));
}

}  // namespace

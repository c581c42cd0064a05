// What the tracer reads for the renderings that match strace on Debian's programs:
// writev's buffers, getdents64's records, an end-of-file read, readlink/getcwd strings,
// struct sigaction at entry and return, TCGETS's termios, TIOCGWINSZ's winsize,
// utimensat's times; with the hostile cases
// (unmapped buffers, failed calls).
#include <gtest/gtest.h>

#include <cstring>

#include "extras_of.hpp"
#include "tracer_fixture.hpp"
#include "syscalls/linux/capture.hpp"

namespace vmitrace::testing {
namespace {

using event::Capture;
using event::Extra;

syscalls::TracerConfig limits(uint32_t strings, uint32_t buffers) {
  syscalls::TracerConfig c;
  c.string_limit = strings;
  c.capture_buffers = buffers;
  return c;
}

std::string u16(uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); }

TEST(StraceCapture, WritevBuffersWithTheirPairs) {
  TracerGuest g(dispatcher_profile(), limits(256, 4));
  g.boot();
  auto t = g.thread(10, 10, "ld.so");
  g.mem.write_str(0x500000, "\t");
  g.mem.write_str(0x500100, "linux-vdso.so.1");
  const uint64_t iov[4] = {0x500000, 1, 0x500100, 15};
  g.mem.write(0x510000, iov, sizeof iov);
  g.enter64(0, t, nr_of("writev"), {1, 0x510000, 2});
  Capture st;
  const std::string pairs(reinterpret_cast<const char*>(iov), 32);
  // Each buffer: its first min(len, --capture-buffers) bytes.
  EXPECT_EQ(g.sink.blob(0, 1, &st), u16(32) + pairs + u16(1) + "\t" + u16(4) + "linu");
  EXPECT_EQ(st, Capture::ok);

  // A buffer on an unmapped page: the data stops there, marked.
  const uint64_t bad[4] = {0x500000, 1, 0xdead0000, 3};
  g.mem.write(0x520000, bad, sizeof bad);
  g.enter64(0, t, nr_of("writev"), {1, 0x520000, 2});
  EXPECT_EQ(g.sink.blob(1, 1, &st), u16(32) + std::string(reinterpret_cast<const char*>(bad), 32) + u16(1) + "\t");
  EXPECT_EQ(st, Capture::truncated);

  // Without --capture-buffers: the pairs only.
  TracerGuest g0(dispatcher_profile(), limits(256, 0));
  g0.boot();
  auto t0 = g0.thread(10, 10, "ld.so");
  g0.mem.write(0x510000, iov, sizeof iov);
  g0.enter64(0, t0, nr_of("writev"), {1, 0x510000, 2});
  EXPECT_EQ(g0.sink.blob(0, 1, &st), u16(32) + pairs);
}

TEST(StraceCapture, OutStructuresAndStrings) {
  TracerGuest g(dispatcher_profile(), limits(8, 16));
  g.boot();
  auto t = g.thread(10, 10, "ls");

  // getdents64: ret bytes of records; 0 (end of directory) is an empty capture.
  std::string recs(48, 'r');
  g.enter64(0, t, nr_of("getdents64"), {3, 0x500000, 32768});
  g.mem.write(0x500000, recs.data(), recs.size());
  g.leave(0, t, 48);
  auto x = extras(g.sink.rec(1));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, recs);
  // A long listing (7 KiB, /usr/lib/python3.11's) is captured whole; past
  // kMaxDirentBytes the capture stops, marked.
  std::string big(syscalls::kMaxDirentBytes + 100, 'd');
  g.mem.write(0x600000, big.data(), big.size());
  g.enter64(0, t, nr_of("getdents64"), {3, 0x600000, 32768});
  g.leave(0, t, 6832);
  x = extras(g.sink.rec(3));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes.size(), 6832u);
  EXPECT_EQ(x[0].state, Capture::ok);
  g.enter64(0, t, nr_of("getdents64"), {3, 0x600000, 32768});
  g.leave(0, t, syscalls::kMaxDirentBytes + 100);
  x = extras(g.sink.rec(5));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes.size(), syscalls::kMaxDirentBytes);
  EXPECT_EQ(x[0].state, Capture::truncated);
  g.enter64(0, t, nr_of("getdents64"), {3, 0x500000, 32768});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(7));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, "");
  EXPECT_EQ(x[0].state, Capture::ok);

  // read at the end of a file: an empty capture (strace's "").
  g.enter64(0, t, nr_of("read"), {3, 0x501000, 4096});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(9));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, "");

  // readlink: ret bytes (no NUL), at most the string limit; getcwd: its NUL dropped.
  g.mem.write_str(0x502000, "/bin/busybox");
  g.enter64(0, t, nr_of("readlink"), {0x503000, 0x502000, 4096});
  g.leave(0, t, 12);
  x = extras(g.sink.rec(11));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, "/bin/bus");
  EXPECT_EQ(x[0].state, Capture::truncated);
  g.mem.write_str(0x504000, "/tmp");
  g.enter64(0, t, nr_of("getcwd"), {0x504000, 4096});
  g.leave(0, t, 5);
  x = extras(g.sink.rec(13));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, "/tmp");

  // rt_sigaction: act read at entry, oact at return; nothing when the call failed.
  const uint64_t act[4] = {1, 0x04000000, 0x416390, 0};
  const uint64_t old[4] = {0, 0, 0, 0x10000};
  g.mem.write(0x505000, act, 32);
  g.mem.write(0x506000, old, 32);
  g.enter64(0, t, nr_of("rt_sigaction"), {17, 0x505000, 0x506000, 8});
  Capture st;
  EXPECT_EQ(g.sink.blob(14, 1, &st), std::string(reinterpret_cast<const char*>(act), 32));
  g.leave(0, t, 0);
  x = extras(g.sink.rec(15));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].arg, 2u);
  EXPECT_EQ(x[0].bytes, std::string(reinterpret_cast<const char*>(old), 32));
  g.enter64(0, t, nr_of("rt_sigaction"), {99, 0, 0x506000, 8});
  g.leave(0, t, -22);
  EXPECT_TRUE(extras(g.sink.rec(17)).empty());

  // getgroups: min(ret, size) gids; size 0 only counts (nothing written: empty).
  const uint32_t gids[2] = {0, 1000};
  g.mem.write(0x508000, gids, 8);
  g.enter64(0, t, nr_of("getgroups"), {2, 0x508000});
  g.leave(0, t, 2);
  x = extras(g.sink.rec(19));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, std::string(reinterpret_cast<const char*>(gids), 8));
  g.enter64(0, t, nr_of("getgroups"), {0, 0x508000});
  g.leave(0, t, 2);
  x = extras(g.sink.rec(21));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, "");

  // ioctl TCGETS: struct termios at return; another request writes nothing we read.
  uint8_t tio[36] = {0, 5};
  g.mem.write(0x507000, tio, 36);
  g.enter64(0, t, nr_of("ioctl"), {0, 0x5401, 0x507000});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(23));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes.size(), 36u);
  g.enter64(0, t, nr_of("ioctl"), {0, 0x5402, 0x507000});
  g.leave(0, t, 0);
  EXPECT_TRUE(extras(g.sink.rec(25)).empty());
  // TIOCGWINSZ: struct winsize (8 bytes) at return.
  const uint16_t ws[4] = {24, 80, 0, 0};
  g.mem.write(0x507100, ws, 8);
  g.enter64(0, t, nr_of("ioctl"), {1, 0x5413, 0x507100});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(27));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, std::string(reinterpret_cast<const char*>(ws), 8));
  // SIOCGIFFLAGS: the 40 bytes of struct ifreq at return.
  const uint8_t ifr[40] = {'l', 'o', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x49};
  g.mem.write(0x507200, ifr, 40);
  g.enter64(0, t, nr_of("ioctl"), {3, 0x8913, 0x507200});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(29));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, std::string(reinterpret_cast<const char*>(ifr), 40));
  // SIOCSIFFLAGS: the ifreq the kernel reads, at entry; nothing at return.
  g.enter64(0, t, nr_of("ioctl"), {3, 0x8914, 0x507200});
  EXPECT_EQ(g.sink.blob(30, 2, &st), std::string(reinterpret_cast<const char*>(ifr), 40));
  EXPECT_EQ(st, Capture::ok);
  g.leave(0, t, 0);
  EXPECT_TRUE(extras(g.sink.rec(31)).empty());
}

TEST(StraceCapture, UtimensatTimesAtEntry) {
  TracerGuest g(dispatcher_profile(), limits(256, 0));
  g.boot();
  auto t = g.thread(10, 10, "touch");
  const int64_t times[4] = {1700000000, 0, 1700000000, 0};
  g.mem.write(0x500000, times, 32);
  g.enter64(0, t, nr_of("utimensat"), {3, 0, 0x500000, 0});
  Capture st;
  EXPECT_EQ(g.sink.blob(0, 2, &st), std::string(reinterpret_cast<const char*>(times), 32));
  EXPECT_EQ(st, Capture::ok);
  g.enter64(0, t, nr_of("utimensat"), {3, 0, 0xdead0000, 0});  // unmapped: marked
  g.sink.blob(1, 2, &st);
  EXPECT_EQ(st, Capture::unreadable);

  // setsockopt's optval: the int when optlen is 4, nothing for other sizes.
  const int32_t one = 1;
  g.mem.write(0x501000, &one, 4);
  g.enter64(0, t, nr_of("setsockopt"), {3, 1, 2, 0x501000, 4});
  EXPECT_EQ(g.sink.blob(2, 3, &st), std::string(reinterpret_cast<const char*>(&one), 4));
  EXPECT_EQ(st, Capture::ok);
  g.enter64(0, t, nr_of("setsockopt"), {3, 1, 13, 0x501000, 8});  // SO_LINGER's struct
  g.sink.blob(3, 3, &st);
  EXPECT_EQ(st, Capture::none);
}

}  // namespace
}  // namespace vmitrace::testing

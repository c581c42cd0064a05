// What the tracer reads behind the arguments: argv with a per-string budget,
// structures at entry (sockaddr, timespec, iovec, buffers), out arguments at return
// (stat, pipe fds, accept's address, read buffers) and fd paths, including the
// hostile inputs (unterminated arrays, a 4 GiB sockaddr length, unmapped memory).
#include <gtest/gtest.h>

#include "extras_of.hpp"
#include "fake_files.hpp"
#include "tracer_fixture.hpp"
#include "syscalls/linux/capture.hpp"

namespace vmitrace::testing {
namespace {

using event::Capture;
using event::Extra;

syscalls::TracerConfig limits(uint32_t strings, uint32_t buffers = 0) {
  syscalls::TracerConfig c;
  c.string_limit = strings;
  c.capture_buffers = buffers;
  return c;
}

void write_argv(FakeMemory& m, uint64_t at, const std::vector<uint64_t>& ptrs) {
  for (size_t i = 0; i < ptrs.size(); ++i) m.write_u64(at + 8 * i, ptrs[i]);
}

TEST(ArgCapture, ArgvLimitIsPerStringAndCountIsBounded) {
  TracerGuest g(dispatcher_profile(), limits(8));
  g.boot();
  auto t = g.thread(10, 10, "sh");
  const uint32_t execve = nr_of("execve");
  Capture st;
  g.mem.write_str(0x500000, "/bin/cat");
  g.mem.write_str(0x500100, "short");
  g.mem.write_str(0x500200, "a-very-long-argument");
  g.mem.write_str(0x500300, "x");
  write_argv(g.mem, 0x510000, {0x500100, 0x500200, 0x500300, 0});
  g.enter64(0, t, execve, {0x500000, 0x510000, 0});
  // Each string gets 8 bytes (+1 that marks it cut for the writer), not 8 in all.
  EXPECT_EQ(g.sink.blob(0, 1, &st), std::string("short\0a-very-lo\0x\0", 18));
  EXPECT_EQ(st, Capture::ok);
  EXPECT_EQ(g.sink.blob(0, 2, &st), "");  // envp NULL
  EXPECT_EQ(st, Capture::unreadable);

  // An argv that never ends (a page full of pointers): 32 entries, marked.
  for (int i = 0; i < 512; ++i) g.mem.write_u64(0x520000 + 8 * i, 0x500300);
  g.enter64(0, t, execve, {0x500000, 0x520000, 0});
  std::string b = g.sink.blob(1, 1, &st);
  EXPECT_EQ(st, Capture::truncated);
  EXPECT_EQ(std::count(b.begin(), b.end(), '\0'), int(syscalls::kMaxArrayItems));

  // An argv whose next slot is on an unmapped page, and one whose element is unmapped.
  g.mem.write_u64(0x530ff8, 0x500100);
  write_argv(g.mem, 0x540000, {0x500100, 0xdead0000, 0});
  g.enter64(0, t, execve, {0x500000, 0x530ff8, 0});
  EXPECT_EQ(g.sink.blob(2, 1, &st), std::string("short\0", 6));
  EXPECT_EQ(st, Capture::truncated);
  g.enter64(0, t, execve, {0x500000, 0x540000, 0});
  EXPECT_EQ(g.sink.blob(3, 1, &st), std::string("short\0\0", 7));
  EXPECT_EQ(st, Capture::truncated);
}

TEST(ArgCapture, ArgvTotalIsBounded) {
  TracerGuest g(dispatcher_profile(), limits(8192));
  g.boot();
  auto t = g.thread(10, 10, "sh");
  // 32 unterminated megabyte-long strings (pages of 'A').
  std::string page(4096, 'A');
  for (int i = 0; i < 4; ++i) g.mem.write(0x600000 + 4096 * i, page.data(), page.size());
  std::vector<uint64_t> argv(32, 0x600000);
  argv.push_back(0);
  write_argv(g.mem, 0x510000, argv);
  g.enter64(0, t, nr_of("execve"), {0x510000, 0x510000, 0});
  Capture st;
  std::string b = g.sink.blob(0, 1, &st);
  EXPECT_EQ(st, Capture::truncated);
  EXPECT_LE(b.size(), syscalls::kMaxArrayBytes);
}

TEST(ArgCapture, SockaddrTimespecIovecAtEntry) {
  TracerGuest g(dispatcher_profile(), limits(256));
  g.boot();
  auto t = g.thread(10, 10, "net");
  Capture st;
  const uint8_t sin[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
  g.mem.write(0x500000, sin, sizeof sin);
  g.enter64(0, t, nr_of("connect"), {3, 0x500000, 16});
  EXPECT_EQ(g.sink.blob(0, 1, &st), std::string(reinterpret_cast<const char*>(sin), 16));
  EXPECT_EQ(st, Capture::ok);
  // addrlen 4 GiB - 1 (an int the caller chose): capped at 128 bytes, marked.
  g.mem.map(0x500000, 4096);
  g.enter64(0, t, nr_of("connect"), {3, 0x500000, 0xffffffffu});
  EXPECT_EQ(g.sink.blob(1, 1, &st).size(), syscalls::kMaxSockaddr);
  EXPECT_EQ(st, Capture::truncated);
  g.enter64(0, t, nr_of("connect"), {3, 0xdead0000, 16});
  g.sink.blob(2, 1, &st);
  EXPECT_EQ(st, Capture::unreadable);

  const int64_t ts[2] = {1, 500};
  g.mem.write(0x501000, ts, sizeof ts);
  g.enter64(0, t, nr_of("nanosleep"), {0x501000, 0});
  EXPECT_EQ(g.sink.blob(3, 0, &st), std::string(reinterpret_cast<const char*>(ts), 16));

  // readv with a count of 1000: 16 {base, len} pairs, marked (writev: test_strace_capture).
  for (int i = 0; i < 16; ++i) {
    g.mem.write_u64(0x502000 + 16 * i, 0x503000);
    g.mem.write_u64(0x502008 + 16 * i, i);
  }
  g.enter64(0, t, nr_of("readv"), {1, 0x502000, 1000});
  EXPECT_EQ(g.sink.blob(4, 1, &st).size(), 16u * 16u);
  EXPECT_EQ(st, Capture::truncated);
}

TEST(ArgCapture, BuffersOnlyWhenAsked) {
  TracerGuest g0(dispatcher_profile(), limits(256, 0));
  g0.boot();
  auto t0 = g0.thread(10, 10, "w");
  g0.mem.write_str(0x500000, "hello world");
  g0.enter64(0, t0, nr_of("write"), {1, 0x500000, 11});
  Capture st;
  EXPECT_EQ(g0.sink.blob(0, 1, &st), "");
  EXPECT_EQ(st, Capture::none);

  TracerGuest g(dispatcher_profile(), limits(256, 4));
  g.boot();
  auto t = g.thread(10, 10, "w");
  g.mem.write_str(0x500000, "hello world");
  g.enter64(0, t, nr_of("write"), {1, 0x500000, 11});
  EXPECT_EQ(g.sink.blob(0, 1, &st), "hell");
  EXPECT_EQ(st, Capture::truncated);
  g.enter64(0, t, nr_of("write"), {1, 0x500000, 3});
  EXPECT_EQ(g.sink.blob(1, 1, &st), "hel");
  EXPECT_EQ(st, Capture::ok);
}

TEST(ArgCapture, OutArgumentsAtReturn) {
  TracerGuest g(dispatcher_profile(), limits(256, 8));
  g.boot();
  auto t = g.thread(10, 10, "lab");

  // fstat: the kernel fills struct stat during the call.
  g.enter64(0, t, nr_of("fstat"), {3, 0x500000});
  uint8_t stbuf[144] = {};
  const uint32_t mode = 0100644;
  const uint64_t size = 123;
  std::memcpy(stbuf + 24, &mode, 4);
  std::memcpy(stbuf + 48, &size, 8);
  g.mem.write(0x500000, stbuf, sizeof stbuf);
  g.leave(0, t, 0);
  ASSERT_EQ(g.sink.count(), 2u);
  const auto& ret = g.sink.rec(1);
  EXPECT_EQ(ret.kind, event::Kind::sysret);
  EXPECT_EQ(ret.args[0], 3u);  // the entry's values ride along
  EXPECT_EQ(ret.args[1], 0x500000u);
  auto x = extras(ret);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].tag, Extra::out_arg);
  EXPECT_EQ(x[0].arg, 1u);
  EXPECT_EQ(x[0].bytes, std::string(reinterpret_cast<const char*>(stbuf), 144));

  // pipe2: two fds.
  g.enter64(0, t, nr_of("pipe2"), {0x501000, 0});
  const int32_t fds[2] = {3, 4};
  g.mem.write(0x501000, fds, 8);
  g.leave(0, t, 0);
  x = extras(g.sink.rec(3));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, std::string(reinterpret_cast<const char*>(fds), 8));

  // accept: the address and the length written back.
  g.enter64(0, t, nr_of("accept"), {3, 0x502000, 0x503000});
  const uint8_t sin[16] = {2, 0, 0, 80, 10, 0, 0, 1};
  g.mem.write(0x502000, sin, 16);
  g.mem.write_u32(0x503000, 16);
  g.leave(0, t, 5);
  x = extras(g.sink.rec(5));
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0].arg, 1u);
  EXPECT_EQ(x[0].bytes.size(), 16u);
  EXPECT_EQ(x[1].arg, 2u);
  EXPECT_EQ(x[1].bytes, std::string("\x10\0\0\0", 4));

  // read: the first min(ret, --capture-buffers) bytes; nothing when it failed.
  g.enter64(0, t, nr_of("read"), {3, 0x504000, 4096});
  g.mem.write_str(0x504000, "0123456789");
  g.leave(0, t, 10);
  x = extras(g.sink.rec(7));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes, "01234567");
  EXPECT_EQ(x[0].state, Capture::truncated);
  g.enter64(0, t, nr_of("read"), {3, 0x504000, 4096});
  g.leave(0, t, -14);
  EXPECT_TRUE(extras(g.sink.rec(9)).empty());

  // An out pointer into unmapped memory: marked, not dropped.
  g.enter64(0, t, nr_of("fstat"), {3, 0xdead0000});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(11));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].state, Capture::unreadable);
  EXPECT_GT(g.tracer->stats().read_failures, 0u);
}

TEST(ArgCapture, FdPathsOnEntry) {
  auto prof = dispatcher_profile();
  add_file_types(prof);
  TracerGuest g(prof);
  g.boot();
  auto t = g.thread(10, 10, "lab");
  FakeFiles f(g.mem);
  uint64_t fds = f.fd_table(t.task, 16);
  uint64_t sb = f.super_block(0x01021994);
  uint64_t root = f.dentry("/", 0, sb);
  uint64_t mnt = f.mount(root, 0, 0);
  uint64_t etc = f.dentry("etc", root, sb);
  g.mem.write_u64(fds + 3 * 8, f.file(mnt, f.dentry("passwd", etc, sb)));
  uint64_t pipe_sb = f.super_block(0x50495045);
  g.mem.write_u64(fds + 4 * 8, f.file(mnt, f.dentry("", 0, pipe_sb, f.inode(99))));

  g.enter64(0, t, nr_of("read"), {3, 0x500000, 10});
  auto x = extras(g.sink.rec(0));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].tag, Extra::fd_path);
  EXPECT_EQ(x[0].arg, 0u);
  EXPECT_EQ(x[0].bytes, "/etc/passwd");
  // dup2(4, 3): both fds have paths; close of a fd that is not open: none.
  g.enter64(0, t, nr_of("dup2"), {4, 3});
  x = extras(g.sink.rec(1));
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0].bytes, "pipe:[99]");
  EXPECT_EQ(x[1].bytes, "/etc/passwd");
  g.enter64(0, t, nr_of("close"), {9});
  EXPECT_TRUE(extras(g.sink.rec(2)).empty());
  // openat(AT_FDCWD, ...): no path for the dirfd.
  g.mem.write_str(0x500000, "x");
  g.enter64(0, t, nr_of("openat"), {static_cast<uint64_t>(-100), 0x500000, 0, 0});
  EXPECT_TRUE(extras(g.sink.rec(3)).empty());
}

}  // namespace
}  // namespace vmitrace::testing

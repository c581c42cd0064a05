// Captures that depend on another argument or on the return value: futex's timeout
// (only for the waiting commands), prctl's PR_SET_NAME / PR_GET_NAME name, wait4's
// status, waitid's siginfo, clone's parent tid; sendmsg/recvmsg's msghdr (with
// hostile lengths and unmapped parts); and Ret_path, the path of a returned fd.
#include <gtest/gtest.h>

#include "extras_of.hpp"
#include "fake_files.hpp"
#include "tracer_fixture.hpp"
#include "syscalls/linux/capture.hpp"

namespace vmitrace::testing {
namespace {

using event::Capture;
using event::Extra;

std::string bytes_of(const void* p, size_t n) { return {static_cast<const char*>(p), n}; }

TEST(CondCapture, FutexTimeoutOnlyForWaitingCommands) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(10, 10, "f");
  const int64_t ts[2] = {2, 7};
  g.mem.write(0x500000, ts, sizeof ts);
  Capture st;
  // FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME: utime is a timespec.
  g.enter64(0, t, nr_of("futex"), {0x600000, 9 | 128 | 256, 1, 0x500000, 0, 0xffffffff});
  EXPECT_EQ(g.sink.blob(0, 3, &st), bytes_of(ts, 16));
  EXPECT_EQ(st, Capture::ok);
  // FUTEX_CMP_REQUEUE: the same register is val2, a number: nothing is read.
  g.enter64(0, t, nr_of("futex"), {0x600000, 4, 1, 0x500000, 0x600004, 0});
  EXPECT_EQ(g.sink.blob(1, 3, &st), "");
  EXPECT_EQ(st, Capture::none);
  // FUTEX_WAIT with an unmapped timeout: marked.
  g.enter64(0, t, nr_of("futex"), {0x600000, 0, 1, 0xdead0000, 0, 0});
  g.sink.blob(2, 3, &st);
  EXPECT_EQ(st, Capture::unreadable);
}

TEST(CondCapture, PrctlNameInAndOut) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(10, 10, "p");
  Capture st;
  // PR_SET_NAME: read at entry, at most TASK_COMM_LEN bytes even from a long string.
  g.mem.write_str(0x500000, "vmt-renamed");
  g.enter64(0, t, nr_of("prctl"), {15, 0x500000});
  EXPECT_EQ(g.sink.blob(0, 1, &st), "vmt-renamed");
  EXPECT_EQ(st, Capture::ok);
  g.leave(0, t, 0);
  EXPECT_TRUE(extras(g.sink.rec(1)).empty());
  g.mem.write_str(0x500100, std::string(100, 'a'));
  g.enter64(0, t, nr_of("prctl"), {15, 0x500100});
  EXPECT_EQ(g.sink.blob(2, 1, &st).size(), syscalls::kTaskCommLen);
  EXPECT_EQ(st, Capture::truncated);
  g.leave(0, t, 0);
  // PR_GET_NAME: nothing at entry, the name the kernel wrote at return.
  g.enter64(0, t, nr_of("prctl"), {16, 0x501000});
  EXPECT_EQ(g.sink.blob(4, 1, &st), "");
  EXPECT_EQ(st, Capture::none);
  g.mem.write_str(0x501000, "lab64");
  g.leave(0, t, 0);
  auto x = extras(g.sink.rec(5));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].tag, Extra::out_arg);
  EXPECT_EQ(x[0].arg, 1u);
  EXPECT_EQ(x[0].bytes, "lab64");
  // Another option: arg2 is a number, never read.
  g.enter64(0, t, nr_of("prctl"), {38 /* PR_SET_NO_NEW_PRIVS */, 1});
  EXPECT_EQ(g.sink.blob(6, 1, &st), "");
  g.leave(0, t, 0);
  EXPECT_TRUE(extras(g.sink.rec(7)).empty());
}

TEST(CondCapture, WaitStatusSiginfoAndCloneTid) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(10, 10, "w");
  // wait4: the status when a child was reaped; nothing for WNOHANG's 0 or an error.
  g.enter64(0, t, nr_of("wait4"), {95, 0x500000, 0, 0});
  g.mem.write_u32(0x500000, 0x700);
  g.leave(0, t, 95);
  auto x = extras(g.sink.rec(1));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].arg, 1u);
  EXPECT_EQ(x[0].bytes, std::string("\0\x07\0\0", 4));
  g.enter64(0, t, nr_of("wait4"), {static_cast<uint64_t>(-1), 0x500000, 1, 0});
  g.leave(0, t, 0);
  EXPECT_TRUE(extras(g.sink.rec(3)).empty());
  // waitid: 128 bytes of siginfo on success.
  g.mem.map(0x501000, 4096);
  g.enter64(0, t, nr_of("waitid"), {1, 95, 0x501000, 4, 0});
  g.leave(0, t, 0);
  x = extras(g.sink.rec(5));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].arg, 2u);
  EXPECT_EQ(x[0].bytes.size(), 128u);
  // clone with CLONE_PARENT_SETTID: the tid written in the parent; without it, none.
  g.enter64(0, t, nr_of("clone"), {0x00100000 | 0x100, 0, 0x502000, 0, 0});
  g.mem.write_u32(0x502000, 96);
  g.leave(0, t, 96);
  x = extras(g.sink.rec(7));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].arg, 2u);
  EXPECT_EQ(x[0].bytes, std::string("\x60\0\0\0", 4));
  g.enter64(0, t, nr_of("clone"), {0x100, 0, 0x502000, 0, 0});
  g.leave(0, t, 97);
  EXPECT_TRUE(extras(g.sink.rec(9)).empty());
  // An unmapped status pointer: marked, counted.
  g.enter64(0, t, nr_of("wait4"), {95, 0xdead0000, 0, 0});
  g.leave(0, t, 95);
  x = extras(g.sink.rec(11));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].state, Capture::unreadable);
}

// user_msghdr at va: name/namelen, iov/iovlen, controllen, flags.
void write_msghdr(FakeMemory& m, uint64_t va, uint64_t name, uint32_t namelen, uint64_t iov,
                  uint64_t iovlen) {
  uint8_t h[56] = {};
  std::memcpy(h + 0, &name, 8);
  std::memcpy(h + 8, &namelen, 4);
  std::memcpy(h + 16, &iov, 8);
  std::memcpy(h + 24, &iovlen, 8);
  m.write(va, h, sizeof h);
}

uint16_t u16_at(const std::string& b, size_t off) {
  uint16_t v = 0;
  std::memcpy(&v, b.data() + off, 2);
  return v;
}

TEST(CondCapture, MsghdrBoundedAndMarked) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(10, 10, "m");
  Capture st;
  const uint8_t sin[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
  g.mem.write(0x501000, sin, 16);
  g.mem.write_u64(0x502000, 0x503000);
  g.mem.write_u64(0x502008, 5);
  write_msghdr(g.mem, 0x500000, 0x501000, 16, 0x502000, 1);
  g.enter64(0, t, nr_of("sendmsg"), {3, 0x500000, 0});
  std::string b = g.sink.blob(0, 1, &st);
  EXPECT_EQ(st, Capture::ok);
  ASSERT_EQ(b.size(), 4u + 56 + 16 + 16);
  EXPECT_EQ(u16_at(b, 0), 16u);
  EXPECT_EQ(u16_at(b, 2), 16u);
  EXPECT_EQ(b.substr(60, 16), bytes_of(sin, 16));

  // Hostile: msg_iovlen 2^40 and msg_namelen 4 GiB - 1: bounded, marked.
  g.mem.map(0x502000, 4096);
  write_msghdr(g.mem, 0x500000, 0x501000, 0xffffffffu, 0x502000, uint64_t{1} << 40);
  g.enter64(0, t, nr_of("sendmsg"), {3, 0x500000, 0});
  b = g.sink.blob(1, 1, &st);
  EXPECT_EQ(st, Capture::truncated);
  EXPECT_EQ(u16_at(b, 0), syscalls::kMaxSockaddr);
  EXPECT_EQ(u16_at(b, 2), syscalls::kMaxIovecs * 16);
  EXPECT_EQ(b.size(), 4u + 56 + syscalls::kMaxSockaddr + syscalls::kMaxIovecs * 16);

  // Unmapped msg_name and msg_iov: the header alone, marked.
  write_msghdr(g.mem, 0x500000, 0xdead0000, 16, 0xbeef0000, 2);
  g.enter64(0, t, nr_of("sendmsg"), {3, 0x500000, 0});
  b = g.sink.blob(2, 1, &st);
  EXPECT_EQ(st, Capture::truncated);
  EXPECT_EQ(b.size(), 4u + 56);
  EXPECT_EQ(u16_at(b, 0), 0u);
  EXPECT_EQ(u16_at(b, 2), 0u);
  // An unmapped header: unreadable.
  g.enter64(0, t, nr_of("sendmsg"), {3, 0xdead0000, 0});
  g.sink.blob(3, 1, &st);
  EXPECT_EQ(st, Capture::unreadable);

  // recvmsg: read at return (after the kernel filled msg_name), only on success.
  write_msghdr(g.mem, 0x500000, 0x501000, 16, 0x502000, 1);
  g.enter64(0, t, nr_of("recvmsg"), {3, 0x500000, 0});
  EXPECT_EQ(g.sink.blob(4, 1, &st), "");
  g.leave(0, t, 5);
  auto x = extras(g.sink.rec(5));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].arg, 1u);
  EXPECT_EQ(x[0].bytes.size(), 4u + 56 + 16 + 16);
  g.enter64(0, t, nr_of("recvmsg"), {3, 0x500000, 0});
  g.leave(0, t, -11);
  EXPECT_TRUE(extras(g.sink.rec(7)).empty());
}

TEST(CondCapture, MmsghdrFirstMessageAndCount) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(10, 10, "m");
  Capture st;
  g.mem.write_u64(0x502000, 0x503000);
  g.mem.write_u64(0x502008, 5);
  write_msghdr(g.mem, 0x500000, 0, 0, 0x502000, 1);
  g.mem.write_u32(0x500000 + 56, 5);  // msg_len
  g.enter64(0, t, nr_of("sendmmsg"), {3, 0x500000, 1000000, 0});
  std::string b = g.sink.blob(0, 1, &st);
  EXPECT_EQ(st, Capture::ok);
  ASSERT_EQ(b.size(), 4u + 56 + 16 + 4);  // one message read, whatever vlen says
  EXPECT_EQ(b.substr(76), std::string("\5\0\0\0", 4));
  g.enter64(0, t, nr_of("sendmmsg"), {3, 0x500000, 0, 0});  // vlen 0: nothing read
  EXPECT_EQ(g.sink.blob(1, 1, &st), "");
  // recvmmsg: at return, when messages arrived.
  g.enter64(0, t, nr_of("recvmmsg"), {3, 0x500000, 4, 0, 0});
  g.leave(0, t, 1);
  auto x = extras(g.sink.rec(3));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].bytes.size(), 4u + 56 + 16 + 4);
  g.enter64(0, t, nr_of("recvmmsg"), {3, 0xdead0000, 4, 0, 0});
  g.leave(0, t, 1);
  x = extras(g.sink.rec(5));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].state, Capture::unreadable);
}

// A guest whose thread "lab" has an fd table, on a filesystem with a /tmp.
struct FilesGuest {
  static profile::Profile files_profile() {
    auto p = dispatcher_profile();
    add_file_types(p);
    return p;
  }
  explicit FilesGuest(syscalls::TracerConfig cfg = {}) : g(files_profile(), cfg) {
    g.boot();
    t = g.thread(10, 10, "lab");
    fds = f.fd_table(t.task, 16);
    sb = f.super_block(0x01021994);
    const uint64_t root = f.dentry("/", 0, sb);
    mnt = f.mount(root, 0, 0);
    tmp = f.dentry("tmp", root, sb);
  }
  // Installs /tmp/<name> as fd n (what the kernel does before the call returns).
  void install(int n, const char* name) {
    g.mem.write_u64(fds + 8 * n, f.file(mnt, f.dentry(name, tmp, sb)));
  }
  TracerGuest g;
  GuestThread t{};
  FakeFiles f{g.mem};
  uint64_t fds = 0, sb = 0, mnt = 0, tmp = 0;
};

TEST(CondCapture, RetPathOfReturnedFds) {
  FilesGuest fg;
  TracerGuest& g = fg.g;
  const GuestThread& t = fg.t;
  g.mem.write_str(0x500000, "/tmp/x");

  // openat returns 3: the kernel installed the file before the return.
  g.enter64(0, t, nr_of("openat"), {static_cast<uint64_t>(-100), 0x500000, 0x241, 0644});
  fg.install(3, "x");
  g.leave(0, t, 3);
  auto x = extras(g.sink.rec(1));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].tag, Extra::ret_path);
  EXPECT_EQ(x[0].bytes, "/tmp/x");
  // A failed open, a returned fd that is not open (closed by another thread): no
  // Ret_path.
  g.enter64(0, t, nr_of("openat"), {static_cast<uint64_t>(-100), 0x500000, 0, 0});
  g.leave(0, t, -2);
  EXPECT_TRUE(extras(g.sink.rec(3)).empty());
  g.enter64(0, t, nr_of("dup"), {3});
  g.leave(0, t, 9);
  EXPECT_EQ(extras(g.sink.rec(4)).size(), 1u);  // the argument's fd_path, on the entry
  EXPECT_TRUE(extras(g.sink.rec(5)).empty());
  // fcntl: F_DUPFD returns an fd, F_GETFL a flag word.
  fg.install(5, "x");
  g.enter64(0, t, nr_of("fcntl"), {3, 0 /* F_DUPFD */, 5});
  g.leave(0, t, 5);
  x = extras(g.sink.rec(7));
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].tag, Extra::ret_path);
  EXPECT_EQ(x[0].bytes, "/tmp/x");
  g.enter64(0, t, nr_of("fcntl"), {3, 3 /* F_GETFL */, 0});
  g.leave(0, t, 5);
  EXPECT_TRUE(extras(g.sink.rec(9)).empty());
}

TEST(CondCapture, RetPathOffWithNoFdPaths) {
  syscalls::TracerConfig cfg;
  cfg.fd_paths = false;
  FilesGuest fg(cfg);
  fg.install(3, "y");
  fg.g.enter64(0, fg.t, nr_of("socket"), {2, 1, 0});
  fg.g.leave(0, fg.t, 3);
  EXPECT_TRUE(extras(fg.g.sink.rec(1)).empty());
}

}  // namespace
}  // namespace vmitrace::testing

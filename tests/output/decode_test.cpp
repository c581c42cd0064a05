// The rich style's generic decoders: known values, unknown remainders, zero and
// hostile values (all bits set, negative numbers).
#include <gtest/gtest.h>

#include <string>

#include "output/decode.hpp"
#include "rendered.hpp"

using namespace vmitrace;
using test::rendered;
namespace d = vmitrace::output::decode;
namespace c = vmitrace::syscalls::consts;

namespace {

TEST(Decode, SignExtend) {
  EXPECT_EQ(d::sign_extend(0xffffff9c, 32), -100);
  EXPECT_EQ(d::sign_extend(0xffffffffffffff9cull, 32), -100);
  EXPECT_EQ(d::sign_extend(0x7fffffff, 32), 0x7fffffff);
  EXPECT_EQ(d::sign_extend(0xffff, 16), -1);
  EXPECT_EQ(d::sign_extend(~0ull, 64), -1);
  EXPECT_EQ(d::sign_extend(5, 0), 0);
}

TEST(Decode, Numbers) {
  EXPECT_EQ(rendered([](auto& s) { d::hex(s, 0x2a); }), "0x2a");
  EXPECT_EQ(rendered([](auto& s) { d::dec(s, -1); }), "-1");
  EXPECT_EQ(rendered([](auto& s) { d::dec(s, INT64_MIN); }), "-9223372036854775808");
  EXPECT_EQ(rendered([](auto& s) { d::udec(s, ~0ull); }), "18446744073709551615");
  EXPECT_EQ(rendered([](auto& s) { d::ptr(s, 0); }), "NULL");
  EXPECT_EQ(rendered([](auto& s) { d::ptr(s, 0x7ffd1000); }), "0x7ffd1000");
  EXPECT_EQ(rendered([](auto& s) { d::alt_hex(s, 0); }), "0");
}

TEST(Decode, FlagSets) {
  auto f = [](const syscalls::ConstSet& set, uint64_t v) {
    return rendered([&](auto& s) { d::flags(s, set, v); });
  };
  EXPECT_EQ(f(c::prot, 3), "PROT_READ|PROT_WRITE");
  EXPECT_EQ(f(c::prot, 0), "PROT_NONE");                      // the set's zero name
  EXPECT_EQ(f(c::prot, 0x11), "PROT_READ|0x10");              // unknown remainder
  EXPECT_EQ(f(c::prot, 0x40), "0x40");
  EXPECT_EQ(f(c::mmap_flags, 0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(f(c::mmap_flags, 0x3), "MAP_SHARED_VALIDATE");     // composite first
  EXPECT_EQ(f(c::mmap_flags, 0), "0");                          // no zero name
  EXPECT_EQ(f(c::access_mode, 0), "F_OK");
  EXPECT_EQ(f(c::access_mode, 6), "R_OK|W_OK");
  EXPECT_EQ(f(c::at_flags, 0x1100), "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH");
  EXPECT_EQ(f(c::wait_options, 0x40000001), "WNOHANG|__WALL");
  EXPECT_EQ(f(c::open_flags, 0x80000), "O_CLOEXEC");           // pipe2/dup3 flags
  // All bits set: every name once, then what no name covers.
  std::string all = f(c::prot, ~0ull);
  EXPECT_EQ(all.rfind("PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0x", 0),
            0u) << all;
  EXPECT_NE(all.find("|0xfffffffffcfffff0"), std::string::npos) << all;
}

TEST(Decode, Enumerations) {
  auto e = [](const syscalls::ConstSet& set, uint64_t v) {
    return rendered([&](auto& s) { d::enumeration(s, set, v); });
  };
  EXPECT_EQ(e(c::madvise_advice, 4), "MADV_DONTNEED");
  EXPECT_EQ(e(c::madvise_advice, 0), "MADV_NORMAL");
  EXPECT_EQ(e(c::madvise_advice, 5), "0x5");
  EXPECT_EQ(e(c::fcntl_cmd, 1030), "F_DUPFD_CLOEXEC");
  EXPECT_EQ(e(c::sigprocmask_how, 2), "SIG_SETMASK");
  EXPECT_EQ(e(c::socket_domain, 10), "AF_INET6");
  EXPECT_EQ(e(c::ipproto, 6), "IPPROTO_TCP");
  EXPECT_EQ(e(c::fcntl_cmd, ~0ull), "0xffffffffffffffff");
}

TEST(Decode, OpenFlags) {
  auto o = [](uint64_t v) { return rendered([&](auto& s) { d::open_flags(s, v); }); };
  EXPECT_EQ(o(0), "O_RDONLY");
  EXPECT_EQ(o(0x80000), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(o(01 | 0100 | 01000), "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(o(02 | 0x80000 | 0x10000), "O_RDWR|O_CLOEXEC|O_DIRECTORY");  // strace's order
  EXPECT_EQ(o(3), "O_ACCMODE");
  EXPECT_EQ(o(0x101001), "O_WRONLY|O_SYNC");          // O_SYNC contains O_DSYNC's bit
  EXPECT_EQ(o(0x410002), "O_RDWR|O_TMPFILE");
  EXPECT_EQ(o(0x80000000), "O_RDONLY|0x80000000");    // unknown remainder
  std::string all = o(0xffffffff);
  EXPECT_EQ(all.rfind("O_ACCMODE|O_CREAT|", 0), 0u) << all;
  EXPECT_NE(all.find("|O_PATH|O_TMPFILE|0xff80003c"), std::string::npos) << all;
}

TEST(Decode, CloneFlags) {
  auto f = [](uint64_t v) { return rendered([&](auto& s) { d::clone_flags(s, v); }); };
  EXPECT_EQ(f(0x01200011), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
  EXPECT_EQ(f(0x3d0f00), "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|"
                         "CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID");
  EXPECT_EQ(f(17), "SIGCHLD");
  EXPECT_EQ(f(0), "0");
  EXPECT_EQ(f(0x100 | 0xff), "CLONE_VM|255");  // exit signal out of range: decimal
  EXPECT_EQ(f(0x400000000ull | 0x11), "0x400000000|SIGCHLD");
}

TEST(Decode, SocketType) {
  auto f = [](uint64_t v) { return rendered([&](auto& s) { d::socket_type(s, v); }); };
  EXPECT_EQ(f(1), "SOCK_STREAM");
  EXPECT_EQ(f(2 | 0x80000 | 0x800), "SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK");
  EXPECT_EQ(f(0x80000), "SOCK_CLOEXEC");
  EXPECT_EQ(f(0), "0");
  EXPECT_EQ(f(0xf), "0xf");
  EXPECT_EQ(f(0x10001), "SOCK_STREAM|0x10000");
}

TEST(Decode, IoctlRequests) {
  auto f = [](uint64_t v) { return rendered([&](auto& s) { d::ioctl_cmd(s, v); }); };
  EXPECT_EQ(f(0x5401), "TCGETS");
  EXPECT_EQ(f(0x541B), "FIONREAD");
  EXPECT_EQ(f(0x80045430), "TIOCGPTN");
  EXPECT_EQ(f(0xC0105512), "_IOC(_IOC_READ|_IOC_WRITE, 0x55, 0x12, 0x10)");
  EXPECT_EQ(f(0x40087e01), "_IOC(_IOC_WRITE, 0x7e, 0x1, 0x8)");
  EXPECT_EQ(f(0x5499), "_IOC(_IOC_NONE, 0x54, 0x99, 0)");
  EXPECT_EQ(f(0), "_IOC(_IOC_NONE, 0, 0, 0)");
  EXPECT_EQ(f(0xffffffff), "_IOC(_IOC_READ|_IOC_WRITE, 0xff, 0xff, 0x3fff)");
  EXPECT_EQ(f(0x100005401ull), "_IOC(_IOC_NONE, 0x54, 0x1, 0)|0x100000000");
}

TEST(Decode, Signals) {
  auto f = [](int64_t v) { return rendered([&](auto& s) { d::signal(s, v); }); };
  EXPECT_EQ(f(9), "SIGKILL");
  EXPECT_EQ(f(17), "SIGCHLD");
  EXPECT_EQ(f(31), "SIGSYS");
  EXPECT_EQ(f(32), "SIGRTMIN");
  EXPECT_EQ(f(34), "SIGRT_2");
  EXPECT_EQ(f(64), "SIGRT_32");
  EXPECT_EQ(f(0), "0");
  EXPECT_EQ(f(65), "65");
  EXPECT_EQ(f(-1), "-1");
  EXPECT_EQ(f(INT32_MIN), "-2147483648");
}

TEST(Decode, ModeAndDirfd) {
  auto m = [](uint64_t v) { return rendered([&](auto& s) { d::mode(s, v); }); };
  EXPECT_EQ(m(0644), "0644");
  EXPECT_EQ(m(0755), "0755");
  EXPECT_EQ(m(0), "000");
  EXPECT_EQ(m(7), "007");
  EXPECT_EQ(m(04755), "04755");
  EXPECT_EQ(m(0xffff), "0177777");
  auto fd = [](int64_t v) { return rendered([&](auto& s) { d::dirfd(s, v); }); };
  EXPECT_EQ(fd(-100), "AT_FDCWD");
  EXPECT_EQ(fd(3), "3");
  EXPECT_EQ(fd(-1), "-1");
}

TEST(Decode, QuotedStrings) {
  auto q = [](std::string_view s, size_t limit = 0, bool t = false) {
    return rendered([&](auto& o) { d::quoted(o, s, limit, t); });
  };
  EXPECT_EQ(q("/etc/passwd"), R"("/etc/passwd")");
  EXPECT_EQ(q("a\nb\tc\r\v\f"), R"("a\nb\tc\r\v\f")");
  EXPECT_EQ(q("q\"\\"), R"("q\"\\")");
  // strace's octal: as few digits as the value needs, three before an octal digit.
  EXPECT_EQ(q(std::string_view("\x7f" "ELF\x02\x01\x01\x03\0", 9)), R"("\177ELF\2\1\1\3\0")");
  EXPECT_EQ(q(std::string_view("\x01\x7f\0x", 4)), R"("\1\177\0x")");
  EXPECT_EQ(q(std::string_view("\0" "1\x08" "8\x1b" "7", 6)), R"("\0001\108\0337")");  // 8 is no octal digit
  EXPECT_EQ(q("caf\xc3\xa9"), R"("caf\303\251")");  // bytes above 0x7e: octal, UTF-8 or not
  EXPECT_EQ(q("\xff\xc3\x28"), R"("\377\303(")");
  EXPECT_EQ(q(""), R"("")");
  EXPECT_EQ(q("abcdef", 3), R"("abc"...)");                 // strace's marker
  EXPECT_EQ(q("abc", 3), R"("abc")");
  EXPECT_EQ(q("abc", 0, true), R"("abc"...)");               // cut by the capture
}

TEST(Decode, QuotedOtherEscapes) {
  auto q = [](std::string_view s, d::Escapes e, size_t limit = 0) {
    return rendered([&](auto& o) { d::quoted(o, s, limit, false, e); });
  };
  // utf8 (Windows names, the raw style's out arguments): \xNN, valid UTF-8 kept.
  EXPECT_EQ(q(std::string_view("\x01\x7f\0x", 4), d::Escapes::utf8), R"("\x01\x7f\x00x")");
  EXPECT_EQ(q("caf\xc3\xa9", d::Escapes::utf8), "\"caf\xc3\xa9\"");
  EXPECT_EQ(q("\xff\xc3\x28\xed\xa0\x80", d::Escapes::utf8), R"("\xff\xc3(\xed\xa0\x80")");
  EXPECT_EQ(q("a\n\"", d::Escapes::utf8), R"("a\n\"")");
  EXPECT_EQ(q("\xc3\xa9\xc3\xa9", d::Escapes::utf8, 3), R"("é\xc3"...)");  // cut inside a sequence
  // hex_all (getrandom's buffer): every byte, printable or not.
  EXPECT_EQ(q(std::string_view("\x9f" "a\0", 3), d::Escapes::hex_all), R"("\x9f\x61\x00")");
}

TEST(Decode, StringArrays) {
  auto a = [](std::string_view s, size_t limit = 0, bool t = false) {
    return rendered([&](auto& o) { d::string_array(o, s, limit, t); });
  };
  using namespace std::string_view_literals;
  EXPECT_EQ(a("ls\0-l\0/tmp\0"sv), R"(["ls", "-l", "/tmp"])");
  EXPECT_EQ(a(""sv), "[]");
  EXPECT_EQ(a(""sv, 0, true), "[...]");
  EXPECT_EQ(a("ls\0"sv, 0, true), R"(["ls", ...])");
  EXPECT_EQ(a("ls\0-la"sv, 0, true), R"(["ls", "-la"..., ...])");  // no terminator
  EXPECT_EQ(a("\0\0"sv), R"(["", ""])");
  EXPECT_EQ(a("abcdef\0x\0"sv, 2), R"(["ab"..., "x"])");
  EXPECT_EQ(a("a\"\n\0"sv), R"(["a\"\n"])");
}

}  // namespace

// --args=rich through format_event: argument strings in every format, sysret Info,
// raw mode untouched, and random records that must always give valid JSON with
// every argument a string.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>

#include "output/format.hpp"
#include "json_line.hpp"
#include "record_helpers.hpp"
#include "syscalls/tables/linux.hpp"

using namespace vmitrace;
using output::ArgStyle;
using output::Format;
using output::FormatOptions;
using test::RecordBuf;

namespace {

std::string line_of(const event::Record& r, Format f, ArgStyle st = ArgStyle::rich,
                    size_t limit = 256) {
  FormatOptions o;
  o.format = f;
  o.args = st;
  o.string_limit = limit;
  std::string out;
  output::format_event(r, 7, o, out);
  return out;
}

using test::json_str;

// One x64 syscall entry with the given arguments (no blobs).
struct Call {
  RecordBuf rb;
  Call(const char* name, std::initializer_list<uint64_t> args) {
    event::Record& r = rb.rec();
    test::fill_context(r);
    const syscalls::SyscallInfo* s = syscalls::lookup(event::Abi::linux_x64, name);
    r.nr = s ? s->nr : 9999;
    unsigned i = 0;
    for (uint64_t a : args) r.args[i++] = a;
    r.nargs = static_cast<uint8_t>(i);
  }
  std::string arg(const char* key) { return json_str(line_of(rb.done(), Format::json), key); }
};

TEST(Rich, OpenatAllFormats) {
  RecordBuf rb;
  event::Record& r = const_cast<event::Record&>(test::openat_entry(rb));
  r.args[2] = 01 | 0100 | 01000 | 02000000;
  r.args[3] = 0644;
  std::string json = line_of(r, Format::json);
  EXPECT_EQ(json_str(json, "dfd"), "AT_FDCWD");
  EXPECT_EQ(json_str(json, "filename"), "\"/etc/passwd\"");
  EXPECT_EQ(json_str(json, "flags"), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
  EXPECT_EQ(json_str(json, "mode"), "0644");
  EXPECT_NE(json.find(R"("dfd":"AT_FDCWD","filename":"\"/etc/passwd\"",)"), std::string::npos)
      << json;
  // The same strings, quoted and escaped the same way, in the text formats.
  EXPECT_NE(line_of(r, Format::kv).find(
                R"(dfd="AT_FDCWD",filename="\"/etc/passwd\"",flags="O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC",mode="0644")"
                "\n"),
            std::string::npos);
  EXPECT_NE(line_of(r, Format::csv).find(R"(,"AT_FDCWD","\"/etc/passwd\"",)"), std::string::npos);
  EXPECT_NE(line_of(r, Format::drakvuf_default).find(R"( dfd:"AT_FDCWD" filename:"\"/etc/passwd\"")"),
            std::string::npos);
}

TEST(Rich, RawModeIsUnchangedByTheNewKinds) {
  // Arguments that now have decoded kinds keep their raw hex (the golden tests in
  // format_test.cpp hold the full lines).
  Call sock("socket", {2, 0x80001, 6});
  std::string raw = line_of(sock.rb.done(), Format::json, ArgStyle::raw);
  EXPECT_EQ(json_str(raw, "family"), "0x2");
  EXPECT_EQ(json_str(raw, "type"), "0x80001");
  EXPECT_EQ(json_str(raw, "protocol"), "0x6");
  EXPECT_NE(line_of(sock.rb.rec(), Format::kv, ArgStyle::raw).find("family=0x2,type=0x80001,protocol=0x6"),
            std::string::npos);
  Call mm("mmap", {0, 4096, 3, 0x22, ~0ull, 0});
  raw = line_of(mm.rb.done(), Format::json, ArgStyle::raw);
  EXPECT_EQ(json_str(raw, "prot"), "PROT_READ | PROT_WRITE");  // DRAKVUF's separator
  EXPECT_EQ(json_str(raw, "flags"), "0x22");
  EXPECT_EQ(json_str(raw, "addr"), "0x0");
  EXPECT_EQ(json_str(raw, "fd"), "0xffffffffffffffff");
}

TEST(Rich, DecodedArguments) {
  {
    Call c("mmap", {0, 8192, 3, 0x22, ~0ull, 0});
    EXPECT_EQ(c.arg("addr"), "NULL");
    EXPECT_EQ(c.arg("len"), "8192");
    EXPECT_EQ(c.arg("prot"), "PROT_READ|PROT_WRITE");
    EXPECT_EQ(c.arg("flags"), "MAP_PRIVATE|MAP_ANONYMOUS");
    EXPECT_EQ(c.arg("fd"), "-1");
    EXPECT_EQ(c.arg("off"), "0");
  }
  EXPECT_EQ(Call("mprotect", {0x7f0000001000, 4096, 0}).arg("prot"), "PROT_NONE");
  EXPECT_EQ(Call("madvise", {0x7f0000001000, 4096, 4}).arg("behavior"), "MADV_DONTNEED");
  EXPECT_EQ(Call("access", {0, 4 | 1}).arg("mode"), "R_OK|X_OK");
  EXPECT_EQ(Call("access", {0, 0}).arg("mode"), "F_OK");
  EXPECT_EQ(Call("newfstatat", {3, 0, 0, 0x1000}).arg("flag"), "AT_EMPTY_PATH");
  EXPECT_EQ(Call("newfstatat", {3, 0, 0, 0}).arg("dfd"), "3");
  EXPECT_EQ(Call("unlinkat", {0xffffff9c, 0, 0x200}).arg("flag"), "AT_REMOVEDIR");
  {
    Call c("clone", {0x01200011, 0, 0, 0x7f00deadbeef, 0});
    EXPECT_EQ(c.arg("clone_flags"), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
    EXPECT_EQ(c.arg("newsp"), "NULL");
    EXPECT_EQ(c.arg("child_tidptr"), "0x7f00deadbeef");
  }
  {
    Call c("socket", {10, 2 | 0x800, 17});
    EXPECT_EQ(c.arg("family"), "AF_INET6");
    EXPECT_EQ(c.arg("type"), "SOCK_DGRAM|SOCK_NONBLOCK");
    EXPECT_EQ(c.arg("protocol"), "IPPROTO_UDP");
  }
  EXPECT_EQ(Call("accept4", {3, 0, 0, 0x80000}).arg("flags"), "SOCK_CLOEXEC");
  EXPECT_EQ(Call("kill", {1234, 15}).arg("sig"), "SIGTERM");
  EXPECT_EQ(Call("kill", {0xffffffffffffffff, 0}).arg("pid"), "-1");
  EXPECT_EQ(Call("tgkill", {1, 2, 6}).arg("sig"), "SIGABRT");
  EXPECT_EQ(Call("tkill", {1, 33}).arg("sig"), "SIGRT_1");
  EXPECT_EQ(Call("rt_sigaction", {17, 0x1000, 0, 8}).arg("sig"), "SIGCHLD");
  EXPECT_EQ(Call("rt_sigaction", {17, 0x1000, 0, 8}).arg("sigsetsize"), "8");
  EXPECT_EQ(Call("rt_sigprocmask", {1, 0x1000, 0, 8}).arg("how"), "SIG_UNBLOCK");
  EXPECT_EQ(Call("fcntl", {3, 1030, 10}).arg("cmd"), "F_DUPFD_CLOEXEC");
  EXPECT_EQ(Call("prctl", {15, 0x1000, 0, 0, 0}).arg("option"), "PR_SET_NAME");
  EXPECT_EQ(Call("prctl", {15, 0x7ffd1000, 0, 0, 0}).arg("arg2"), "0x7ffd1000");
  EXPECT_EQ(Call("prctl", {15, 0x7ffd1000, 0, 0, 0}).arg("arg3"), "0");
  EXPECT_EQ(Call("arch_prctl", {0x1002, 0x7f0000000740}).arg("option"), "ARCH_SET_FS");
  EXPECT_EQ(Call("arch_prctl", {0x1002, 0x7f0000000740}).arg("arg2"), "0x7f0000000740");
  EXPECT_EQ(Call("wait4", {0xffffffff, 0, 3, 0}).arg("options"), "WNOHANG|WUNTRACED");
  EXPECT_EQ(Call("wait4", {0xffffffff, 0, 0, 0}).arg("upid"), "-1");
  EXPECT_EQ(Call("ioctl", {1, 0x5401, 0x7ffd0000}).arg("cmd"), "TCGETS");
  EXPECT_EQ(Call("ioctl", {1, 0x5401, 0x7ffd0000}).arg("arg"), "0x7ffd0000");
  EXPECT_EQ(Call("ioctl", {1, 0xC0105512, 0}).arg("cmd"),
            "_IOC(_IOC_READ|_IOC_WRITE, 0x55, 0x12, 0x10)");
  EXPECT_EQ(Call("close", {0xffffffff}).arg("fd"), "-1");
  EXPECT_EQ(Call("lseek", {3, ~0ull, 1}).arg("offset"), "-1");
  EXPECT_EQ(Call("pipe2", {0x7ffd0000, 0x80800}).arg("flags"), "O_NONBLOCK|O_CLOEXEC");
  EXPECT_EQ(Call("brk", {0}).arg("brk"), "NULL");
  EXPECT_EQ(Call("sys_9999", {1, 2}).arg("arg0"), "0x1");  // unknown number: hex strings
}

TEST(Rich, StringsAndArrays) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.nr = 59;  // execve(filename, argv, envp)
  r.args[0] = 0x1000;
  r.args[1] = 0x2000;
  r.args[2] = 0x3000;
  rb.blob(0, "/bin/ls");
  rb.blob(1, std::string_view("ls\0-l\0a\tb\0", 10));
  rb.blob(2, std::string_view("PATH=/bin\0HOME=/ro", 18), event::Capture::truncated);
  std::string json = line_of(rb.done(), Format::json);
  EXPECT_EQ(json_str(json, "filename"), R"("/bin/ls")");
  EXPECT_EQ(json_str(json, "argv"), R"(["ls", "-l", "a\tb"])");
  EXPECT_EQ(json_str(json, "envp"), R"(["PATH=/bin", "HOME=/ro"..., ...])");
  // strace's truncation marker after the closing quote, at --string-limit.
  EXPECT_EQ(json_str(line_of(rb.rec(), Format::json, ArgStyle::rich, 3), "argv"),
            R"(["ls", "-l", "a\tb"])");
  EXPECT_EQ(json_str(line_of(rb.rec(), Format::json, ArgStyle::rich, 4), "filename"), R"("/bin"...)");
  // Raw mode keeps its own string layout.
  EXPECT_EQ(json_str(line_of(rb.rec(), Format::json, ArgStyle::raw), "filename"), "/bin/ls");
}

TEST(Rich, UnreadableAndNullPointers) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.nr = 59;
  r.args[0] = 0x7ffd1234abcd;
  r.args[1] = 0;
  r.args[2] = 0x5000;
  rb.blob(0, "", event::Capture::unreadable);
  rb.blob(1, "", event::Capture::unreadable);
  rb.blob(2, "", event::Capture::none);
  std::string json = line_of(rb.done(), Format::json);
  EXPECT_EQ(json_str(json, "filename"), "0x7ffd1234abcd (unreadable)");
  EXPECT_EQ(json_str(json, "argv"), "NULL");
  EXPECT_EQ(json_str(json, "envp"), "0x5000");
  // A buffer the capture side did not copy is a pointer.
  EXPECT_EQ(Call("write", {1, 0x7ffd0000, 12}).arg("buf"), "0x7ffd0000");
  EXPECT_EQ(Call("write", {1, 0x7ffd0000, 12}).arg("count"), "12");
}

TEST(Rich, SysretInfo) {
  RecordBuf rb;
  const event::Record& r = test::openat_return(rb, -2);
  std::string json = line_of(r, Format::json);
  EXPECT_EQ(json_str(json, "Info"), "ENOENT (No such file or directory)");
  EXPECT_EQ(json_str(json, "Ret"), "0xfffffffffffffffe");
  EXPECT_NE(line_of(r, Format::kv).find(R"x(Info="ENOENT (No such file or directory)")x"),
            std::string::npos);
  EXPECT_EQ(json_str(line_of(r, Format::json, ArgStyle::raw), "Info"), "ENOENT");
  RecordBuf ok;
  EXPECT_EQ(json_str(line_of(test::openat_return(ok, 3), Format::json), "Info"), "");
  RecordBuf internal;  // kernel-internal code: a name without strerror text
  std::string l = line_of(test::openat_return(internal, -512), Format::json);
  EXPECT_EQ(json_str(l, "Info").rfind("ERESTARTSYS", 0), 0u) << l;
  RecordBuf big;
  EXPECT_EQ(json_str(line_of(test::openat_return(big, -4096), Format::json), "Info"), "");
}

// Random records (random numbers, arguments, blobs of random bytes and states):
// every rich line is valid JSON and every argument is a string.
TEST(Rich, RandomRecordsAlwaysGiveValidJsonStrings) {
  std::mt19937_64 rng(42);
  simdjson::dom::parser parser;
  const uint64_t specials[] = {0, ~0ull, 0xffffffff, 0x80000000, 0xffffff9c, 1, 0x7fffffffffffffff};
  for (int iter = 0; iter < 3000; ++iter) {
    RecordBuf rb;
    event::Record& r = rb.rec();
    test::fill_context(r);
    r.kind = rng() % 4 ? event::Kind::syscall : event::Kind::sysret;
    r.abi = rng() % 3 ? event::Abi::linux_x64 : event::Abi::linux_ia32;
    r.nr = static_cast<uint32_t>(rng() % 480);
    r.nargs = 6;
    r.ret = static_cast<int64_t>(rng() % 2 ? -(rng() % 5000) : rng());
    for (unsigned i = 0; i < 6; ++i) {
      r.args[i] = rng() % 3 ? rng() >> (rng() % 64) : specials[rng() % std::size(specials)];
      if (rng() % 3 == 0) {
        std::string bytes(rng() % 300, '\0');
        for (char& ch : bytes) ch = static_cast<char>(rng() % 4 ? rng() : 0);
        rb.blob(i, bytes, static_cast<event::Capture>(rng() % 4));
      }
    }
    const event::Record& rec = rb.done();
    for (Format f : {Format::json, Format::kv, Format::csv, Format::drakvuf_default}) {
      std::string line = line_of(rec, f, ArgStyle::rich, rng() % 2 ? 256 : rng() % 8);
      ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
      if (f != Format::json) continue;
      simdjson::dom::element e;
      ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
      simdjson::dom::object obj;
      ASSERT_EQ(e.get_object().get(obj), simdjson::SUCCESS);
      const auto* info = syscalls::lookup(rec.abi, rec.nr);
      if (rec.kind == event::Kind::sysret || !info) continue;
      for (unsigned i = 0; i < info->nargs; ++i) {
        std::string_view v;
        ASSERT_EQ(obj[info->args[i].name].get_string().get(v), simdjson::SUCCESS)
            << info->name << " " << info->args[i].name << ": " << line;
        EXPECT_FALSE(v.empty()) << info->name << " " << info->args[i].name;
      }
    }
  }
}

}  // namespace

namespace {

// ia32: registers hold 32-bit values; ints are sign-extended from 32 bits.
TEST(Rich, Ia32Arguments) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.abi = event::Abi::linux_ia32;
  r.nr = 192;  // mmap2
  r.args[0] = 0xdeadbeef00000000ull;
  r.args[1] = 0x12345678ffffffffull;
  r.args[2] = 0x100000007ull;
  r.args[3] = 0x22;
  r.args[4] = 0xffffffff;
  r.args[5] = 0;
  std::string json = line_of(rb.done(), Format::json);
  EXPECT_EQ(json_str(json, "addr"), "NULL");
  EXPECT_EQ(json_str(json, "len"), "4294967295");
  EXPECT_EQ(json_str(json, "prot"), "PROT_READ|PROT_WRITE|PROT_EXEC");
  EXPECT_EQ(json_str(json, "flags"), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(json_str(json, "fd"), "-1");

  RecordBuf ob;
  event::Record& o = ob.rec();
  test::fill_context(o);
  o.abi = event::Abi::linux_ia32;
  o.nr = 5;  // open: 32-bit glibc passes O_LARGEFILE
  o.args[1] = 0x8000 | 0x80000;
  o.args[2] = 0666;
  std::string oj = line_of(ob.done(), Format::json);
  EXPECT_EQ(json_str(oj, "flags"), "O_RDONLY|O_LARGEFILE|O_CLOEXEC");
  EXPECT_EQ(json_str(oj, "mode"), "0666");

  RecordBuf kb;
  event::Record& k = kb.rec();
  test::fill_context(k);
  k.abi = event::Abi::linux_ia32;
  k.nr = 37;  // kill
  k.args[0] = 0xffffffff;
  k.args[1] = 9;
  std::string kj = line_of(kb.done(), Format::json);
  EXPECT_EQ(json_str(kj, "pid"), "-1");
  EXPECT_EQ(json_str(kj, "sig"), "SIGKILL");
}

}  // namespace

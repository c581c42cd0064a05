#include <gtest/gtest.h>

#include <filesystem>

#include "../common/error_of.hpp"
#include "common/error.hpp"
#include "tracer_fixture.hpp"
#include "syscalls/core/filter.hpp"

namespace vmitrace::testing {
namespace {

using syscalls::load_linux_filter;
using test::error_of;
using syscalls::parse_filter;
using syscalls::read_filter_file;

TEST(Filter, CommentsBlanksWhitespaceAndDuplicates) {
  auto n = parse_filter("# header\n\n  openat  \r\n\tread # trailing comment\nopenat\n   \n#x\nwrite");
  EXPECT_EQ(n, (std::vector<std::string>{"openat", "read", "write"}));
}

TEST(Filter, UnknownNamesWarnedOnceNamingTheFile) {
  TempFile f("openat\nnot_a_syscall\nexecve\nbogus2\n");
  ::testing::internal::CaptureStderr();
  auto lf = load_linux_filter(f.path);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(lf.names, (std::vector<std::string>{"openat", "execve"}));
  EXPECT_EQ(lf.unknown, (std::vector<std::string>{"not_a_syscall", "bogus2"}));
  EXPECT_EQ(err, "vmitrace: warning: " + f.path +
                     ": unknown syscall names ignored: not_a_syscall, bogus2\n");
}

TEST(Filter, QuietWhenAsked) {
  TempFile f("openat\nnope\n");
  ::testing::internal::CaptureStderr();
  load_linux_filter(f.path, false);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Filter, Ia32OnlyNameIsKnown) {
  // socketcall exists only in the 32-bit table.
  auto lf = syscalls::check_linux_filter({"socketcall"});
  EXPECT_EQ(lf.names.size(), 1u);
}

TEST(Filter, EmptyOrOnlyUnknownIsAnError) {
  TempFile empty("");
  EXPECT_EQ(error_of([&] { load_linux_filter(empty.path, false); }),
            empty.path + ": no known syscall names in the filter file");
  TempFile comments("# nothing\n\n");
  EXPECT_NE(error_of([&] { load_linux_filter(comments.path, false); }), "");
  TempFile unknown("foo\nbar\n");
  EXPECT_NE(error_of([&] { load_linux_filter(unknown.path, false); }), "");
}

TEST(Filter, DirectoryAndMissingFileAreErrors) {
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(error_of([&] { read_filter_file(dir); }),
            dir + ": is a directory, not a syscall filter file");
  const std::string missing = dir + "/vmitrace_no_such_filter";
  EXPECT_EQ(error_of([&] { read_filter_file(missing); }), missing + ": No such file or directory");
}

TEST(Filter, TracerRejectsBadFilterFile) {
  FakeBackend be;
  CollectSink sink;
  syscalls::TracerConfig cfg;
  cfg.filter_file = ::testing::TempDir();
  EXPECT_THROW(syscalls::make_tracer(cfg, dispatcher_profile(), be, sink), Error);
}


TEST(Filter, NamesOfAnotherArchitectureAreSaidAndAllForeignIsAnError) {
  using event::Abi;
  TempFile f("openat\nstat\narch_prctl\n");  // arch_prctl: x86 only (arm32's compat table has stat)
  const syscalls::LinuxFilter lf = load_linux_filter(f.path, false);
  ::testing::internal::CaptureStderr();
  const auto foreign = syscalls::check_filter_for_guest(f.path, lf, {Abi::linux_arm64, Abi::linux_arm32},
                                                         "arm64 Linux", true);
  const std::string err = ::testing::internal::GetCapturedStderr();
  for (const auto& n : foreign) EXPECT_NE(err.find(n), std::string::npos) << err;
  EXPECT_NE(err.find("not syscalls of arm64 Linux guests"), std::string::npos) << err;
  EXPECT_EQ(foreign, std::vector<std::string>{"arch_prctl"});

  TempFile only("arch_prctl\niopl\n");
  const syscalls::LinuxFilter lo = load_linux_filter(only.path, false);
  EXPECT_EQ(error_of([&] {
              syscalls::check_filter_for_guest(only.path, lo, {Abi::linux_arm64, Abi::linux_arm32}, "arm64 Linux",
                                               false);
            }),
            only.path + ": none of its syscalls exists on arm64 Linux guests (arch_prctl, iopl)");
  // The same file on an x86-64 guest: all known, nothing said.
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(syscalls::check_filter_for_guest(only.path, lo, {Abi::linux_x64, Abi::linux_ia32}, "x86_64 Linux",
                                               true)
                  .empty());
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace vmitrace::testing

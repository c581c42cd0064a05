// data/gen_tables.py rejects malformed decoder overrides with FILE:LINE: problem
// (the build stops there rather than generating a table that decodes wrongly).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct GenResult {
  int status;
  std::string text;  // the generated source on success, else the error output
};

// Runs the generator on one syscall line and two constant sets (flags + enum).
GenResult generate(const std::string& syscall_line) {
  fs::path dir = fs::temp_directory_path() / ("gen_tables_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "const");
  std::ofstream(dir / "t.tbl") << "0\tfoo\t__x64_sys_foo\t-\t" << syscall_line << "\n";
  std::ofstream(dir / "const" / "fl.tbl") << "#!kind: flags\n0x1\tF_ONE\n";
  std::ofstream(dir / "const" / "en.tbl") << "#!kind: enum\n1\tE_ONE\n";
  std::ofstream(dir / "const" / "signals.tbl") << "#!kind: enum\n9\tSIGKILL\n";
  std::string cmd = std::string("python3 ") + VMITRACE_SOURCE_ROOT "/data/gen_tables.py " +
                    (dir / "out.cpp").string() + " --syscalls linux_x64=" +
                    (dir / "t.tbl").string() + " --consts " + (dir / "const/fl.tbl").string() +
                    " " + (dir / "const/en.tbl").string() + " " +
                    (dir / "const/signals.tbl").string() + " 2>" + (dir / "err").string();
  int st = std::system(cmd.c_str());
  std::ifstream in(dir / "err");
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ifstream gen(dir / "out.cpp");
  std::string out((std::istreambuf_iterator<char>(gen)), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, st == 0 ? out : err};
}

TEST(GenTables, DecoderOverrides) {
  if (std::system("python3 -c pass") != 0) GTEST_SKIP() << "python3 not available";
  GenResult ok = generate("int a {flags:fl}\tint b {enum:en}\tint sig");
  ASSERT_EQ(ok.status, 0) << ok.text;
  EXPECT_NE(ok.text.find("ArgKind::flags, 32, -1, &consts::fl}"), std::string::npos) << ok.text;
  EXPECT_NE(ok.text.find("ArgKind::enum_, 32, -1, &consts::en}"), std::string::npos);
  EXPECT_NE(ok.text.find("ArgKind::signal, 32, -1, &consts::signals}"), std::string::npos);

  GenResult r = generate("int a {flags:en}");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.text.find("t.tbl:1: en is not a flag set"), std::string::npos) << r.text;
  r = generate("int a {enum:fl}");
  EXPECT_NE(r.text.find("fl is not an enum set"), std::string::npos) << r.text;
  r = generate("int a {flags:nosuch}");
  EXPECT_NE(r.text.find("no constant set data/const/nosuch.tbl"), std::string::npos) << r.text;
  r = generate("int a {flags}");
  EXPECT_NE(r.text.find("needs a constant set"), std::string::npos) << r.text;
  r = generate("int a {fd:x}");
  EXPECT_NE(r.text.find("take a parameter"), std::string::npos) << r.text;
  r = generate("int a {bogus}");
  EXPECT_NE(r.text.find("unknown kind 'bogus'"), std::string::npos) << r.text;
}

}  // namespace

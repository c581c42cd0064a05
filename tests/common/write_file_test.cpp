// write_file never destroys what it was not asked to write: new and regular files are
// replaced through a fresh temporary file, a link's target is written (the link
// stays), a dangling link is refused, a FIFO is written in place; and
// refuse_input_as_output compares files, not names.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/write_file.hpp"
#include "error_of.hpp"

namespace fs = std::filesystem;
using namespace vmitrace;
using test::error_of;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/vmitrace-write-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST(WriteFile, CreatesANewFileAndLeavesNoTemporary) {
  TempDir t;
  write_file(t / "out.json", "{}\n");
  EXPECT_EQ(slurp(t / "out.json"), "{}\n");
  EXPECT_EQ(entries(t.dir), 1u);
}

TEST(WriteFile, ReplacesARegularFileKeepingItsMode) {
  TempDir t;
  put(t / "out.json", "old content, longer than the new one");
  ::chmod((t / "out.json").c_str(), 0600);
  write_file(t / "out.json", "new");
  EXPECT_EQ(slurp(t / "out.json"), "new");
  struct stat st {};
  ASSERT_EQ(::stat((t / "out.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(entries(t.dir), 1u);
}

TEST(WriteFile, WritesTheTargetOfALinkAndKeepsTheLink) {
  TempDir t;
  fs::create_directory(t / "real");
  put(t / "real/target.json", "old");
  fs::create_symlink("real/target.json", t / "link.json");
  write_file(t / "link.json", "new");
  EXPECT_TRUE(fs::is_symlink(t / "link.json"));
  EXPECT_EQ(slurp(t / "real/target.json"), "new");
  EXPECT_EQ(entries(t / "real"), 1u);  // the temporary file was made next to the target
}

TEST(WriteFile, RefusesADanglingLink) {
  TempDir t;
  fs::create_symlink(t / "nowhere.json", t / "link.json");
  EXPECT_NE(error_of([&] { write_file(t / "link.json", "x"); }).find("does not exist"), std::string::npos);
  EXPECT_FALSE(fs::exists(t / "nowhere.json"));
  EXPECT_TRUE(fs::is_symlink(t / "link.json"));
}

// The old writer used OUT.tmp: a link planted under that name had its target overwritten.
TEST(WriteFile, NeverWritesThroughALinkItDidNotCreate) {
  TempDir t;
  put(t / "victim", "precious");
  fs::create_symlink(t / "victim", t / "out.json.tmp");
  fs::create_symlink(t / "victim", t / ".out.json.tmp");
  write_file(t / "out.json", "profile");
  EXPECT_EQ(slurp(t / "victim"), "precious");
  EXPECT_EQ(slurp(t / "out.json"), "profile");
  EXPECT_TRUE(fs::is_symlink(t / "out.json.tmp"));
  EXPECT_FALSE(fs::is_symlink(t / "out.json"));
}

TEST(WriteFile, WritesAFifoInPlace) {
  TempDir t;
  ASSERT_EQ(::mkfifo((t / "fifo").c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = slurp(t / "fifo"); });
  write_file(t / "fifo", "through the pipe");
  reader.join();
  EXPECT_EQ(got, "through the pipe");
  struct stat st {};
  ASSERT_EQ(::lstat((t / "fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(entries(t.dir), 1u);
}

TEST(WriteFile, DevNullStaysADevice) {
  write_file("/dev/null", "discarded");
  struct stat st {};
  ASSERT_EQ(::lstat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(WriteFile, ErrorsNameTheFile) {
  TempDir t;
  fs::create_directory(t / "dir");
  EXPECT_NE(error_of([&] { write_file(t / "dir", "x"); }).find("dir: is a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { write_file(t / "nodir/out.json", "x"); }).find("nodir/out.json: "), std::string::npos);
}

TEST(RefuseInputAsOutput, ComparesFilesNotNames) {
  TempDir t;
  put(t / "profile.json", "{}");
  fs::create_hard_link(t / "profile.json", t / "hard.json");
  fs::create_symlink(t / "profile.json", t / "soft.json");
  put(t / "other.json", "");
  std::vector<NamedInput> inputs{{"the filter file", ""}, {"the profile (-r)", t / "profile.json"}};
  for (const char* out : {"profile.json", "hard.json", "soft.json"}) {
    std::string e = error_of([&] { refuse_input_as_output(t / out, inputs); });
    EXPECT_NE(e.find("is also the profile (-r)"), std::string::npos) << out << ": " << e;
  }
  // Through a different spelling of the same path too.
  EXPECT_NE(error_of([&] { refuse_input_as_output(t.dir.string() + "/./profile.json", inputs); }), "");
  EXPECT_EQ(error_of([&] { refuse_input_as_output(t / "other.json", inputs); }), "");
  EXPECT_EQ(error_of([&] { refuse_input_as_output(t / "new.json", inputs); }), "");
  EXPECT_EQ(error_of([&] { refuse_input_as_output("", inputs); }), "");
  EXPECT_EQ(slurp(t / "profile.json"), "{}");
}

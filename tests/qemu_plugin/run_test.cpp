// `vmitrace run` end to end on the lab guest, and under faults: QEMU SIGKILLed,
// vmitrace SIGTERMed, a plugin that fails to load. Every line written is whole and
// EventUIDs are contiguous.
#include <algorithm>
#include <dirent.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "lab.hpp"

namespace {

std::string vmitrace_bin() {
  std::string root = lab::env("VMITRACE_BUILD_ROOT");
  for (const char* rel : {"/vmitrace", "/src/app/vmitrace"})
    if (::access((root + rel).c_str(), X_OK) == 0) return root + rel;
  return {};
}

std::vector<std::string> run_cmd(const std::string& out, const std::string& append,
                                 std::vector<std::string> extra = {}) {
  std::vector<std::string> c{vmitrace_bin(), "run", "--plugin", lab::env("VMITRACE_QEMU_PLUGIN"),
                             "--output", out};
  c.insert(c.end(), extra.begin(), extra.end());
  c.push_back("--");
  for (auto& a : lab::qemu_cmd(append)) c.push_back(a);
  return c;
}

// Checks that every line is a whole JSON object with EventUID 0, 1, 2, ...
size_t check_lines(const std::string& text) {
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "last line cut";
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
    auto at = line.find("\"EventUID\":\"0x");
    EXPECT_NE(at, std::string::npos);
    if (at == std::string::npos) break;
    EXPECT_EQ(std::stoull(line.substr(at + 14), nullptr, 16), n) << line;
  }
  return n;
}

size_t count_lines(const std::string& path) {
  std::string t = lab::slurp(path);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

pid_t child_of(pid_t parent) {
  std::string t = lab::slurp("/proc/" + std::to_string(parent) + "/task/" +
                             std::to_string(parent) + "/children");
  return t.empty() ? -1 : static_cast<pid_t>(std::stol(t));
}

// The profile cache the runs share is removed at the end.
struct CacheCleanup : ::testing::Environment {
  void TearDown() override { std::filesystem::remove_all(lab::tmp("cache")); }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new CacheCleanup);

class Run : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!lab::available()) GTEST_SKIP() << "lab guest not built (" << lab::initramfs() << ")";
    if (vmitrace_bin().empty()) GTEST_SKIP() << "vmitrace binary not built";
    ::setenv("XDG_CACHE_HOME", (lab::tmp("cache")).c_str(), 1);
  }
  std::string out = lab::tmp("events.jsonl"), err = lab::tmp("run.err");
  void TearDown() override {
    ::unlink(out.c_str());
    ::unlink(err.c_str());
  }
};

}  // namespace

TEST_F(Run, WholeBootTracedAndExitStatusIsQemus) {
  int rc = lab::wait(lab::start(run_cmd(out, "vmitrace.workload=default"), "/dev/null", err), 300);
  std::string e = lab::slurp(err);
  ASSERT_EQ(rc, 0) << e;
  std::string text = lab::slurp(out);
  EXPECT_GT(check_lines(text), 1000u);
  EXPECT_NE(text.find("\"ProcessName\":\"lab64\""), std::string::npos);
  EXPECT_NE(e.find("dropped 0"), std::string::npos) << e;
  EXPECT_NE(e.find("top syscalls:"), std::string::npos) << e;
}

TEST_F(Run, QemuKilledMidTraceLosesNothingPublished) {
  auto p = lab::start(run_cmd(out, "vmitrace.workload=bench"), "/dev/null", err);
  for (int i = 0; i < 600 && count_lines(out) < 2000; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  pid_t q = child_of(p.pid);
  ASSERT_GT(q, 0);
  ::kill(q, SIGKILL);
  int rc = lab::wait(p, 60);
  EXPECT_EQ(rc, 128 + SIGKILL);
  const size_t lines = check_lines(lab::slurp(out));
  EXPECT_GE(lines, 2000u);
  const std::string e = lab::slurp(err);
  EXPECT_NE(e.find("without closing"), std::string::npos) << e;
  // The summary and the balance, although QEMU never gave its final count.
  EXPECT_NE(e.find(" events in "), std::string::npos) << e;
  EXPECT_NE(e.find("top syscalls:"), std::string::npos) << e;
  std::smatch m;
  static const std::regex acct(R"(accounting: (\d+) captured = (\d+) written \+ (\d+) dropped ([^\n]*))");
  ASSERT_TRUE(std::regex_search(e, m, acct)) << e;
  const uint64_t captured = std::stoull(m[1]), written = std::stoull(m[2]), dropped = std::stoull(m[3]);
  EXPECT_EQ(written, lines);
  EXPECT_EQ(captured, written + dropped);
  EXPECT_LE(dropped, 1u) << "only the record in flight may be lost: " << m[0];
  EXPECT_EQ(m[4].str().find("MISMATCH"), std::string::npos) << m[0];
}

// A SIGKILLed vmitrace cannot stop QEMU itself: the kernel kills QEMU with it
// (PR_SET_PDEATHSIG), so no guest is left running with nobody reading.
// Nothing of a run is left in /dev/shm, even when vmitrace is killed while QEMU
// starts (the ring file is unlinked at once; QEMU inherits its descriptor).
TEST_F(Run, SigkillAtStartLeavesNoRingFile) {
  auto p = lab::start(run_cmd(out, ""), "/dev/null", err);
  // The QEMU that runs the guest, not `qemu --version` before it.
  auto qemu_started = [&] {
    pid_t q = child_of(p.pid);
    return q > 0 && lab::slurp("/proc/" + std::to_string(q) + "/cmdline").find("-plugin") != std::string::npos;
  };
  for (int i = 0; i < 2000 && !qemu_started(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(qemu_started()) << lab::slurp(err);
  ::kill(p.pid, SIGKILL);
  lab::wait(p, 10);
  const std::string prefix = "vmitrace-" + std::to_string(p.pid) + "-";
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm"))
    EXPECT_NE(e.path().filename().string().rfind(prefix, 0), 0u) << e.path() << " left behind";
}

TEST_F(Run, SigkillOfVmitraceTakesQemuWithIt) {
  auto p = lab::start(run_cmd(out, "vmitrace.workload=bench"), "/dev/null", err);
  for (int i = 0; i < 600 && count_lines(out) < 100; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  pid_t q = child_of(p.pid);
  ASSERT_GT(q, 0) << lab::slurp(err);
  ASSERT_GE(count_lines(out), 100u) << lab::slurp(err);
  ::kill(p.pid, SIGKILL);
  lab::wait(p, 10);
  auto gone = [q] {
    // Re-parented QEMU is reaped by init once dead: gone, or a zombie meanwhile.
    std::string stat = lab::slurp("/proc/" + std::to_string(q) + "/stat");
    auto close = stat.rfind(')');
    return stat.empty() || (close != std::string::npos && stat.compare(close + 2, 1, "Z") == 0);
  };
  for (int i = 0; i < 40 && !gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(gone()) << "QEMU " << q << " outlived the SIGKILLed vmitrace";
  if (!gone()) ::kill(q, SIGKILL);
}

TEST_F(Run, SigtermStopsQemuAndFlushes) {
  auto p = lab::start(run_cmd(out, "vmitrace.workload=bench"), "/dev/null", err);
  for (int i = 0; i < 600 && count_lines(out) < 2000; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(p.pid, SIGTERM);
  int rc = lab::wait(p, 60);
  EXPECT_EQ(rc, 128 + SIGTERM);
  EXPECT_GE(check_lines(lab::slurp(out)), 2000u);
}

TEST_F(Run, PluginLoadFailureIsOneClearMessage) {
  auto cmd = run_cmd(out, "");
  cmd[3] = "/etc/hostname";  // --plugin: a readable file QEMU cannot load
  int rc = lab::wait(lab::start(cmd, "/dev/null", err), 60);
  EXPECT_NE(rc, 0);
  EXPECT_NE(lab::slurp(err).find("before the plugin started"), std::string::npos)
      << lab::slurp(err);
}

// What the plugin would refuse inside QEMU is refused before QEMU starts, in one line.
TEST_F(Run, BadProfileIsRefusedBeforeQemu) {
  int rc = lab::wait(lab::start(run_cmd(out, "", {"-r", "/etc/hostname"}), "/dev/null", err), 60);
  EXPECT_NE(rc, 0);
  const std::string e = lab::slurp(err);
  EXPECT_EQ(e.rfind("vmitrace: /etc/hostname: ", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
}

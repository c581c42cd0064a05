// spawn_tied_child: the child runs with the given stdio, a missing program is an
// errno (no child left), and the child dies when the process that started it is
// SIGKILLed (what keeps QEMU from outliving `vmitrace run`).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/child_process.hpp"

namespace {

using vmitrace::ChildIo;
using vmitrace::spawn_tied_child;
using vmitrace::wait_child;

// True once pid is gone or a zombie (dead, not yet reaped by its new parent).
bool dead(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(f, stat);
  auto close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

TEST(ChildProcess, RunsWithGivenStdoutAndStatus) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = 0;
  ASSERT_EQ(spawn_tied_child(&pid, {"sh", "-c", "echo hello; exit 3"}, ChildIo{-1, p[1], -1}), 0);
  ::close(p[1]);
  char buf[64] = {};
  ssize_t n = ::read(p[0], buf, sizeof buf - 1);
  ::close(p[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "hello\n");
  int status = 0;
  ASSERT_TRUE(wait_child(pid, &status));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(ChildProcess, MissingProgramIsAnErrnoAndNoChild) {
  pid_t pid = 0;
  EXPECT_EQ(spawn_tied_child(&pid, {"vmitrace-no-such-program-xyz"}), ENOENT);
  EXPECT_EQ(spawn_tied_child(&pid, {"/nonexistent/dir/prog"}), ENOENT);
  // An executable file that is no program: exec's own error comes back.
  std::string junk = ::testing::TempDir() + "vmitrace-child-junk";
  std::ofstream(junk) << "\x7f\x01not a program\n";
  ::chmod(junk.c_str(), 0755);
  EXPECT_EQ(spawn_tied_child(&pid, {junk}), ENOEXEC);
  ::unlink(junk.c_str());
  EXPECT_EQ(pid, 0);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // nothing to reap: no child left
  EXPECT_EQ(errno, ECHILD);
}

// A starter process (forked here) starts a tied `sleep`, reports its pid and is
// SIGKILLed: the sleep must die too.
TEST(ChildProcess, DiesWhenItsStarterIsKilled) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    ::close(p[0]);
    pid_t child = 0;
    if (spawn_tied_child(&child, {"sleep", "60"}) != 0) ::_exit(1);
    (void)!::write(p[1], &child, sizeof child);
    ::pause();
    ::_exit(0);
  }
  ::close(p[1]);
  pid_t child = 0;
  ASSERT_EQ(::read(p[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ::close(p[0]);
  ASSERT_GT(child, 0);
  EXPECT_FALSE(dead(child));
  ::kill(starter, SIGKILL);
  int status = 0;
  wait_child(starter, &status);
  auto t0 = std::chrono::steady_clock::now();
  while (!dead(child) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(dead(child)) << "sleep " << child << " outlived its starter";
  if (!dead(child)) ::kill(child, SIGKILL);
}

// The child starts with default dispositions and an empty mask even when the
// parent ignores SIGPIPE and blocks SIGTERM (as `vmitrace run` does).
TEST(ChildProcess, ChildHasDefaultSignals) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  pid_t pid = 0;
  int rc = spawn_tied_child(&pid, {"sleep", "60"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::signal(SIGPIPE, old_pipe);
  ASSERT_EQ(rc, 0);
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string blocked, ignored;
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("SigBlk:", 0) == 0) blocked = line;
    if (line.rfind("SigIgn:", 0) == 0) ignored = line;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  wait_child(pid, &status);
  EXPECT_EQ(blocked, "SigBlk:\t0000000000000000");
  EXPECT_EQ(ignored, "SigIgn:\t0000000000000000");
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

}  // namespace

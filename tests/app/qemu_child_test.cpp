// QemuChild (app/qemu_child.hpp) with stand-ins for QEMU: its exit status, the
// user's signal forwarded, a child that ignores SIGTERM killed after the grace
// period, and no child left behind when the run leaves early.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "app/qemu_child.hpp"

namespace {

using vmitrace::app::QemuChild;
using Clock = std::chrono::steady_clock;

TEST(QemuChild, ExitStatusIsTheChilds) {
  QemuChild q({"sh", "-c", "exit 3"});
  q.wait([] {});
  EXPECT_EQ(q.exit_code(), 3);
  EXPECT_EQ(q.first_signal(), 0);
}

TEST(QemuChild, UserSignalIsForwardedAsSigterm) {
  QemuChild q({"sleep", "30"});
  bool sent = false;
  q.wait([&] {
    if (!sent) ::kill(::getpid(), SIGINT);  // blocked: taken by wait()
    sent = true;
  });
  EXPECT_EQ(q.first_signal(), SIGINT);
  EXPECT_EQ(q.exit_code(), 128 + SIGTERM);
}

TEST(QemuChild, ChildIgnoringSigtermIsKilledAfterTheGrace) {
  QemuChild q({"sh", "-c", "trap '' TERM; exec sleep 30"});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the trap is set
  auto t0 = Clock::now();
  q.request_quit();
  q.wait([] {});
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(q.exit_code(), 128 + SIGKILL);
  EXPECT_GE(secs, QemuChild::kQuitGrace.count() - 0.5);
  EXPECT_LT(secs, QemuChild::kQuitGrace.count() + 3.0);
}

TEST(QemuChild, LeavingEarlyKillsTheChild) {
  pid_t pid = 0;
  {
    QemuChild q({"sleep", "30"});
    pid = q.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // killed and reaped
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace

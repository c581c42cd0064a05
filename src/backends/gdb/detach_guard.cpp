#include "backends/gdb/detach_guard.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

namespace vmitrace::gdb {
namespace {

// In the forked guard (the parent may have other threads): async-signal-safe calls only.
[[noreturn]] void guard_main(int pipe_r, int stub_fd) {
  // Ctrl-C in a terminal reaches the whole process group: the guard outlives it, so
  // it can still act if vmitrace is killed while it detaches.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::sigaction(s, &ign, nullptr);
  char c = 0;
  ssize_t n;
  while ((n = ::read(pipe_r, &c, 1)) < 0 && errno == EINTR) {
  }
  if (n == 0) {  // vmitrace is gone without disarming
    const char* p = DetachGuard::kDetach;
    size_t left = sizeof DetachGuard::kDetach - 1;
    while (left > 0) {
      ssize_t w = ::send(stub_fd, p, left, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  ::_exit(0);
}

}  // namespace

bool DetachGuard::arm(int stub_fd) noexcept {
  if (pid_ > 0) return true;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return false;
  }
  if (pid == 0) {
    ::close(p[1]);
    guard_main(p[0], stub_fd);
  }
  ::close(p[0]);
  pid_ = pid;
  pipe_w_ = p[1];
  return true;
}

void DetachGuard::finish(bool quietly) noexcept {
  if (pid_ <= 0) return;
  if (quietly) {
    const char done = 1;
    while (::write(pipe_w_, &done, 1) < 0 && errno == EINTR) {
    }
  }
  ::close(pipe_w_);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pipe_w_ = -1;
}

void DetachGuard::disarm() noexcept { finish(true); }

DetachGuard::~DetachGuard() { finish(false); }

}  // namespace vmitrace::gdb

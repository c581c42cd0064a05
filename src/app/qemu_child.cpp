#include "app/qemu_child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include "common/child_process.hpp"
#include "common/error.hpp"

namespace vmitrace::app {

void check_qemu(const std::string& qemu) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw Error(qemu, "pipe: " + std::string(std::strerror(errno)));
  pid_t pid = 0;
  int rc = spawn_tied_child(&pid, {qemu, "--version"}, ChildIo{-1, pipefd[1], pipefd[1]});
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    throw Error(qemu, std::string("cannot run QEMU: ") + std::strerror(rc));
  }
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (text.size() < 4096) text.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  wait_child(pid, &status);
  auto at = text.find("QEMU emulator version ");
  if (at != std::string::npos) at += std::strlen("QEMU emulator ");
  if (at == std::string::npos || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(qemu, "does not look like QEMU (no version from --version)");
  int major = std::atoi(text.c_str() + at + 8);
  if (major < 10)
    throw Error(qemu, "QEMU " + std::to_string(major) +
                          " found; vmitrace needs QEMU 10 or later (plugin API with register "
                          "and memory access)");
}

QemuChild::QemuChild(std::vector<std::string> args, int keep_fd) {
  sigset_t old;
  sigemptyset(&handled_);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&handled_, s);
  pthread_sigmask(SIG_BLOCK, &handled_, &old);
  ::signal(SIGPIPE, SIG_IGN);  // a closed output pipe is a write error, not a death
  // QEMU dies with vmitrace (SIGKILL of vmitrace included): the guest is cut off
  // as by pulling the plug, never left running with nobody reading its events.
  ChildIo io;
  io.keep = keep_fd;
  int rc = spawn_tied_child(&pid_, args, io);
  if (rc != 0) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw Error(args[0], std::string("cannot start QEMU: ") + std::strerror(rc));
  }
}

QemuChild::~QemuChild() {
  // Left early (an error after the start): QEMU must not outlive the run.
  if (!exited_) ::kill(pid_, SIGKILL);
  int status = 0;
  wait_child(pid_, &status);
}

void QemuChild::request_quit() {
  ::kill(pid_, SIGTERM);
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  const int64_t at = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(kQuitGrace).count();
  int64_t none = 0;
  kill_at_.compare_exchange_strong(none, at);
}

void QemuChild::wait(const std::function<void()>& tick) {
  int forwarded = 0;
  for (;;) {
    timespec ts{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&handled_, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      if (!got_signal_) got_signal_ = sig;
      // First signal: ask QEMU to quit (it flushes the plugin); second: kill it.
      if (++forwarded == 1)
        request_quit();
      else
        ::kill(pid_, SIGKILL);
    }
    // WNOWAIT: QEMU stays a zombie until the destructor reaps it, so its pid cannot
    // be reused while another thread may still call request_quit().
    siginfo_t si{};
    const bool exited = ::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                        si.si_pid == pid_;
    if (exited) {
      exited_ = true;
      exit_code_ = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    } else if (const int64_t at = kill_at_.load(); at && std::chrono::steady_clock::now().time_since_epoch().count() >= at) {
      fmt::print(stderr, "vmitrace: QEMU did not quit within {} s of SIGTERM: killing it\n",
                 kQuitGrace.count());
      ::kill(pid_, SIGKILL);
      kill_at_.store(INT64_MAX);  // said once
    }
    tick();
    if (exited) return;
  }
}

}  // namespace vmitrace::app

// The QEMU child of `vmitrace run`: checking the binary, starting it, forwarding
// the user's signals to it and waiting for it to exit.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace vmitrace::app {

// Runs `qemu --version` and checks that it is QEMU 10 or later (plugin API v4:
// register and memory reads). Throws Error naming the binary.
void check_qemu(const std::string& qemu);

// Starts QEMU. SIGINT/SIGTERM/SIGHUP/SIGCHLD are blocked in the calling thread from
// the constructor on (threads started later inherit that) and are taken by wait();
// QEMU starts with the default mask and dispositions. Create it before any other
// thread of the run.
class QemuChild {
 public:
  // QEMU is killed if vmitrace dies (common/child_process.hpp): construct it on the
  // main thread. keep_fd (if >= 0) is inherited by QEMU under the same number.
  // Throws Error naming argv[0].
  explicit QemuChild(std::vector<std::string> argv, int keep_fd = -1);
  QemuChild(const QemuChild&) = delete;
  QemuChild& operator=(const QemuChild&) = delete;

  ~QemuChild();  // kills QEMU if wait() did not see it exit, and reaps it

  pid_t pid() const { return pid_; }
  // Asks QEMU to quit (SIGTERM: it flushes the plugin, which closes the ring); one
  // that has not exited kQuitGrace later is killed by wait(). Thread-safe.
  void request_quit();
  static constexpr std::chrono::seconds kQuitGrace{5};

  // Waits until QEMU exits, calling tick() about every 100 ms. The first
  // SIGINT/SIGTERM/SIGHUP is forwarded as request_quit(), a second one kills QEMU.
  // The handled signals stay blocked afterwards: a late Ctrl-C must not cut the
  // summary short.
  void wait(const std::function<void()>& tick);

  int first_signal() const { return got_signal_; }  // 0: none received
  // QEMU's exit status, or 128+N if it was killed by signal N (after wait()).
  int exit_code() const { return exit_code_; }

 private:
  pid_t pid_ = 0;
  sigset_t handled_{};
  bool exited_ = false;
  int exit_code_ = 0;
  int got_signal_ = 0;
  std::atomic<int64_t> kill_at_{0};  // steady_clock ticks; 0: no quit requested
};

}  // namespace vmitrace::app

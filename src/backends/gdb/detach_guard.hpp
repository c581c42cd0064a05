// QEMU's gdbstub does nothing when its client disappears: a vmitrace killed while
// attached (SIGKILL) would leave its breakpoints in and the VM paused at the next
// hit. The guard is a small forked process holding a copy of the stub connection
// and the read end of a pipe from vmitrace. disarm() tells it to exit quietly; if
// the pipe closes without that (vmitrace died, however, or the guard was destroyed
// armed), it sends "#00" (ends any packet cut in the middle), an interrupt and a
// detach: QEMU then removes every breakpoint and resumes the guest.
#pragma once
#include <sys/types.h>

namespace vmitrace::gdb {

class DetachGuard {
 public:
  DetachGuard() = default;
  // Starts the guard for the connected stub socket. Returns false (no guard) if
  // the pipe or the fork fails.
  bool arm(int stub_fd) noexcept;
  // The guard exits without touching the connection (vmitrace detached itself).
  void disarm() noexcept;
  // Destroyed while armed: the guard detaches (as if vmitrace had died).
  ~DetachGuard();
  DetachGuard(const DetachGuard&) = delete;
  DetachGuard& operator=(const DetachGuard&) = delete;

  bool armed() const { return pid_ > 0; }
  // What the guard sends: exposed for tests.
  static constexpr char kDetach[] = "#00\x03$D#44";

 private:
  void finish(bool quietly) noexcept;
  pid_t pid_ = -1;
  int pipe_w_ = -1;
};

}  // namespace vmitrace::gdb

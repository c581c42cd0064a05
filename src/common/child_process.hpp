// Child processes that never outlive vmitrace (QEMU, `qemu --version`, pahole).
// posix_spawn cannot do this, so the child is forked and, before exec (only
// async-signal-safe calls in between), asks the kernel to SIGKILL it when its
// parent dies (PR_SET_PDEATHSIG) and checks that its parent is still the process
// that forked it (a parent killed before the prctl took effect would be missed).
//
// PR_SET_PDEATHSIG follows the parent *thread*: start children from a thread that
// lives as long as they should (vmitrace's main thread).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace vmitrace {

struct ChildIo {
  // -1: inherited; otherwise dup'ed onto 0/1/2 in the child (the caller closes them).
  int in = -1, out = -1, err = -1;
  // -1: none; otherwise a descriptor the child keeps open across exec under the same
  // number (its O_CLOEXEC is cleared in the child only).
  int keep = -1;
};

// Starts argv[0] (looked up in $PATH when it has no '/') with argv, the current
// environment, an empty signal mask and default signal dispositions. Returns 0 and
// sets *pid, or returns the errno of the failure (e.g. ENOENT: no such program;
// EACCES) with no child left.
int spawn_tied_child(pid_t* pid, const std::vector<std::string>& argv, const ChildIo& io = {});

// waitpid(pid, &status, 0) retried on EINTR; returns false on another error.
bool wait_child(pid_t pid, int* status);

}  // namespace vmitrace

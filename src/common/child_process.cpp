#include "common/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern char** environ;

namespace vmitrace {
namespace {

// execvp's $PATH search, done before fork: the child may only call
// async-signal-safe functions, which execvp is not.
std::string find_program(const std::string& name, int* err) {
  *err = ENOENT;
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) {
    *err = 0;
    return name;
  }
  const char* env = std::getenv("PATH");
  std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + name;
    struct stat st {};
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(cand.c_str(), X_OK) == 0) {
        *err = 0;
        return cand;
      }
      *err = EACCES;  // remembered, as execvp does, in case nothing later fits
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, const char* path, char* const* argv, const ChildIo& io,
                             int report_fd) {
  int e = 0;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) e = errno;
  // The parent died before the prctl: we were re-parented and nobody would kill us.
  if (e == 0 && ::getppid() != parent) ::_exit(127);
  const int from[3] = {io.in, io.out, io.err};
  for (int to = 0; to < 3 && e == 0; ++to) {
    if (from[to] < 0) continue;
    // dup2 onto itself keeps O_CLOEXEC: clear it instead.
    if (from[to] == to ? ::fcntl(to, F_SETFD, 0) < 0 : ::dup2(from[to], to) < 0) e = errno;
  }
  if (e == 0 && io.keep >= 0 && ::fcntl(io.keep, F_SETFD, 0) < 0) e = errno;
  if (e == 0) {
    // vmitrace ignores SIGPIPE and blocks the signals it waits for: the child
    // starts as from a shell (caught handlers are reset by exec itself).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(path, argv, environ);
    e = errno;
  }
  while (::write(report_fd, &e, sizeof e) < 0 && errno == EINTR) {
  }
  ::_exit(127);
}

}  // namespace

int spawn_tied_child(pid_t* pid, const std::vector<std::string>& args, const ChildIo& io) {
  if (args.empty()) return EINVAL;
  int err = 0;
  const std::string path = find_program(args[0], &err);
  if (err) return err;
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child writes its errno here if exec fails; a successful exec closes it.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errno;
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    ::close(report[0]);
    ::close(report[1]);
    return e;
  }
  if (child == 0) exec_child(parent, path.c_str(), argv.data(), io, report[1]);
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    wait_child(child, &status);
    return child_errno ? child_errno : ECHILD;
  }
  *pid = child;
  return 0;
}

bool wait_child(pid_t pid, int* status) {
  while (::waitpid(pid, status, 0) < 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace vmitrace

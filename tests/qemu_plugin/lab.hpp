// Helpers for tests that boot the lab guest: where its files are, and running a
// command with a deadline (killed by pid when it overruns).
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace lab {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

inline std::string guest_dir() { return env("VMITRACE_SOURCE_ROOT") + "/.cache/guest"; }
inline std::string kernel(const std::string& ver = "6.1") {
  return guest_dir() + "/kernel-" + ver + "/vmlinuz";
}
inline std::string initramfs() { return guest_dir() + "/initramfs.cpio.gz"; }
inline bool available() {
  return ::access(kernel().c_str(), R_OK) == 0 && ::access(initramfs().c_str(), R_OK) == 0;
}

inline std::vector<std::string> qemu_cmd(const std::string& append, int smp = 2) {
  return {"qemu-system-x86_64", "-kernel", kernel(), "-initrd", initramfs(), "-append",
          "console=ttyS0 quiet " + append, "-nographic", "-no-reboot", "-m", "512", "-smp",
          std::to_string(smp)};
}

struct Proc {
  pid_t pid = -1;
};

// Starts argv with stdout/stderr redirected to files.
inline Proc start(const std::vector<std::string>& argv, const std::string& out,
                  const std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> av;
  for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  Proc p;
  if (posix_spawnp(&p.pid, av[0], &fa, nullptr, av.data(), environ) != 0) p.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

// Waits up to `secs`; on overrun kills the process (by pid) and returns -1.
inline int wait(Proc p, int secs) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    pid_t w = ::waitpid(p.pid, &status, WNOHANG);
    if (w == p.pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(p.pid, SIGKILL);
  ::waitpid(p.pid, &status, 0);
  return -1;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::map<std::string, std::string> key_values(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

inline std::string tmp(const std::string& name) {
  return "/tmp/vmitrace-test-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace lab

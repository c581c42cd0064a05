// Where the profile tests find their inputs: reference data in ../shared/data
// (relative to the repository root) and the lab kernels under .cache/guest.
// Tests skip, saying why, when these are absent.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"
#include "common/error.hpp"

namespace vmitrace::test {

inline std::string repo_root() { return VMITRACE_SOURCE_ROOT; }
inline std::string shared_data(const std::string& rel) { return repo_root() + "/../shared/data/" + rel; }
inline std::string lab_kernel(const std::string& version) {
  return repo_root() + "/.cache/guest/kernel-" + version + "/vmlinuz";
}
inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

// Runs a shell command; returns its stdout and sets *status to the exit status.
inline std::string run(const std::string& cmd, int* status) {
  std::string out;
  if (std::FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  } else {
    *status = -1;
  }
  return out;
}

}  // namespace vmitrace::test

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

#include "common/error.hpp"

namespace vmitrace::test {

inline std::string repo_root() { return VMITRACE_SOURCE_ROOT; }
inline std::string shared_data(const std::string& rel) { return repo_root() + "/../shared/data/" + rel; }
inline std::string lab_kernel(const std::string& version) {
  return repo_root() + "/.cache/guest/kernel-" + version + "/vmlinuz";
}
inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vmitrace-profile-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string file(const std::string& name, const std::vector<uint8_t>& content) const {
    return file(name, std::string(content.begin(), content.end()));
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The one-line message of the vmitrace::Error that fn throws, or "no error".
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

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

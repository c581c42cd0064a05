// For tests: a fresh directory under /tmp, removed with everything in it at the end of
// the scope, and files written into it.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vmitrace::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vmitrace-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `content` to a file `name` in the directory; returns its path.
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

}  // namespace vmitrace::test

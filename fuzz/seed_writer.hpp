// When VMITRACE_FUZZ_SEEDS=DIR is set, a fuzz target writes its seed files into DIR
// and exits (fuzz/run.sh calls it once before fuzzing).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace vmitrace::fuzz {

inline const char* seeds_dir() { return std::getenv("VMITRACE_FUZZ_SEEDS"); }

inline void write_seed(const std::string& dir, const std::string& name, const void* data,
                       size_t n) {
  std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, n, f) != n || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

}  // namespace vmitrace::fuzz

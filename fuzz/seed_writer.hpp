// When VMITRACE_FUZZ_SEEDS=DIR is set, a fuzz target writes its seed files into DIR
// and exits (fuzz/seeds.sh calls it once before fuzzing). A target states its seed
// writer with VMITRACE_FUZZ_SEEDS_BY(fn[, setup]), fn(const char* dir), setup().
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

// libFuzzer's initialisation hook: seed mode, or the target's set-up (slow set-up
// belongs here: libFuzzer's -timeout does not count it, the first input's would).
inline int seed_mode(void (*write_seeds)(const char* dir), void (*setup)() = nullptr) {
  if (const char* dir = seeds_dir()) {
    write_seeds(dir);
    std::exit(0);
  }
  if (setup) setup();
  return 0;
}

}  // namespace vmitrace::fuzz

#define VMITRACE_FUZZ_SEEDS_BY(...) \
  extern "C" int LLVMFuzzerInitialize(int*, char***) { return ::vmitrace::fuzz::seed_mode(__VA_ARGS__); }

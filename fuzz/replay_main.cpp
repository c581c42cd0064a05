// A fuzz target without libFuzzer, for the normal test suite (any compiler, and the
// ASan build of scripts/sanitize.sh): runs the seeds the target writes itself
// (seed mode, VMITRACE_FUZZ_SEEDS, in a child: it exits when done), then every file
// named, or found in a directory named: the inputs that crashed a target once
// (fuzz/regress/<target>/). A crash, a sanitizer report or a failed check fails it.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fs = std::filesystem;

namespace {

void add(std::vector<fs::path>& files, const fs::path& p) {
  if (fs::is_directory(p)) {
    for (auto& e : fs::directory_iterator(p))
      if (e.is_regular_file()) files.push_back(e.path());
  } else {
    files.push_back(p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> files;
  std::string seeds;
  if (LLVMFuzzerInitialize) {
    char tmpl[] = "/tmp/vmitrace-seeds-XXXXXX";
    if (!::mkdtemp(tmpl)) return std::perror("mkdtemp"), 1;
    seeds = tmpl;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("VMITRACE_FUZZ_SEEDS", tmpl, 1);
      LLVMFuzzerInitialize(&argc, &argv);
      ::_exit(3);  // seed mode did not exit
    }
    int st = 0;
    if (pid < 0 || ::waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::fprintf(stderr, "replay: the seed writer failed (status %d)\n", st);
      return 1;
    }
    add(files, seeds);
    LLVMFuzzerInitialize(&argc, &argv);
  }
  for (int i = 1; i < argc; ++i) add(files, argv[i]);
  std::sort(files.begin(), files.end());
  if (files.empty()) return std::fprintf(stderr, "replay: no inputs\n"), 1;
  for (auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) return std::fprintf(stderr, "replay: %s: unreadable\n", f.c_str()), 1;
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), data.size());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  if (!seeds.empty()) fs::remove_all(seeds);
  std::printf("replay: %zu inputs ran\n", files.size());
  return 0;
}

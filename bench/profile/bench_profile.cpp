// Profile benchmarks (issue 2, item 6): building a profile from a vmlinuz, and
// loading the 30 MB-class dwarf2json ISF. Each is printed in seconds and as a
// ratio to just reading the same file's bytes, measured in the same run (so the
// ratio is robust to a slow or busy machine). Median of several runs.
//
// Usage: bench_profile [VMLINUZ...]   (default: the lab kernels under .cache/guest)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"

namespace fs = std::filesystem;
using namespace vmitrace;

namespace {

double median_seconds(int runs, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

size_t sink = 0;  // keeps the reads from being optimised away

void report(const char* what, const std::string& file, double secs, double read_secs, double target) {
  std::printf("%-22s %-60s %8.3f s   %7.1fx read(%.4f s)   target < %.1f s: %s\n", what, file.c_str(), secs,
              secs / read_secs, read_secs, target, secs < target ? "OK" : "MISSED");
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = fs::path(VMITRACE_SOURCE_ROOT);
  std::vector<std::string> images;
  for (int i = 1; i < argc; ++i) images.push_back(argv[i]);
  if (images.empty())
    for (const char* k : {"kernel-6.1", "kernel-6.12"}) {
      fs::path p = root / ".cache/guest" / k / "vmlinuz";
      if (fs::exists(p)) images.push_back(p.string());
    }
  try {
    for (const auto& img : images) {
      double read = median_seconds(5, [&] { sink += read_file(img).size(); });
      double build = median_seconds(3, [&] {
        profile::Profile p = profile::build_linux_profile(img);
        sink += profile::to_isf_json(p).size();
      });
      report("profile build+write", img, build, read, 2.0);
    }
    if (images.empty()) std::printf("profile build: SKIPPED (no lab kernels under %s/.cache/guest)\n", root.c_str());

    fs::path isf_xz = root / "../shared/data/linux-isf/linux_deb_5.10.0-8-amd64.json.xz";
    if (fs::exists(isf_xz)) {
      // Decompress once to a temp file: the target is about parsing, not xz.
      std::vector<uint8_t> json = read_file_decompressed(isf_xz.string());
      fs::path tmp = fs::temp_directory_path() / "vmitrace-bench-linux-5.10.json";
      if (std::FILE* f = std::fopen(tmp.c_str(), "wb")) {
        std::fwrite(json.data(), 1, json.size(), f);
        std::fclose(f);
      }
      double read = median_seconds(5, [&] { sink += read_file(tmp.string()).size(); });
      double load = median_seconds(5, [&] { sink += profile::Profile::load(tmp.string()).symbols.size(); });
      report("ISF load (33 MB)", tmp.string(), load, read, 0.5);
      fs::remove(tmp);
    } else {
      std::printf("ISF load: SKIPPED (%s absent)\n", isf_xz.c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_profile: %s\n", e.what());
    return 1;
  }
  return sink == 0 ? 1 : 0;
}

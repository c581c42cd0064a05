// Profile benchmarks (issue 2, item 6): building a profile from a vmlinuz (types
// from .BTF; for the 32-bit lab kernel, from the -dbg vmlinux's DWARF through
// pahole, issue 8), and loading the 30 MB-class dwarf2json ISF. Each is printed in seconds and as a
// ratio to just reading the same file's bytes, measured in the same run (so the
// ratio is robust to a slow or busy machine). Median of several runs.
//
// Usage: bench_profile [VMLINUZ...]   (default: the lab kernels under .cache/guest)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
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

// This process's CPU time plus that of its waited-for children (pahole).
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  rusage ch{};
  getrusage(RUSAGE_CHILDREN, &ch);
  auto tv = [](timeval t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9 + tv(ch.ru_utime) + tv(ch.ru_stime);
}

struct Timing {
  double wall, cpu;  // medians; CPU time (user+sys) is what a busy 2-core machine distorts least
};

Timing median_seconds(int runs, const std::function<void()>& fn) {
  std::vector<double> w, c;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_now();
    fn();
    c.push_back(cpu_now() - c0);
    w.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  return {w[w.size() / 2], c[c.size() / 2]};
}

size_t sink = 0;  // keeps the reads from being optimised away

void report(const char* what, const std::string& file, Timing t, Timing read, double target) {
  std::printf("%-20s %s\n  wall %.3f s = %.1fx reading its bytes (%.4f s); cpu %.3f s = %.1fx (%.4f s); "
              "target < %.1f s: %s\n",
              what, file.c_str(), t.wall, t.wall / read.wall, read.wall, t.cpu, t.cpu / read.cpu, read.cpu, target,
              t.wall < target ? "met" : t.cpu < target ? "met in CPU time (machine busy)" : "MISSED");
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
      Timing read = median_seconds(5, [&] { sink += read_file(img).size(); });
      Timing build = median_seconds(3, [&] {
        profile::Profile p = profile::build_linux_profile(img);
        sink += profile::to_isf_json(p).size();
      });
      report("profile build+write", img, build, read, 2.0);
    }
    if (images.empty()) std::printf("profile build: SKIPPED (no lab kernels under %s/.cache/guest)\n", root.c_str());

    // The 32-bit lab kernel has no BTF: types from DWARF (pahole), symbols from the
    // debug .symtab. One run (it takes tens of seconds); compare with the BTF builds above.
    fs::path k686 = root / ".cache/guest/kernel-686";
    if (argc == 1 && fs::exists(k686 / "vmlinux-dbg")) {
      std::string img = (k686 / "vmlinuz").string(), dbg = (k686 / "vmlinux-dbg").string();
      Timing read = median_seconds(1, [&] { sink += read_file(dbg).size(); });
      profile::BuildOptions bo;
      bo.debug_file = dbg;
      Timing build = median_seconds(1, [&] {
        profile::Profile p = profile::build_linux_profile(img, bo);
        sink += profile::to_isf_json(p).size();
      });
      report("profile from DWARF", dbg, build, read, 60.0);
    } else if (argc == 1) {
      std::printf("profile from DWARF: SKIPPED (no %s/vmlinux-dbg; guest/fetch-kernel-686.sh)\n", k686.c_str());
    }

    fs::path isf_xz = root / "../shared/data/linux-isf/linux_deb_5.10.0-8-amd64.json.xz";
    if (fs::exists(isf_xz)) {
      // Decompress once to a temp file: the target is about parsing, not xz.
      std::vector<uint8_t> json = read_file_decompressed(isf_xz.string());
      fs::path tmp = fs::temp_directory_path() / "vmitrace-bench-linux-5.10.json";
      if (std::FILE* f = std::fopen(tmp.c_str(), "wb")) {
        std::fwrite(json.data(), 1, json.size(), f);
        std::fclose(f);
      }
      Timing read = median_seconds(5, [&] { sink += read_file(tmp.string()).size(); });
      Timing load = median_seconds(5, [&] { sink += profile::Profile::load(tmp.string()).symbols.size(); });
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

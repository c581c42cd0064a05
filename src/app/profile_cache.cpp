#include "app/profile_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/write_file.hpp"
#include "profile/cache_name.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"

namespace vmitrace::app {
namespace {

namespace fs = std::filesystem;

std::string cache_dir() {
  const char* x = std::getenv("XDG_CACHE_HOME");
  std::string base;
  if (x && *x) {
    base = x;
  } else {
    const char* home = std::getenv("HOME");
    if (!home || !*home) throw Error("$HOME", "not set; cannot place the profile cache (use -r)");
    base = std::string(home) + "/.cache";
  }
  return base + "/vmitrace/profiles";
}

// The file's canonical path, size and mtime.
std::string file_identity(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw Error(file, std::strerror(errno));
  return fs::weakly_canonical(file).string() + "|" + std::to_string(st.st_size) + "|" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

std::string cache_key(const std::string& image, const std::string& debug_file) {
  std::string id = file_identity(image);
  if (!debug_file.empty()) id += "|debug|" + file_identity(debug_file);
  return profile::cache_file_name(fs::path(image).filename().string(), id);
}

}  // namespace

std::string find_kernel_arg(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-kernel" || a == "--kernel") && i + 1 < args.size()) return args[i + 1];
    for (const char* pre : {"-kernel=", "--kernel="})
      if (a.rfind(pre, 0) == 0) return a.substr(std::strlen(pre));
  }
  return {};
}

std::string profile_cache_dir() {
  std::string dir = cache_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create profile cache: " + ec.message());
  return dir;
}

std::string profile_for_kernel(const std::string& image, const std::string& debug_file) {
  check_readable_file(image);
  if (!debug_file.empty()) check_readable_file(debug_file);
  std::string dir = cache_dir();
  std::string path = dir + "/" + cache_key(image, debug_file);
  if (::access(path.c_str(), R_OK) == 0) {
    fmt::print(stderr, "vmitrace: profile {} (cached, from {})\n", path, image);
    return path;
  }
  profile_cache_dir();
  auto t0 = std::chrono::steady_clock::now();
  profile::BuildOptions bo;
  bo.debug_file = debug_file;
  profile::Profile p = profile::build_linux_profile(image, bo);
  write_file(path, profile::to_isf_json(p));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(stderr, "vmitrace: profile {} built from {} in {:.1f} s\n", path, image, secs);
  return path;
}

}  // namespace vmitrace::app

#include "syscalls/core/filter.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "common/error.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::syscalls {
namespace {

constexpr size_t kMaxFilterBytes = 1 << 20;  // a name list, not a data file

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::string> parse_filter(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    bool seen = false;
    for (const auto& n : names) seen = seen || n == line;
    if (!seen) names.emplace_back(line);
  }
  return names;
}

std::vector<std::string> read_filter_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw Error(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path, "is a directory, not a syscall filter file");
  if (st.st_size > static_cast<off_t>(kMaxFilterBytes))
    throw Error(path, "too large for a syscall filter file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, std::strerror(errno ? errno : EACCES));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path, "read error");
  return parse_filter(ss.str());
}

LinuxFilter check_linux_filter(const std::vector<std::string>& names) {
  LinuxFilter f;
  for (const auto& n : names) {
    if (lookup(event::Abi::linux_x64, n) || lookup(event::Abi::linux_ia32, n) ||
        lookup(event::Abi::linux_arm64, n) || lookup(event::Abi::linux_arm32, n))
      f.names.push_back(n);
    else
      f.unknown.push_back(n);
  }
  return f;
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

}  // namespace

std::string unknown_names_warning(const std::string& path, const LinuxFilter& f) {
  if (f.unknown.empty()) return {};
  return "vmitrace: warning: " + path + ": unknown syscall names ignored: " + joined(f.unknown);
}

std::vector<std::string> check_filter_for_guest(const std::string& path, const LinuxFilter& f,
                                                const std::vector<event::Abi>& abis,
                                                const std::string& guest, bool warn) {
  std::vector<std::string> foreign;
  for (const auto& n : f.names) {
    bool here = false;
    for (event::Abi a : abis) here = here || lookup(a, n) != nullptr;
    if (!here) foreign.push_back(n);
  }
  if (!f.names.empty() && foreign.size() == f.names.size())
    throw Error(path, "none of its syscalls exists on " + guest + " guests (" + joined(foreign) + ")");
  if (warn && !foreign.empty())
    std::fprintf(stderr, "vmitrace: warning: %s: not syscalls of %s guests, ignored: %s\n", path.c_str(),
                 guest.c_str(), joined(foreign).c_str());
  return foreign;
}

LinuxFilter load_linux_filter(const std::string& path, bool warn) {
  LinuxFilter f = check_linux_filter(read_filter_file(path));
  if (warn) {
    std::string w = unknown_names_warning(path, f);
    if (!w.empty()) std::fprintf(stderr, "%s\n", w.c_str());
  }
  if (f.names.empty()) throw Error(path, "no known syscall names in the filter file");
  return f;
}

}  // namespace vmitrace::syscalls

#include "options/module_args.hpp"

#include <charconv>
#include <set>
#include <string_view>

#include "common/error.hpp"

namespace vmitrace::options {
namespace {

// QEMU's option syntax: ',' separates "key=value" pairs; a literal ',' is ",,".
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

const char* on_off(bool b) { return b ? "on" : "off"; }

[[noreturn]] void bad(std::string_view key, std::string_view val, const std::string& expected) {
  throw Error("qemu plugin", "argument " + std::string(key) + "=" + excerpt(std::string(val)) + ": expected " +
                                 expected);
}

bool parse_bool(std::string_view key, std::string_view v) {
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  bad(key, v, "on or off");
}

uint32_t parse_number(std::string_view key, std::string_view v, uint32_t min, uint32_t max) {
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < min || n > max)
    bad(key, v, "a number from " + std::to_string(min) + " to " + std::to_string(max));
  return n;
}

}  // namespace

std::string encode_module_args(const std::string& module_path, const ModuleArgs& a) {
  const CaptureOptions& c = a.capture;
  // file= named explicitly: a module path with '=' in it is not taken for a key.
  std::string s = "file=" + escape(module_path) + ",ring=" + escape(a.ring);
  // No profile: built from guest memory, kept in the cache directory.
  if (!c.profile_path.empty()) s += ",profile=" + escape(c.profile_path);
  if (!c.profile_cache.empty()) s += ",profile_cache=" + escape(c.profile_cache);
  if (!c.filter_file.empty()) s += ",filter=" + escape(c.filter_file);
  if (!c.win32k_profile.empty()) s += ",win32k=" + escape(c.win32k_profile);
  s += std::string(",sysret=") + on_off(!c.disable_sysret) + ",strlen=" + std::to_string(c.string_limit) +
       ",bufs=" + std::to_string(c.capture_buffers) + ",fdpaths=" + on_off(c.fd_paths) +
       ",ratelimit=" + std::to_string(c.rate_limit) + ",sockcalls=" + on_off(c.socket_calls) + ",backpressure=" + (a.block ? "block" : "drop");
  return s;
}

ModuleArgs parse_module_args(int argc, const char* const* argv) {
  ModuleArgs a;
  CaptureOptions& c = a.capture;
  std::set<std::string, std::less<>> seen;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i] ? argv[i] : "";
    auto eq = arg.find('=');
    if (eq == std::string_view::npos)
      throw Error("qemu plugin", "argument '" + excerpt(std::string(arg)) + "' is not key=value");
    std::string_view key = arg.substr(0, eq), val = arg.substr(eq + 1);
    if (!seen.emplace(key).second) throw Error("qemu plugin", "argument " + std::string(key) + " given twice");
    if (key == "ring") a.ring = val;
    else if (key == "profile") c.profile_path = val;
    else if (key == "profile_cache") c.profile_cache = val;
    else if (key == "filter") c.filter_file = val;
    else if (key == "win32k") c.win32k_profile = val;
    else if (key == "sysret") c.disable_sysret = !parse_bool(key, val);
    else if (key == "strlen") c.string_limit = parse_number(key, val, 1, kMaxStringLimit);
    else if (key == "bufs") c.capture_buffers = parse_number(key, val, 0, kMaxBufferCapture);
    else if (key == "fdpaths") c.fd_paths = parse_bool(key, val);
    else if (key == "sockcalls") c.socket_calls = parse_bool(key, val);
    else if (key == "ratelimit") c.rate_limit = parse_number(key, val, 0, kMaxRateLimit);
    else if (key == "backpressure") {
      if (val != "block" && val != "drop") bad(key, val, "block or drop");
      a.block = val == "block";
    } else {
      throw Error("qemu plugin", "unknown argument '" + excerpt(std::string(key)) + "'");
    }
  }
  if (a.ring.empty()) throw Error("qemu plugin", "missing argument ring=PATH");
  if (c.profile_path.empty() == c.profile_cache.empty())
    throw Error("qemu plugin", "expected one of profile=PATH and profile_cache=DIR (a profile from guest memory)");
  return a;
}

}  // namespace vmitrace::options

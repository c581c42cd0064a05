#include "backends/qemu_plugin/plugin_args.hpp"

#include <charconv>
#include <string_view>

#include "common/error.hpp"

namespace vmitrace::backends::qemu {
namespace {

bool parse_bool(std::string_view key, std::string_view v) {
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  throw Error("qemu plugin", "argument " + std::string(key) + "=" + std::string(v) +
                                 ": expected on or off");
}

}  // namespace

PluginArgs parse_plugin_args(int argc, const char* const* argv) {
  PluginArgs a;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i] ? argv[i] : "";
    auto eq = arg.find('=');
    if (eq == std::string_view::npos)
      throw Error("qemu plugin", "argument '" + std::string(arg) + "' is not key=value");
    std::string_view key = arg.substr(0, eq), val = arg.substr(eq + 1);
    if (key == "ring") {
      a.ring = val;
    } else if (key == "profile") {
      a.profile = val;
    } else if (key == "filter") {
      a.filter = val;
    } else if (key == "win32k") {
      a.win32k = val;
    } else if (key == "sysret") {
      a.sysret = parse_bool(key, val);
    } else if (key == "strlen") {
      uint32_t n = 0;
      auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), n);
      if (ec != std::errc() || p != val.data() + val.size() || n == 0 || n > 8192)
        throw Error("qemu plugin", "argument strlen=" + std::string(val) +
                                       ": expected a number from 1 to 8192");
      a.string_limit = n;
    } else if (key == "ratelimit") {
      uint32_t n = 0;
      auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), n);
      if (ec != std::errc() || p != val.data() + val.size() || val.empty())
        throw Error("qemu plugin", "argument ratelimit=" + std::string(val) +
                                       ": expected a number of syscalls per second");
      a.rate_limit = n;
    } else if (key == "fdpaths") {
      a.fd_paths = parse_bool(key, val);
    } else if (key == "bufs") {
      uint32_t n = 0;
      auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), n);
      if (ec != std::errc() || p != val.data() + val.size() || n > 8192)
        throw Error("qemu plugin", "argument bufs=" + std::string(val) +
                                       ": expected a number from 0 to 8192");
      a.capture_buffers = n;
    } else if (key == "backpressure") {
      if (val == "block") a.block = true;
      else if (val == "drop") a.block = false;
      else throw Error("qemu plugin", "argument backpressure=" + std::string(val) +
                                          ": expected block or drop");
    } else {
      throw Error("qemu plugin", "unknown argument '" + std::string(key) + "'");
    }
  }
  if (a.ring.empty()) throw Error("qemu plugin", "missing argument ring=PATH");
  if (a.profile.empty()) throw Error("qemu plugin", "missing argument profile=PATH");
  return a;
}

}  // namespace vmitrace::backends::qemu

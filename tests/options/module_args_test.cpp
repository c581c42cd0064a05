// The QEMU module's argument string: what vmitrace encodes, split the way QEMU
// splits -plugin (QemuOpts: "name=value" pairs separated by ',', ",," a literal
// comma, the value running to the next single ','), then parsed as the module does,
// gives back exactly what was encoded, whatever the paths hold.
#include "options/module_args.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"

using vmitrace::Error;
using namespace vmitrace::options;

namespace {

// QEMU's qemu_opts_parse() for the "plugin" list (implied first name "file"), then
// plugin_add(): file= gives the module path, every other pair becomes "name=value".
struct Split {
  std::string file;
  std::vector<std::string> argv;
};

Split qemu_split(const std::string& optarg) {
  Split out;
  size_t p = 0;
  bool first = true;
  while (p < optarg.size()) {
    size_t len = optarg.find_first_of("=,", p);
    if (len == std::string::npos) len = optarg.size();
    std::string name;
    if (len == optarg.size() || optarg[len] != '=') {
      if (!first) throw std::runtime_error("flag without value: " + optarg.substr(p));
      name = "file";  // the implied name: the value starts at p
    } else {
      name = optarg.substr(p, len - p);
      p = len + 1;
    }
    std::string value;
    for (;;) {  // get_opt_value: up to a ',' that is not doubled
      size_t comma = optarg.find(',', p);
      if (comma == std::string::npos) {
        value += optarg.substr(p);
        p = optarg.size();
        break;
      }
      if (comma + 1 < optarg.size() && optarg[comma + 1] == ',') {
        value += optarg.substr(p, comma - p + 1);
        p = comma + 2;
        continue;
      }
      value += optarg.substr(p, comma - p);
      p = comma + 1;
      break;
    }
    first = false;
    if (name == "file") out.file = value;
    else out.argv.push_back(name + "=" + value);
  }
  return out;
}

ModuleArgs parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_module_args(static_cast<int>(argv.size()), argv.data());
}

ModuleArgs round_trip(const std::string& module, const ModuleArgs& in, std::string* file = nullptr) {
  Split s = qemu_split(encode_module_args(module, in));
  if (file) *file = s.file;
  return parse(s.argv);
}

}  // namespace

TEST(ModuleArgs, RoundTripsEveryField) {
  ModuleArgs a;
  a.ring = "/dev/shm/vmitrace-1-2.ring";
  a.block = false;
  a.capture.profile_path = "/p/kernel.json";
  a.capture.filter_file = "/p/filter.txt";
  a.capture.win32k_profile = "/p/win32k.json.xz";
  a.capture.disable_sysret = true;
  a.capture.string_limit = 8192;
  a.capture.fd_paths = false;
  a.capture.socket_calls = true;
  a.capture.capture_buffers = 64;
  a.capture.rate_limit = 10000000;
  std::string file;
  EXPECT_EQ(round_trip("/lib/libvmitrace-qemu.so", a, &file), a);
  EXPECT_EQ(file, "/lib/libvmitrace-qemu.so");
}

// No profile: built from guest memory and cached in a directory (`run` with no -r, no -kernel).
TEST(ModuleArgs, RoundTripsProfileFromMemory) {
  ModuleArgs a;
  a.ring = "r";
  a.capture.profile_cache = "/home/u/.cache/vmitrace/profiles,x";
  EXPECT_EQ(round_trip("m.so", a), a);
}

TEST(ModuleArgs, RoundTripsDefaults) {
  ModuleArgs a;
  a.ring = "r";
  a.capture.profile_path = "p";
  EXPECT_EQ(round_trip("m.so", a), a);
}

// Commas (single, doubled, leading, trailing), '=' and spaces in every path.
TEST(ModuleArgs, RoundTripsAwkwardPaths) {
  for (std::string odd : {",", ",,", "a,b", ",lead", "trail,", "a,,b,", "k=v", "a,ring=/evil", "sp ace #x", "=,="}) {
    ModuleArgs a;
    a.ring = "/dev/shm/" + odd;
    a.capture.profile_path = "/p/" + odd + "/kernel.json";
    a.capture.filter_file = odd;
    a.capture.win32k_profile = odd + "w";
    std::string file;
    EXPECT_EQ(round_trip("/m" + odd + "/lib.so", a, &file), a) << odd;
    EXPECT_EQ(file, "/m" + odd + "/lib.so") << odd;
  }
}

TEST(ModuleArgs, RejectsBadArguments) {
  auto bad = [](std::vector<std::string> v, const std::string& says) {
    try {
      parse(v);
      ADD_FAILURE() << v.back() << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  bad({"ring=r"}, "expected one of profile=PATH and profile_cache=DIR");
  bad({"ring=r", "profile=p", "profile_cache=d"}, "expected one of profile=PATH and profile_cache=DIR");
  bad({"profile=p"}, "missing argument ring=PATH");
  bad({"ring=r", "profile=p", "strlen=0"}, "strlen=0: expected a number from 1 to 8192");
  bad({"ring=r", "profile=p", "strlen=99999999999"}, "strlen=");
  bad({"ring=r", "profile=p", "strlen=12x"}, "strlen=12x");
  bad({"ring=r", "profile=p", "strlen="}, "strlen=");
  bad({"ring=r", "profile=p", "sysret=maybe"}, "expected on or off");
  bad({"ring=r", "profile=p", "bufs=8193"}, "bufs=8193");
  bad({"ring=r", "profile=p", "bufs=-1"}, "bufs=-1");
  bad({"ring=r", "profile=p", "ratelimit=10000001"}, "ratelimit=10000001");
  bad({"ring=r", "profile=p", "fdpaths=perhaps"}, "fdpaths=perhaps");
  bad({"ring=r", "profile=p", "backpressure=later"}, "expected block or drop");
  bad({"ring=r", "profile=p", "colour=blue"}, "unknown argument 'colour'");
  bad({"ring=r", "profile=p", "novalue"}, "'novalue' is not key=value");
  bad({"ring=r", "profile=p", "ring=s"}, "ring given twice");
  bad({"ring=r", "profile=p", "strlen=" + std::string(100000, '9')}, "...: expected");  // echo is cut
}

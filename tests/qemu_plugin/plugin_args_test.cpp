#include "backends/qemu_plugin/plugin_args.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

using vmitrace::Error;
using vmitrace::backends::qemu::parse_plugin_args;

TEST(PluginArgs, ParsesEveryKey) {
  const char* argv[] = {"ring=/dev/shm/r", "profile=/p.json", "filter=/f", "sysret=off",
                        "strlen=512", "backpressure=drop", "bufs=64", "fdpaths=off",
                        "win32k=/w.json"};
  auto a = parse_plugin_args(9, argv);
  EXPECT_EQ(a.capture_buffers, 64u);
  EXPECT_FALSE(a.fd_paths);
  EXPECT_EQ(a.win32k, "/w.json");
  EXPECT_EQ(a.ring, "/dev/shm/r");
  EXPECT_EQ(a.profile, "/p.json");
  EXPECT_EQ(a.filter, "/f");
  EXPECT_FALSE(a.sysret);
  EXPECT_EQ(a.string_limit, 512u);
  EXPECT_FALSE(a.block);
}

TEST(PluginArgs, Defaults) {
  const char* argv[] = {"ring=r", "profile=p"};
  auto a = parse_plugin_args(2, argv);
  EXPECT_TRUE(a.sysret);
  EXPECT_TRUE(a.block);
  EXPECT_EQ(a.string_limit, 256u);
  EXPECT_TRUE(a.filter.empty());
  EXPECT_EQ(a.capture_buffers, 0u);
  EXPECT_TRUE(a.fd_paths);
  EXPECT_TRUE(a.win32k.empty());
}

TEST(PluginArgs, RejectsBadInput) {
  auto bad = [](std::initializer_list<const char*> l) {
    std::vector<const char*> v(l);
    EXPECT_THROW(parse_plugin_args(static_cast<int>(v.size()), v.data()), Error) << v.back();
  };
  bad({"ring=r"});                                // no profile
  bad({"profile=p"});                             // no ring
  bad({"ring=r", "profile=p", "strlen=0"});
  bad({"ring=r", "profile=p", "strlen=99999999999"});
  bad({"ring=r", "profile=p", "strlen=12x"});
  bad({"ring=r", "profile=p", "sysret=maybe"});
  bad({"ring=r", "profile=p", "bufs=8193"});
  bad({"ring=r", "profile=p", "bufs=-1"});
  bad({"ring=r", "profile=p", "fdpaths=perhaps"});
  bad({"ring=r", "profile=p", "backpressure=later"});
  bad({"ring=r", "profile=p", "colour=blue"});
  bad({"ring=r", "profile=p", "novalue"});
  try {
    const char* argv[] = {"ring=r", "profile=p", "colour=blue"};
    parse_plugin_args(3, argv);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos);
  }
}

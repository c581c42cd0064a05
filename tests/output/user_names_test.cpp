// --user-names: Android's naming scheme and passwd files (what the guest calls its
// users), and what a Linux entry's UserName becomes with them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "output/format.hpp"
#include "output/user_names.hpp"
#include "record_helpers.hpp"

using namespace vmitrace;
using output::UserNames;

namespace {

std::string android(uint32_t uid) {
  std::string buf;
  return std::string(output::android_user_name(uid, buf));
}

std::string temp_file(const std::string& text) {
  char path[] = "/tmp/vmitrace-passwd-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(AndroidUserNames, FixedIdsAppsIsolatedAndSecondaryUsers) {
  EXPECT_EQ(android(0), "root");
  EXPECT_EQ(android(1000), "system");
  EXPECT_EQ(android(1013), "media");
  EXPECT_EQ(android(2000), "shell");
  EXPECT_EQ(android(9999), "nobody");
  EXPECT_EQ(android(10000), "u0_a0");
  EXPECT_EQ(android(10052), "u0_a52");
  EXPECT_EQ(android(19999), "u0_a9999");
  EXPECT_EQ(android(99000), "u0_i0");
  EXPECT_EQ(android(99123), "u0_i123");
  EXPECT_EQ(android(1010123), "u10_a123");   // user 10's app 10123
  EXPECT_EQ(android(1099005), "u10_i5");
  EXPECT_EQ(android(1001000), "u10_system");
  EXPECT_EQ(android(50007), "all_a7");       // a shared app group id
  EXPECT_EQ(android(1022), "");              // not an Android id: no name rather than a wrong one
  EXPECT_EQ(android(4294967295u), "");         // (uid_t)-1: no one
}

TEST(PasswdUserNames, FirstNameOfAUidAndUnknownUids) {
  std::string p = temp_file("# comment\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
                            "alias:x:1000:1000::/:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n");
  auto u = UserNames::from_option(p);
  std::string buf;
  EXPECT_EQ(u->name(0, buf), "root");
  EXPECT_EQ(u->name(1000, buf), "alice");
  EXPECT_EQ(u->name(65534, buf), "nobody");
  EXPECT_EQ(u->name(1001, buf), "");
  std::remove(p.c_str());
}

TEST(PasswdUserNames, BadFilesNameTheFileAndLine) {
  auto message = [](const std::string& text) {
    std::string p = temp_file(text);
    std::string what;
    try {
      UserNames::from_passwd(p);
    } catch (const Error& e) {
      what = e.what();
    }
    std::remove(p.c_str());
    return std::pair(p, what);
  };
  auto [p1, w1] = message("root:x:0:0::/:/bin/sh\nbroken line\n");
  EXPECT_NE(w1.find(p1 + ":2"), std::string::npos) << w1;
  auto [p2, w2] = message("root:x:zero:0::/:/bin/sh\n");
  EXPECT_NE(w2.find(p2 + ":1"), std::string::npos) << w2;
  auto [p3, w3] = message("root:x:99999999999:0::/:/bin/sh\n");  // does not fit a uid
  EXPECT_NE(w3.find(p3 + ":1"), std::string::npos) << w3;
  auto [p4, w4] = message("# only a comment\n");
  EXPECT_NE(w4.find("no user"), std::string::npos) << w4;
  std::string w5;
  try {
    UserNames::from_option("/nonexistent/passwd");
  } catch (const Error& e) {
    w5 = e.what();
  }
  EXPECT_NE(w5.find("/nonexistent/passwd"), std::string::npos) << w5;
}

TEST(PasswdUserNames, LinuxEntryUserNameComesFromTheTable) {
  test::RecordBuf rb;
  test::openat_entry(rb);
  event::Record& r = rb.rec();
  r.uid = 10052;
  output::FormatOptions opt;
  std::string out;
  output::format_event(r, 1, opt, out);
  EXPECT_NE(out.find(R"("UserName":"root")"), std::string::npos) << out;  // the record's own name
  opt.user_names = UserNames::android();
  out.clear();
  output::format_event(r, 1, opt, out);
  EXPECT_NE(out.find(R"("UserName":"u0_a52")"), std::string::npos) << out;
}

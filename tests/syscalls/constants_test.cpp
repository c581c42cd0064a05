// Named constants generated from data/const/*.tbl.
#include <gtest/gtest.h>

#include "syscalls/tables/constants.hpp"

using namespace vmitrace::syscalls;

TEST(Constants, ErrnoNames) {
  EXPECT_EQ(errno_name(-2), "ENOENT");
  EXPECT_EQ(errno_name(-1), "EPERM");
  EXPECT_EQ(errno_name(-133), "EHWPOISON");
  EXPECT_EQ(errno_name(-512), "ERESTARTSYS");
  EXPECT_EQ(errno_name(-4095), "");  // in the error range, but no name
  EXPECT_EQ(errno_name(-4096), "");  // not an error (e.g. an address)
  EXPECT_EQ(errno_name(0), "");
  EXPECT_EQ(errno_name(3), "");
  EXPECT_EQ(errno_name(INT64_MIN), "");
  const NamedValue* e = find_value(consts::errno_names, 2);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->text, "No such file or directory");
  EXPECT_EQ(find_name(consts::errno_names, "EACCES")->value, 13u);
}

TEST(Constants, PrctlAndArchPrctl) {
  EXPECT_STREQ(find_value(consts::prctl_option, 15)->name, "PR_SET_NAME");
  EXPECT_STREQ(find_value(consts::prctl_option, 0x59616d61)->name, "PR_SET_PTRACER");
  EXPECT_STREQ(find_value(consts::prctl_option, 78)->name, "PR_FUTEX_HASH");
  EXPECT_EQ(find_value(consts::prctl_option, 17), nullptr);
  EXPECT_STREQ(find_value(consts::arch_prctl_code, 0x1002)->name, "ARCH_SET_FS");
  EXPECT_EQ(find_value(consts::arch_prctl_code, 0x1000), nullptr);
}

TEST(Constants, ProtIsAFlagSet) {
  EXPECT_TRUE(consts::prot.flags);
  EXPECT_STREQ(consts::prot.zero, "PROT_NONE");
  EXPECT_EQ(find_name(consts::prot, "PROT_EXEC")->value, 4u);
  EXPECT_FALSE(consts::errno_names.flags);
}

// Boots the lab guest (-smp 2, KASLR on) with the test-only probe plugin and
// checks what the backend delivered.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "lab.hpp"

TEST(QemuBackendBoot, RegistersReadsHooksFlushes) {
  if (!lab::available()) GTEST_SKIP() << "lab guest not built (" << lab::initramfs() << ")";
  std::string probe = lab::env("VMITRACE_PROBE_PLUGIN");
  ASSERT_FALSE(probe.empty());
  std::string out = lab::tmp("probe.txt");
  auto cmd = lab::qemu_cmd("vmitrace.workload=default");
  cmd.push_back("-plugin");
  cmd.push_back(probe + ",out=" + out);
  int rc = lab::wait(lab::start(cmd, "/dev/null", lab::tmp("probe.err")), 180);
  ASSERT_EQ(rc, 0) << lab::slurp(lab::tmp("probe.err"));
  auto kv = lab::key_values(lab::slurp(out));
  ::unlink(out.c_str());
  ::unlink(lab::tmp("probe.err").c_str());
  ASSERT_FALSE(kv.empty());
  // when_in_kernel ran until its callback said done, on kernel addresses.
  EXPECT_EQ(kv["sampled"], "64");
  EXPECT_GE(std::stoull(kv["kernel_calls"]), 64u);
  EXPECT_GE(std::stoull(kv["first_rip"], nullptr, 16), 0xffff800000000000ull);
  EXPECT_NE(std::stoull(kv["first_cr3"], nullptr, 16), 0u);
  EXPECT_EQ(kv["bad_kernel_regs"], "0");
  EXPECT_EQ(kv["bad_regs"], "0");
  // Guest reads: kernel code is readable; page 0 and the address-space end are not,
  // and nothing is read past them.
  EXPECT_EQ(kv["code_read"], "16");
  EXPECT_EQ(kv["null_read"], "0");
  EXPECT_EQ(kv["wrap_read"], "0");
  // Hooks added from a callback took effect (flush), then were removed from a hook.
  EXPECT_EQ(kv["sampled_hits"], "5000");
  EXPECT_EQ(kv["hits_after_remove"], "0");
  EXPECT_GE(std::stoull(kv["flushes"]), 2u);
  EXPECT_EQ(kv["callback_errors"], "0");
}

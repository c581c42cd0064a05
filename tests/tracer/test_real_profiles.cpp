// The OS layer and the hook plan on real kernels' profiles: the 5.10 dwarf2json ISF
// from ../shared/data and the lab kernels' images (built by scripts into .cache/).
// Skipped, saying why, when a file is absent.
#include <gtest/gtest.h>

#include <filesystem>

#include "os/linux/kernel.hpp"
#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"
#include "syscalls/linux/hook_plan.hpp"

namespace vmitrace::testing {
namespace {

std::string source_root() {
  const char* r = std::getenv("VMITRACE_SOURCE_ROOT");
  return r ? r : ".";
}

void check_common(const profile::Profile& p, const oslinux::LinuxKernel& k) {
  EXPECT_EQ(k.pointer_size(), 8u);
  const auto& t = k.task_layout();
  for (uint32_t off : {t.pid, t.tgid, t.comm, t.real_parent, t.group_leader, t.cred, t.cred_uid})
    EXPECT_NE(off, oslinux::kNoOffset);
  EXPECT_EQ(t.tgid, t.pid + 4);
  EXPECT_EQ(k.pt_regs().r10, 56u);
  EXPECT_EQ(k.pt_regs().orig_ax, 120u);
  EXPECT_TRUE(k.current_task_location().known);
  EXPECT_TRUE(k.current_task_location().per_cpu);
  EXPECT_LT(k.current_task_location().where, 0x200000u);  // a per-CPU offset
  (void)p;
}

// The hooks of the plan (checked to lie in the kernel text when it was chosen) and
// what the self-check needs.
void check_sites(const profile::Profile& p, const oslinux::LinuxKernel& k, const syscalls::HookPlan& plan) {
  EXPECT_EQ(plan.code_sites().size(), plan.entries.size() + 1);
  const auto [lo, hi] = oslinux::kernel_text_range(p);
  EXPECT_EQ(lo, p.symbol("_stext").value_or(0));
  EXPECT_LT(hi - lo, 64u << 20);  // a text of tens of MiB, not the whole address space
  EXPECT_NE(k.task_layout().tasks, oslinux::kNoOffset);
  EXPECT_TRUE(p.symbol("init_task"));
}

TEST(RealProfiles, Debian510Isf) {
  const std::string path = source_root() + "/../shared/data/linux-isf/linux_deb_5.10.0-8-amd64.json.xz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  auto p = profile::Profile::load(path);
  oslinux::LinuxKernel k(p, path);
  check_common(p, k);
  EXPECT_EQ(k.current_task_location().source, "current_task");
  auto plan = syscalls::choose_hook_plan(p, nullptr, false, path);
  EXPECT_EQ(plan.describe(),
            "x64 via do_syscall_64, ia32 via do_int80_syscall_32+do_fast_syscall_32, return via "
            "syscall_exit_to_user_mode");
  check_sites(p, k, plan);
}

void lab_kernel(const char* dir, const char* expected_current) {
  const std::string path = source_root() + "/.cache/guest/" + dir + "/vmlinuz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent (run the guest setup)";
  auto p = profile::build_linux_profile(path);
  oslinux::LinuxKernel k(p, path);
  check_common(p, k);
  EXPECT_EQ(k.current_task_location().source, expected_current);
  auto plan = syscalls::choose_hook_plan(p, nullptr, false, path);
  EXPECT_EQ(plan.describe(),
            "x64 via x64_sys_call, ia32 via ia32_sys_call, return via syscall_exit_to_user_mode");
  check_sites(p, k, plan);
  std::vector<std::string> filter = {"openat", "execve", "read", "write", "close"};
  auto filtered = syscalls::choose_hook_plan(p, &filter, false, path);
  EXPECT_EQ(filtered.entries.size(), 10u) << filtered.describe();
}

TEST(RealProfiles, LabKernel61) { lab_kernel("kernel-6.1", "current_task"); }
TEST(RealProfiles, LabKernel612) { lab_kernel("kernel-6.12", "pcpu_hot.current_task"); }

}  // namespace
}  // namespace vmitrace::testing

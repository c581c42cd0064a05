// The start-up self-check (src/os/linux/self_check.cpp) and the profile checks at
// construction, on the synthetic kernel: a healthy guest passes (also with an idle
// task running), and each way a profile can fail to fit is named.
#include <gtest/gtest.h>

#include <optional>

#include "common/error.hpp"
#include "fake_guest.hpp"
#include "os/linux/kernel.hpp"

namespace vmitrace::testing {
namespace {

using oslinux::CodeSite;
using oslinux::LinuxKernel;
using oslinux::SelfCheck;
using vmi::Reg;
using Verdict = oslinux::SelfCheck::Verdict;

constexpr uint64_t kSlide = 0x1a400000;
constexpr uint64_t kGs = 0xffff888000100000ull;
constexpr uint64_t kX64 = 0xffffffff81001000ull, kExit = 0xffffffff81003000ull;

// init_task (swapper/0) -> list: init_task, bash (100), init (1); bash has a second
// thread (101), which is not on the list; swapper/1 is CPU 1's idle task.
struct Guest {
  static constexpr uint64_t kInit = 0xffff888001000000ull, kBash = 0xffff888001001000ull,
                            kThread = 0xffff888001002000ull, kIdle1 = 0xffff888001003000ull,
                            kCredUser = 0xffff888002001000ull;
  static constexpr uint64_t kInitTask = SelfCheckSyms::kInitTask + kSlide;
  static constexpr uint64_t kInitCred = SelfCheckSyms::kInitCred + kSlide;
  FakeMemory mem;
  profile::Profile prof;
  std::optional<LinuxKernel> k;
  FakeVcpu cpu{mem, 0};
  std::vector<CodeSite> sites = {{"x64_sys_call", kX64}, {"syscall_exit_to_user_mode", kExit}};

  explicit Guest(profile::Profile p = self_check_profile()) : prof(std::move(p)) {
    write_task(mem, {kInitTask, 0, 0, "swapper/0", kInitTask, kInitTask, kInitCred});
    write_task(mem, {kInit, 1, 1, "init", kInitTask, kInit, kInitCred});
    write_task(mem, {kBash, 100, 100, "bash", kInit, kBash, kCredUser});
    write_task(mem, {kThread, 101, 100, "worker", kInit, kBash, kCredUser});
    write_task(mem, {kIdle1, 0, 0, "swapper/1", kInit, kIdle1, kInitCred});
    write_cred(mem, kInitCred, 0);
    write_cred(mem, kCredUser, 1000);
    link_tasks(mem, {kInitTask, kBash, kInit});
    // A thread's own list_head is a stale copy: never followed.
    mem.write_u64(kThread + SelfCheckSyms::kTasks, 0xdead000000000100ull);
    uint8_t code[16];
    std::memset(code, 0x90, sizeof code);
    for (uint64_t s : {kX64, kExit}) mem.write(s + kSlide, code, sizeof code);
    k.emplace(prof, "kernel.json");
    k->set_slide(kSlide);
    run(kThread);
  }
  void run(uint64_t task) {
    cpu.reg(Reg::gs_base) = kGs;
    mem.write_u64(kGs + Synth::kPcpuHot + Synth::kCurrentOff, task);
  }
  SelfCheck check() { return k->self_check(cpu, sites); }
};

// The one-line failure: "<profile>: <what> does not fit the running kernel (...)".
void expect_fails(const SelfCheck& c, const std::string& what, const std::string& detail = "") {
  EXPECT_EQ(c.verdict, Verdict::fail) << c.message;
  EXPECT_EQ(c.message.rfind("kernel.json: " + what + " does not fit the running kernel (", 0), 0u) << c.message;
  EXPECT_NE(c.message.find(detail), std::string::npos) << c.message;
  EXPECT_EQ(c.message.find('\n'), std::string::npos);
}

TEST(SelfCheck, HealthyGuestPasses) {
  Guest g;
  const SelfCheck c = g.check();
  EXPECT_EQ(c.verdict, Verdict::pass) << c.message;
  EXPECT_EQ(c.tasks_walked, 2u);  // bash -> init -> init_task
  EXPECT_NE(c.message.find("the profile fits the running kernel"), std::string::npos);
  EXPECT_NE(c.message.find("pid 101 \"worker\""), std::string::npos) << c.message;
  // Its cost: 2 code reads, init_task + its cred, the slot, the task, its parent,
  // its leader's pid, its cred, then one read per list node.
  EXPECT_EQ(c.reads, 2u + 2 + 1 + 1 + 1 + 1 + 1 + 2) << c.message;
}

TEST(SelfCheck, IdleTaskRunningWalksTheWholeList) {
  Guest g;
  g.run(Guest::kInitTask);
  SelfCheck c = g.check();
  EXPECT_EQ(c.verdict, Verdict::pass) << c.message;
  EXPECT_EQ(c.tasks_walked, 3u);  // init_task -> bash -> init -> init_task
  g.run(Guest::kIdle1);  // CPU 1's idle task: not on the list either
  c = g.check();
  EXPECT_EQ(c.verdict, Verdict::pass) << c.message;
  EXPECT_EQ(c.tasks_walked, 3u);
}

TEST(SelfCheck, NoPerCpuBaseIsNotReady) {
  Guest g;
  g.cpu.reg(Reg::gs_base) = 0;  // early boot
  EXPECT_EQ(g.check().verdict, Verdict::not_ready);
  g.cpu.reg(Reg::gs_base) = 0x7f0000001000ull;  // kernel entry before swapgs
  const SelfCheck c = g.check();
  EXPECT_EQ(c.verdict, Verdict::not_ready);
  EXPECT_EQ(c.reads, 0u);
  EXPECT_NE(c.message.find("pcpu_hot.current_task does not fit the running kernel"), std::string::npos);
}

TEST(SelfCheck, HookWithoutCodeIsNamed) {
  Guest g;
  g.sites.push_back({"ia32_sys_call", 0xffffffff81002000ull});  // nothing mapped there
  expect_fails(g.check(), "ia32_sys_call", "its code at 0xffffffff9b402000 is unreadable");
  Guest z;
  uint8_t zeros[16] = {};
  z.mem.write(0xffffffff81002000ull + kSlide, zeros, 16);
  z.sites.push_back({"ia32_sys_call", 0xffffffff81002000ull});
  expect_fails(z.check(), "ia32_sys_call", "reads as zeros");
}

TEST(SelfCheck, HookOutsideTheKernelTextIsRefusedWithoutAGuest) {
  Guest g;
  const CodeSite inside[] = {{"x64_sys_call", kX64}};
  EXPECT_NO_THROW(oslinux::check_code_sites(g.prof, inside, "kernel.json"));
  EXPECT_EQ(oslinux::kernel_text_range(g.prof), std::make_pair(uint64_t{SelfCheckSyms::kStext}, uint64_t{SelfCheckSyms::kEtext}));
  const CodeSite outside[] = {{"x64_sys_call", kX64}, {"do_syscall_64", 0xffffffff82a1b000ull}};
  try {
    oslinux::check_code_sites(g.prof, outside, "kernel.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "kernel.json: do_syscall_64 at 0xffffffff82a1b000 lies outside the kernel text "
                           "(0xffffffff81000000 .. 0xffffffff81e00000): the profile does not fit its own kernel");
  }
  // Without _etext the text ends where read-only data (linux_banner) begins.
  EXPECT_EQ(oslinux::kernel_text_range(synthetic_profile()), std::make_pair(uint64_t{Synth::kText}, uint64_t{Synth::kBanner}));
  // Without _stext and _text: from the lowest kernel address.
  profile::Profile bare;
  add_symbol(bare, "current_task", 0x1fb80);  // a per-CPU offset: not a kernel address
  add_symbol(bare, "x64_sys_call", 0xffffffff81003320ull);
  add_symbol(bare, "startup_64", 0xffffffff81000000ull);
  add_symbol(bare, "__start_rodata", 0xffffffff82000000ull);
  EXPECT_EQ(oslinux::kernel_text_range(bare), std::make_pair(uint64_t{0xffffffff81000000ull}, uint64_t{0xffffffff82000000ull}));
}

TEST(SelfCheck, CurrentTaskPointingNowhereIsNamed) {
  // The per-CPU slot holds no task pointer.
  Guest g;
  g.mem.write_u64(kGs + Synth::kPcpuHot + Synth::kCurrentOff, 0x4141414141414141ull);
  expect_fails(g.check(), "pcpu_hot.current_task", "reads 0x4141414141414141, not a kernel address");
  // The profile's offset leads to another per-CPU variable, which holds a kernel
  // pointer that is no task (here: a cred).
  auto p = self_check_profile();
  p.user_types["pcpu_hot"].fields["current_task"] = field_at(0x20);
  Guest h(p);
  h.mem.write_u64(kGs + Synth::kPcpuHot + 0x20, Guest::kCredUser);
  expect_fails(h.check(), "pcpu_hot.current_task", "the current task 0xffff888002001000 reads pid");
}

TEST(SelfCheck, WrongPidOffsetIsNamedWithWhatInitTaskReads) {
  auto p = self_check_profile();
  p.user_types["task_struct"].fields["pid"] = field_at(Synth::kComm + 4);  // inside "swapper/0"
  Guest g(p);
  expect_fails(g.check(), "task_struct.pid", "init_task reads pid 796026224");  // "per/"
}

TEST(SelfCheck, WrongCommOffsetIsNamed) {
  auto p = self_check_profile();
  p.user_types["task_struct"].fields["comm"] = field_at(Synth::kComm + 0x10);
  Guest g(p);
  expect_fails(g.check(), "task_struct.comm", "init_task reads comm \"\"");
}

TEST(SelfCheck, InitTaskElsewhereIsNamed) {
  auto p = self_check_profile();
  p.symbols["init_task"].address = SelfCheckSyms::kInitTask + 0x4000;  // other data
  Guest g(p);
  g.mem.write(Guest::kInitTask + 0x4000, std::string(0x300, '\x11').data(), 0x300);
  expect_fails(g.check(), "init_task", "at 0xffffffff9ce1e000: pid 286331153");
  // Unmapped there.
  auto q = self_check_profile();
  q.symbols["init_task"].address = SelfCheckSyms::kInitTask + 0x80000;
  Guest u(q);
  expect_fails(u.check(), "init_task", "unreadable at 0xffffffff9ce9a000");
}

TEST(SelfCheck, ParentLeaderAndCredAreChecked) {
  Guest a;  // init_task's own parent pointer
  a.mem.write_u64(Guest::kInitTask + Synth::kRealParent, Guest::kInit);
  expect_fails(a.check(), "task_struct.real_parent", "init_task's real_parent reads 0xffff888001000000");
  Guest b;  // the current task's leader is not its thread group's
  b.mem.write_u64(Guest::kThread + Synth::kGroupLeader, Guest::kInit);
  expect_fails(b.check(), "task_struct.group_leader", "reads pid 1, not its tgid 100");
  Guest c;  // init_task's cred is not root's
  c.mem.write_u32(Guest::kInitCred + Synth::kUid, 1000);
  expect_fails(c.check(), "cred.uid", "init_task's cred reads uid 1000");
  Guest d;  // the current task's parent is no task
  d.mem.write_u64(Guest::kThread + Synth::kRealParent, Guest::kCredUser);
  expect_fails(d.check(), "task_struct.real_parent", "the current task's parent 0xffff888002001000 reads");
}

TEST(SelfCheck, TaskListLoopIsNamed) {
  Guest g;
  link_tasks(g.mem, {Guest::kBash, Guest::kInit});  // bash <-> init: init_task left out
  const SelfCheck c = g.check();
  expect_fails(c, "task_struct.tasks", "loops without reaching init_task");
  EXPECT_LT(c.reads, 30u);  // found by the cycle detection, not by the step bound
}

TEST(SelfCheck, TaskListBrokenOrNotTasksIsNamed) {
  Guest a;  // next->prev does not point back (walked from init_task: an idle task runs)
  a.run(Guest::kInitTask);
  a.mem.write_u64(Guest::kInit + SelfCheckSyms::kTasks + 8, Guest::kThread + SelfCheckSyms::kTasks);
  expect_fails(a.check(), "task_struct.tasks", "is not doubly linked at 0xffff888001000080");
  Guest b;  // a next pointer into user space
  b.mem.write_u64(Guest::kInit + SelfCheckSyms::kTasks, 0x7f0000000000ull);
  expect_fails(b.check(), "task_struct.tasks", "leads to 0x7f0000000000, not a kernel address");
  // The offset names another list_head: the nodes are no processes.
  auto p = self_check_profile();
  p.user_types["task_struct"].fields["tasks"] = field_at(0x90);
  Guest c(p);
  link_tasks(c.mem, {Guest::kInitTask, Guest::kBash, Guest::kInit});
  for (uint64_t t : {Guest::kInitTask, Guest::kBash, Guest::kInit})  // the same links at +0x90
    for (uint64_t o : {0u, 8u}) {
      uint64_t v = 0;
      c.mem.read(t + SelfCheckSyms::kTasks + o, &v, 8);
      c.mem.write_u64(t + 0x90 + o, v);
    }
  expect_fails(c.check(), "task_struct.tasks", "reaches task 0xffff888000fffff0 reading pid");
}

TEST(SelfCheck, ReadsAreBoundedOnGarbage) {
  // Every pointer a kernel address into a page of one repeated byte pattern.
  Guest g;
  std::string junk(0x1000, '\0');
  for (size_t i = 0; i + 8 <= junk.size(); i += 8) {
    const uint64_t v = 0xffff888001000000ull + (i * 0x1000);
    std::memcpy(&junk[i], &v, 8);
  }
  for (uint64_t t : {Guest::kInit, Guest::kBash}) g.mem.write(t, junk.data(), junk.size());
  const SelfCheck c = g.check();
  EXPECT_EQ(c.verdict, Verdict::fail) << c.message;
  EXPECT_LT(c.reads, 40u);
}

// --- what needs no guest: refused when the kernel model is built ---------------
void expect_refused(const profile::Profile& p, const std::string& what) {
  try {
    LinuxKernel k(p, "kernel.json");
    FAIL() << "no error for " << what;
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "kernel.json: " + what);
  }
}

TEST(LinuxKernelProfile, TaskFieldsEveryEventNeedsAreRequired) {
  auto p = synthetic_profile();
  p.user_types.erase("task_struct");
  expect_refused(p, "no task_struct type in the profile: the process of an event cannot be read");
  for (const char* f : {"pid", "tgid", "comm", "real_parent", "group_leader", "cred"}) {
    auto q = synthetic_profile();
    q.user_types["task_struct"].fields.erase(f);
    expect_refused(q, std::string("the profile's task_struct has no field ") + f);
  }
  auto c = synthetic_profile();
  c.user_types["cred"].fields.erase("uid");
  expect_refused(c, "the profile's cred has no field uid");
  auto o = synthetic_profile();  // task_struct is 0x300 bytes
  o.user_types["task_struct"].fields["comm"] = field_at(0x2f8);
  expect_refused(o, "task_struct.comm (offset 760, 16 bytes) lies outside task_struct (768 bytes)");
  auto n = synthetic_profile();
  n.symbols.erase("pcpu_hot");
  expect_refused(n, "no current_task or pcpu_hot.current_task symbol in the profile: the running task "
                    "cannot be found");
}

}  // namespace
}  // namespace vmitrace::testing

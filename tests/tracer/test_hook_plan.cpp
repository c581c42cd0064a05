#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tracer_fixture.hpp"
#include "syscalls/linux/hook_plan.hpp"

namespace vmitrace::testing {
namespace {

using event::Abi;
using syscalls::choose_hook_plan;
using syscalls::EntryKind;
using syscalls::ReturnKind;

const syscalls::HookPoint* find(const syscalls::HookPlan& p, const std::string& sym) {
  for (const auto& h : p.entries)
    if (h.symbol == sym) return &h;
  return nullptr;
}

TEST(HookPlan, DispatchersPreferred) {
  auto p = synthetic_profile();
  add_dispatchers(p);
  add_per_syscall(p);
  auto plan = choose_hook_plan(p, nullptr, false, "p");
  ASSERT_EQ(plan.entries.size(), 2u);
  EXPECT_EQ(plan.entries[0].symbol, "x64_sys_call");
  EXPECT_EQ(plan.entries[0].kind, EntryKind::dispatcher);
  EXPECT_EQ(plan.entries[0].abi, Abi::linux_x64);
  EXPECT_EQ(plan.entries[0].link, Sym::x64_sys_call);
  EXPECT_EQ(plan.entries[1].symbol, "ia32_sys_call");
  EXPECT_EQ(plan.entries[1].abi, Abi::linux_ia32);
  EXPECT_EQ(plan.ret, ReturnKind::exit_to_user_mode);
  EXPECT_EQ(plan.ret_link, Sym::exit_to_user);
  EXPECT_EQ(plan.describe(),
            "x64 via x64_sys_call, ia32 via ia32_sys_call, return via syscall_exit_to_user_mode");
}

TEST(HookPlan, OlderDispatchers) {
  auto p = synthetic_profile();
  add_symbol(p, "do_syscall_64", Sym::do_syscall_64);
  add_symbol(p, "int80_emulation", Sym::int80_emulation);
  add_symbol(p, "do_int80_syscall_32", 0xffffffff81007000ull);
  add_symbol(p, "do_fast_syscall_32", Sym::do_fast_syscall_32);
  auto plan = choose_hook_plan(p, nullptr, false, "p");
  ASSERT_NE(find(plan, "do_syscall_64"), nullptr);
  EXPECT_EQ(find(plan, "do_syscall_64")->kind, EntryKind::do_syscall_64);
  EXPECT_EQ(find(plan, "int80_emulation")->kind, EntryKind::regs_orig_ax);
  EXPECT_EQ(find(plan, "do_int80_syscall_32")->kind, EntryKind::regs_orig_ax);
  EXPECT_EQ(find(plan, "do_fast_syscall_32")->kind, EntryKind::fast_32);
  EXPECT_EQ(plan.ret, ReturnKind::return_address);
}

TEST(HookPlan, OnlyPerSyscallFunctions) {
  auto p = synthetic_profile();
  add_per_syscall(p);
  auto plan = choose_hook_plan(p, nullptr, false, "p");
  size_t x64 = 0, ia32 = 0;
  for (const auto& h : plan.entries) {
    EXPECT_EQ(h.kind, EntryKind::per_syscall_regs);
    (h.abi == Abi::linux_x64 ? x64 : ia32)++;
  }
  EXPECT_GT(x64, 300u);
  EXPECT_GT(ia32, 300u);
  const auto* openat = find(plan, syscalls::lookup(Abi::linux_x64, "openat")->symbol);
  ASSERT_NE(openat, nullptr);
  EXPECT_EQ(openat->nr, 257u);
  EXPECT_NE(plan.describe().find("per-syscall functions"), std::string::npos);
}

TEST(HookPlan, PlainSysFunctionsOfOldKernels) {
  auto p = synthetic_profile();
  add_symbol(p, "sys_openat", 0xffffffff81200000ull);
  add_symbol(p, "sys_read", 0xffffffff81200100ull);
  auto plan = choose_hook_plan(p, nullptr, true, "p");
  ASSERT_EQ(plan.entries.size(), 2u);
  EXPECT_EQ(find(plan, "sys_openat")->kind, EntryKind::per_syscall_args);
  EXPECT_EQ(find(plan, "sys_openat")->nr, 257u);
  EXPECT_EQ(plan.ret, ReturnKind::none);
}

TEST(HookPlan, FilterHooksOnlyTheListedFunctions) {
  auto p = synthetic_profile();
  add_dispatchers(p);
  add_per_syscall(p);
  std::vector<std::string> names = {"openat", "read"};
  auto plan = choose_hook_plan(p, &names, false, "p");
  std::set<std::string> syms;
  for (const auto& h : plan.entries) syms.insert(h.symbol);
  std::set<std::string> want = {syscalls::lookup(Abi::linux_x64, "openat")->symbol,
                                syscalls::lookup(Abi::linux_x64, "read")->symbol,
                                syscalls::lookup(Abi::linux_ia32, "openat")->symbol,
                                syscalls::lookup(Abi::linux_ia32, "read")->symbol};
  EXPECT_EQ(syms, want);
  EXPECT_EQ(find(plan, "x64_sys_call"), nullptr);
}

TEST(HookPlan, FilterWithoutPerSyscallFunctionsFallsBackToDispatchers) {
  auto p = synthetic_profile();
  add_dispatchers(p);
  std::vector<std::string> names = {"openat"};
  auto plan = choose_hook_plan(p, &names, false, "p");
  EXPECT_NE(find(plan, "x64_sys_call"), nullptr);
}

TEST(HookPlan, I386KernelHooksTheNative32BitEntries) {
  profile::Profile p;
  p.metadata.pointer_size = 4;
  add_symbol(p, "ia32_sys_call", 0xc10017b0);
  add_symbol(p, "do_int80_syscall_32", 0xc1922d10);
  add_symbol(p, "do_fast_syscall_32", 0xc1922d80);
  add_symbol(p, "syscall_exit_to_user_mode", 0xc1926140);
  add_symbol(p, "__ia32_sys_openat", 0xc12df9e0);
  auto plan = choose_hook_plan(p, nullptr, false, "k686");
  ASSERT_EQ(plan.entries.size(), 1u);
  EXPECT_EQ(plan.entries[0].symbol, "ia32_sys_call");
  EXPECT_EQ(plan.entries[0].abi, Abi::linux_ia32);
  EXPECT_TRUE(plan.native32);
  EXPECT_EQ(plan.describe(), "ia32 (i386 kernel) via ia32_sys_call, return via syscall_exit_to_user_mode");
  // Without the dispatcher: the int 0x80 and sysenter entries.
  p.symbols.erase("ia32_sys_call");
  plan = choose_hook_plan(p, nullptr, false, "k686");
  ASSERT_EQ(plan.entries.size(), 2u);
  EXPECT_EQ(find(plan, "do_int80_syscall_32")->kind, EntryKind::regs_orig_ax);
  EXPECT_EQ(find(plan, "do_fast_syscall_32")->kind, EntryKind::fast_32);
  // A filter on an i386 kernel hooks the __ia32_sys_* of the native table.
  std::vector<std::string> only{"openat"};
  plan = choose_hook_plan(p, &only, false, "k686");
  ASSERT_EQ(plan.entries.size(), 1u);
  EXPECT_EQ(plan.entries[0].symbol, "__ia32_sys_openat");
  EXPECT_EQ(plan.entries[0].kind, EntryKind::per_syscall_regs);
  EXPECT_EQ(plan.entries[0].nr, 295u);
}

TEST(HookPlan, NothingToHookIsAnError) {
  auto p = synthetic_profile();
  add_symbol(p, "ia32_sys_call", Sym::ia32_sys_call);  // ia32 alone is not enough
  try {
    choose_hook_plan(p, nullptr, false, "guest.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("guest.json: no syscall hook point"), std::string::npos);
  }
}

TEST(HookPlan, TracerConstructorReportsMissingHookPoints) {
  FakeBackend be;
  CollectSink sink;
  syscalls::TracerConfig cfg;
  cfg.profile_path = "k.json";
  EXPECT_THROW(syscalls::make_tracer(cfg, synthetic_profile(), be, sink), Error);
}

TEST(HookPlan, FilteredTracerHooksOnlyListedAndDropsOthers) {
  auto p = dispatcher_profile();
  add_per_syscall(p);
  TempFile f("openat\n");
  syscalls::TracerConfig cfg;
  cfg.filter_file = f.path;
  TracerGuest g(p, cfg);
  g.boot();
  const uint64_t openat_fn = p.symbols.at(syscalls::lookup(Abi::linux_x64, "openat")->symbol).address;
  EXPECT_TRUE(g.backend.hooked(g.rt(openat_fn)));
  EXPECT_FALSE(g.backend.hooked(g.rt(Sym::x64_sys_call)));
  auto t = g.thread(20, 20, "x");
  g.on_cpu(0, t);
  g.frame64(t, 257, {1, 2, 3, 4, 5, 6});
  auto& c = *g.cpus[0];
  c.reg(vmi::Reg::rdi) = t.regs;
  g.backend.fire(g.rt(openat_fn), c);
  ASSERT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.sink.rec(0).nr, 257u);
  EXPECT_EQ(g.sink.rec(0).args[3], 4u);
  EXPECT_EQ(g.sink.rec(0).module_name(), syscalls::lookup(Abi::linux_x64, "openat")->symbol);
  g.leave(0, t, 3);
  EXPECT_EQ(g.sink.count(), 2u);
}

TEST(HookPlan, FilterAppliedAtDispatchers) {
  TempFile f("# only this one\nopenat\n");
  syscalls::TracerConfig cfg;
  cfg.filter_file = f.path;
  TracerGuest g(dispatcher_profile(), cfg);
  g.boot();
  auto t = g.thread(21, 21, "x");
  g.enter64(0, t, nr_of("read"));
  g.leave(0, t, 0);
  EXPECT_EQ(g.sink.count(), 0u);
  g.enter64(0, t, nr_of("openat"));
  EXPECT_EQ(g.sink.count(), 1u);
}

}  // namespace
}  // namespace vmitrace::testing

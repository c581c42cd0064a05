#include <gtest/gtest.h>

#include <thread>

#include "tracer_fixture.hpp"

namespace vmitrace::testing {
namespace {

using event::Abi;
using event::Capture;
using event::Kind;
using vmi::Reg;

TEST(LinuxTracer, PrintsPlanFindsKernelAndPlacesHooks) {
  TracerGuest g(dispatcher_profile());
  ::testing::internal::CaptureStderr();
  g.boot();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err,
            "vmitrace: hooks: x64 via x64_sys_call, ia32 via ia32_sys_call, return via "
            "syscall_exit_to_user_mode\n"
            "vmitrace: self-check: profile: the profile fits the running kernel: 3 hooked functions, the "
            "current task (pid 1 \"init\", parent pid 1); the task list not walked (no task_struct.tasks); "
            "7 guest reads\n");
  EXPECT_TRUE(g.backend.hooked(g.rt(Sym::x64_sys_call)));
  EXPECT_TRUE(g.backend.hooked(g.rt(Sym::ia32_sys_call)));
  EXPECT_TRUE(g.backend.hooked(g.rt(Sym::exit_to_user)));
  EXPECT_FALSE(g.backend.hooked(Sym::x64_sys_call));  // link address: not slid
  EXPECT_EQ(g.backend.hooks.size(), 3u);
}

TEST(LinuxTracer, OpenatEntryAndReturn) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(1234, 1234, "cat");
  g.mem.write_str(0x7ffc0000a000, "/etc/passwd");
  const uint32_t openat = nr_of("openat");
  EXPECT_EQ(openat, 257u);
  g.enter64(1, t, openat, {0xffffff9c, 0x7ffc0000a000, 0x80000, 0x1a4, 5, 6});
  ASSERT_EQ(g.sink.count(), 1u);
  const event::Record& r = g.sink.rec(0);
  EXPECT_EQ(r.kind, Kind::syscall);
  EXPECT_EQ(r.abi, Abi::linux_x64);
  EXPECT_EQ(r.os, event::Os::linux);
  EXPECT_EQ(r.nr, 257u);
  EXPECT_EQ(r.nargs, 4);
  EXPECT_EQ(r.args[0], 0xffffff9cu);
  EXPECT_EQ(r.args[1], 0x7ffc0000a000u);
  EXPECT_EQ(r.args[2], 0x80000u);
  EXPECT_EQ(r.args[3], 0x1a4u);  // from pt_regs->r10, not cx (0xc0ffee)
  EXPECT_EQ(r.vcpu, 1u);
  EXPECT_EQ(r.cr3, TracerGuest::kCr3 + 0x1000);
  EXPECT_EQ(r.time_ns, 1700000000123456789ull);
  EXPECT_EQ(r.pid, 1234);
  EXPECT_EQ(r.tid, 1234);
  EXPECT_EQ(r.ppid, 1);
  EXPECT_EQ(r.uid, 0);
  EXPECT_EQ(r.user(), "root");
  EXPECT_EQ(r.process(), "cat");
  EXPECT_EQ(r.thread(), "cat");
  EXPECT_EQ(r.module_name(), "x64_sys_call");
  EXPECT_EQ(r.flags, 0u);
  Capture st;
  EXPECT_EQ(g.sink.blob(0, 1, &st), "/etc/passwd");
  EXPECT_EQ(st, Capture::ok);
  EXPECT_EQ(r.size % 8, 0u);

  g.leave(0, t, 3);
  ASSERT_EQ(g.sink.count(), 2u);
  const event::Record& s = g.sink.rec(1);
  EXPECT_EQ(s.kind, Kind::sysret);
  EXPECT_EQ(s.nr, 257u);  // the real number, not 0
  EXPECT_EQ(s.ret, 3);
  EXPECT_EQ(s.module_name(), "x64_sys_call");
  EXPECT_EQ(s.tid, 1234);
  EXPECT_EQ(s.vcpu, 0u);
  EXPECT_EQ(g.tracer->stats().pending, 0u);
  EXPECT_EQ(g.tracer->stats().syscalls, 1u);
  EXPECT_EQ(g.tracer->stats().sysrets, 1u);
}

TEST(LinuxTracer, TwoThreadsOfOneProcessOnTwoVcpusPairCorrectly) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto a = g.thread(500, 500, "app");
  auto b = g.thread(501, 500, "app-worker", a.task);
  const uint32_t read = nr_of("read"), write = nr_of("write");
  g.enter64(0, a, read, {3, 0x1000, 10});
  g.enter64(1, b, write, {1, 0x2000, 20});
  g.leave(0, b, 20);   // b migrated to vCPU 0 while blocked
  g.leave(1, a, -2);   // a returns on vCPU 1
  ASSERT_EQ(g.sink.count(), 4u);
  EXPECT_EQ(g.sink.rec(1).process(), "app");
  EXPECT_EQ(g.sink.rec(1).thread(), "app-worker");
  EXPECT_EQ(g.sink.rec(1).pid, 500);
  EXPECT_EQ(g.sink.rec(1).tid, 501);
  const event::Record& rb = g.sink.rec(2);
  EXPECT_EQ(rb.kind, Kind::sysret);
  EXPECT_EQ(rb.tid, 501);
  EXPECT_EQ(rb.nr, write);
  EXPECT_EQ(rb.ret, 20);
  const event::Record& ra = g.sink.rec(3);
  EXPECT_EQ(ra.tid, 500);
  EXPECT_EQ(ra.nr, read);
  EXPECT_EQ(ra.ret, -2);
  EXPECT_EQ(g.tracer->stats().returns_unpaired, 0u);
  EXPECT_EQ(g.tracer->stats().entries_lost, 0u);
}

TEST(LinuxTracer, LostReturnDoesNotMispair) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(42, 42, "sh");
  g.enter64(0, t, nr_of("openat"));  // its return is lost
  g.enter64(0, t, nr_of("close"), {3});
  g.leave(0, t, 0);
  EXPECT_FALSE(g.backend.gate_open);  // nothing pending: the return hook is gated off
  g.leave(0, t, 0);  // a second return: nothing pending any more
  ASSERT_EQ(g.sink.count(), 3u);
  EXPECT_EQ(g.sink.rec(2).kind, Kind::sysret);
  EXPECT_EQ(g.sink.rec(2).nr, nr_of("close"));
  auto st = g.tracer->stats();
  EXPECT_EQ(st.entries_lost, 1u);
  EXPECT_EQ(g.backend.gated_skips, 1);  // the second return never reached the tracer
  EXPECT_EQ(st.returns_unpaired, 0u);
  EXPECT_EQ(st.pending, 0u);
}

// The return hook fires only while an entry waits: open on the first pending
// entry, still open while another thread's entry waits, closed when none is left.
TEST(LinuxTracer, ReturnGateFollowsPendingEntries) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto a = g.thread(42, 42, "sh");
  auto b = g.thread(43, 43, "sh");
  EXPECT_FALSE(g.backend.gate_open);
  g.leave(0, a, 0);  // a return with nothing pending (e.g. of a syscall entered before tracing)
  EXPECT_EQ(g.backend.gated_skips, 1);
  g.enter64(0, a, nr_of("wait4"));
  EXPECT_TRUE(g.backend.gate_open);
  g.enter64(0, b, nr_of("getpid"));
  g.leave(0, b, 43);
  EXPECT_TRUE(g.backend.gate_open);  // a's wait4 still waits
  g.leave(0, a, 43);
  EXPECT_FALSE(g.backend.gate_open);
  ASSERT_EQ(g.sink.count(), 4u);
  EXPECT_EQ(g.sink.rec(3).nr, nr_of("wait4"));
  EXPECT_EQ(g.sink.rec(3).ret, 43);
  EXPECT_EQ(g.backend.gated_skips, 1);
  EXPECT_EQ(g.tracer->stats().returns_unpaired, 0u);
}

TEST(LinuxTracer, ExitGroupLeavesNothingPending) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(77, 77, "true");
  g.enter64(0, t, nr_of("exit_group"), {0});
  g.enter64(1, g.thread(78, 78, "t2"), nr_of("exit"), {0});
  EXPECT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.tracer->stats().pending, 0u);
}

TEST(LinuxTracer, ReturnFromForkIsIgnored) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto parent = g.thread(90, 90, "sh");
  auto child = g.thread(91, 91, "sh");
  g.enter64(0, parent, nr_of("clone"));
  g.leave(1, child, 0);  // ret_from_fork -> syscall_exit_to_user_mode: no entry
  g.leave(0, parent, 91);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).tid, 90);
  EXPECT_EQ(g.sink.rec(1).ret, 91);
  EXPECT_EQ(g.tracer->stats().returns_unpaired, 1u);
}

TEST(LinuxTracer, RecycledTaskStructDoesNotInheritAnEntry) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(60, 60, "old");
  g.enter64(0, t, nr_of("read"));
  g.mem.write_u32(t.task + Synth::kPid, 61);  // the task died; its memory is a new task
  g.leave(0, t, 0);
  EXPECT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.tracer->stats().entries_lost, 1u);
}

TEST(LinuxTracer, ExecveFromANonLeaderThreadStillPairs) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto leader = g.thread(700, 700, "mt");
  auto t = g.thread(701, 700, "mt", leader.task);
  g.enter64(0, t, nr_of("execve"));
  g.mem.write_u32(t.task + Synth::kPid, 700);  // de_thread: it now has the leader's PID
  g.leave(0, t, 0);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).kind, Kind::sysret);
  EXPECT_EQ(g.sink.rec(1).nr, nr_of("execve"));
  EXPECT_EQ(g.sink.rec(1).tid, 700);
}

// --- pending entries keyed by pt_regs (the kernel has ret_from_fork) ----------

TEST(LinuxTracerForkAware, PairsAndRepeatsTheEntrysContext) {
  TracerGuest g(fork_aware_profile());
  g.boot();
  auto t = g.thread(300, 300, "cat");
  g.enter64(0, t, nr_of("read"), {3, 0x1000, 64});
  // The sysret carries the entry's context: the task is not read again.
  g.mem.write_str(t.task + Synth::kComm, "changed");
  g.leave(1, t, 12);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).kind, Kind::sysret);
  EXPECT_EQ(g.sink.rec(1).ret, 12);
  EXPECT_EQ(g.sink.rec(1).tid, 300);
  EXPECT_EQ(g.sink.rec(1).vcpu, 1u);
  EXPECT_EQ(g.sink.rec(1).thread(), "cat");
  EXPECT_EQ(g.tracer->stats().pending, 0u);
}

TEST(LinuxTracerForkAware, ThreadThatDiedInASyscallLeavesNoEntryForTheNextOnItsStack) {
  TracerGuest g(fork_aware_profile());
  g.boot();
  auto dead = g.thread(400, 400, "victim");
  g.enter64(0, dead, nr_of("wait4"));  // killed while blocked: never returns
  // A new task on the same kernel stack: its first exit comes from ret_from_fork.
  auto child = g.thread(401, 401, "child");
  child.regs = dead.regs;
  g.leave(0, child, 0, /*from_fork=*/true);
  EXPECT_EQ(g.sink.count(), 1u);  // no bogus wait4 return
  EXPECT_EQ(g.tracer->stats().entries_lost, 1u);
  EXPECT_EQ(g.tracer->stats().pending, 0u);
  g.enter64(0, child, nr_of("getpid"));
  g.leave(0, child, 401);
  ASSERT_EQ(g.sink.count(), 3u);
  EXPECT_EQ(g.sink.rec(2).nr, nr_of("getpid"));
  EXPECT_EQ(g.sink.rec(2).tid, 401);
  EXPECT_EQ(g.sink.rec(2).ret, 401);
}

TEST(LinuxTracerForkAware, ForkChildReturnWithoutEntryIsIgnored) {
  TracerGuest g(fork_aware_profile());
  g.boot();
  auto parent = g.thread(90, 90, "sh");
  auto child = g.thread(91, 91, "sh");
  g.enter64(0, parent, nr_of("clone"));
  g.leave(1, child, 0, /*from_fork=*/true);
  g.leave(0, parent, 91);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).tid, 90);
  EXPECT_EQ(g.sink.rec(1).ret, 91);
  EXPECT_EQ(g.tracer->stats().returns_unpaired, 1u);
  EXPECT_EQ(g.tracer->stats().entries_lost, 0u);
}

TEST(LinuxTracerForkAware, NamesReadAgainAfterPrctlAndExecve) {
  TracerGuest g(fork_aware_profile());
  g.boot();
  auto t = g.thread(500, 500, "before");
  g.enter64(0, t, nr_of("prctl"), {15 /* PR_SET_NAME */});
  g.mem.write_str(t.task + Synth::kComm, "after");
  g.leave(0, t, 0);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).thread(), "after");
  EXPECT_EQ(g.sink.rec(1).process(), "after");
  g.enter64(0, t, nr_of("execve"));
  g.mem.write_str(t.task + Synth::kComm, "newprog");
  g.leave(0, t, 0);
  ASSERT_EQ(g.sink.count(), 4u);
  EXPECT_EQ(g.sink.rec(3).process(), "newprog");
}

TEST(LinuxTracerForkAware, UserIdReadAgainAfterSetuidEvenAtTheSameCredAddress) {
  TracerGuest g(fork_aware_profile());
  g.boot();
  auto t = g.thread(800, 800, "su");
  g.enter64(0, t, nr_of("getpid"));
  g.leave(0, t, 800);
  EXPECT_EQ(g.sink.rec(0).uid, 0);
  g.enter64(0, t, nr_of("setuid"), {1000});
  // A new cred allocated where a freed one was: same pointer, new uid.
  g.mem.write_u32(TracerGuest::kCred + Synth::kUid, 1000);
  g.leave(0, t, 0);
  g.enter64(0, t, nr_of("getpid"));
  ASSERT_EQ(g.sink.count(), 5u);
  EXPECT_EQ(g.sink.rec(4).uid, 1000);
}

TEST(LinuxTracerForkAware, UnreadableExitFrameDropsTheEntry) {
  TracerGuest g(fork_aware_profile());
  g.boot();
  auto t = g.thread(600, 600, "x");
  g.enter64(0, t, nr_of("read"));
  g.on_cpu(0, t);
  g.cpus[0]->reg(vmi::Reg::rdi) = t.regs;
  g.cpus[0]->reg(vmi::Reg::rsp) = 0xffffc9ffff000000ull;  // unmapped stack pointer
  g.backend.fire(g.rt(Sym::exit_to_user), *g.cpus[0]);
  EXPECT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.tracer->stats().pending, 0u);
  EXPECT_GE(g.tracer->stats().read_failures, 1u);
}

TEST(LinuxTracer, Ia32ThroughIa32SysCall) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(300, 300, "prog32");
  g.on_cpu(0, t);
  const uint32_t open32 = nr_of("open", Abi::linux_ia32);
  g.mem.write_str(0x0804a000, "/tmp/x");
  g.mem.write_u64(t.regs + ptregs::bx, 0xffffffff0804a000ull);  // upper half ignored
  g.mem.write_u64(t.regs + ptregs::cx, 0x41);
  g.mem.write_u64(t.regs + ptregs::dx, 0x1ff);
  g.mem.write_u64(t.regs + ptregs::si, 4);
  g.mem.write_u64(t.regs + ptregs::di, 5);
  g.mem.write_u64(t.regs + ptregs::bp, 6);
  auto& c = *g.cpus[0];
  c.reg(Reg::rdi) = t.regs;
  c.reg(Reg::rsi) = open32;
  g.backend.fire(g.rt(Sym::ia32_sys_call), c);
  ASSERT_EQ(g.sink.count(), 1u);
  const auto& r = g.sink.rec(0);
  EXPECT_EQ(r.abi, Abi::linux_ia32);
  EXPECT_EQ(r.nr, open32);
  EXPECT_EQ(r.args[0], 0x0804a000u);
  EXPECT_EQ(r.args[1], 0x41u);
  EXPECT_EQ(r.args[2], 0x1ffu);
  EXPECT_EQ(r.module_name(), "ia32_sys_call");
  EXPECT_EQ(g.sink.blob(0, 0), "/tmp/x");
  g.leave(0, t, -2);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(1).abi, Abi::linux_ia32);
  EXPECT_EQ(g.sink.rec(1).nr, open32);
}

// i386's socketcall(call, args) under --args rich (socket_calls): reported as the call
// it makes, with that call's arguments from the u32 array (strace's view); its return
// paired with that call. Without it (raw, DRAKVUF's view): socketcall as called.
TEST(LinuxTracer, Ia32SocketcallIsTheCallItMakes) {
  for (bool rich : {false, true}) {
    syscalls::TracerConfig cfg;
    cfg.socket_calls = rich;
    TracerGuest g(dispatcher_profile(), cfg);
    g.boot();
    auto t = g.thread(301, 301, "prog32");
    g.on_cpu(0, t);
    auto& c = *g.cpus[0];
    auto socketcall = [&](uint32_t call, uint32_t args) {
      g.mem.write_u64(t.regs + ptregs::bx, call);
      g.mem.write_u64(t.regs + ptregs::cx, args);
      c.reg(Reg::rdi) = t.regs;
      c.reg(Reg::rsi) = nr_of("socketcall", Abi::linux_ia32);
      g.backend.fire(g.rt(Sym::ia32_sys_call), c);
    };
    const uint32_t words[4] = {3, 0x0804b000, 5, 0};  // send(3, "ping\n", 5, 0)
    g.mem.write(0x0804c000, words, sizeof words);
    g.mem.write_str(0x0804b000, "ping\n");
    socketcall(9, 0x0804c000);
    ASSERT_EQ(g.sink.count(), 1u);
    if (!rich) {
      EXPECT_EQ(g.sink.rec(0).nr, nr_of("socketcall", Abi::linux_ia32));
      EXPECT_EQ(g.sink.rec(0).nargs, 2u);
      EXPECT_EQ(g.sink.rec(0).args[0], 9u);
      EXPECT_EQ(g.sink.rec(0).args[1], 0x0804c000u);
      g.leave(0, t, 5);
      ASSERT_EQ(g.sink.count(), 2u);
      EXPECT_EQ(g.sink.rec(1).nr, nr_of("socketcall", Abi::linux_ia32));
      continue;
    }
    const syscalls::SyscallInfo* send = syscalls::lookup(Abi::linux_ia32, "send");
    ASSERT_NE(send, nullptr);
    EXPECT_EQ(g.sink.rec(0).nr, send->nr);
    EXPECT_EQ(g.sink.rec(0).nargs, 4u);
    EXPECT_EQ(g.sink.rec(0).args[0], 3u);
    EXPECT_EQ(g.sink.rec(0).args[1], 0x0804b000u);
    EXPECT_EQ(g.sink.rec(0).args[2], 5u);
    g.leave(0, t, 5);
    ASSERT_EQ(g.sink.count(), 2u);
    EXPECT_EQ(g.sink.rec(1).nr, send->nr);
    // socket(AF_UNIX, SOCK_STREAM, 0): the call with a number of its own gets it.
    const uint32_t sock[3] = {1, 1, 0};
    g.mem.write(0x0804c100, sock, sizeof sock);
    socketcall(1, 0x0804c100);
    EXPECT_EQ(g.sink.rec(2).nr, nr_of("socket", Abi::linux_ia32));
    EXPECT_EQ(g.sink.rec(2).args[0], 1u);
    g.leave(0, t, 3);
    // An unknown call or an unreadable array: socketcall itself, its two raw arguments.
    socketcall(99, 0x0804c000);
    EXPECT_EQ(g.sink.rec(4).nr, nr_of("socketcall", Abi::linux_ia32));
    EXPECT_EQ(g.sink.rec(4).args[0], 99u);
    g.leave(0, t, -22);
    socketcall(9, 0x0badf000);
    EXPECT_EQ(g.sink.rec(6).nr, nr_of("socketcall", Abi::linux_ia32));
    EXPECT_EQ(g.sink.rec(6).args[1], 0x0badf000u);
    g.leave(0, t, -14);
    EXPECT_EQ(g.tracer->stats().pending, 0u);
  }
}

TEST(LinuxTracer, StringCaptureLimitsPagesAndBadPointers) {
  syscalls::TracerConfig cfg;
  cfg.string_limit = 16;
  TracerGuest g(dispatcher_profile(), cfg);
  g.boot();
  auto t = g.thread(10, 10, "x");
  const uint32_t openat = nr_of("openat");
  Capture st;

  g.mem.write_str(0x500000, "/a/very/long/path/that/goes/on");
  g.enter64(0, t, openat, {0, 0x500000});
  EXPECT_EQ(g.sink.blob(0, 1, &st), "/a/very/long/pat");
  EXPECT_EQ(st, Capture::truncated);

  g.mem.write_str(0x501000, "0123456789abcdef");  // exactly the limit: complete
  g.enter64(0, t, openat, {0, 0x501000});
  EXPECT_EQ(g.sink.blob(1, 1, &st), "0123456789abcdef");
  EXPECT_EQ(st, Capture::ok);

  g.mem.write(0x602ffb, "/tmp/", 5);  // last 5 bytes of a page; the next is unmapped
  g.enter64(0, t, openat, {0, 0x602ffb});
  EXPECT_EQ(g.sink.blob(2, 1, &st), "/tmp/");
  EXPECT_EQ(st, Capture::truncated);

  g.enter64(0, t, openat, {0, 0xdead0000});
  EXPECT_EQ(g.sink.blob(3, 1, &st), "");
  EXPECT_EQ(st, Capture::unreadable);
  EXPECT_EQ(g.sink.rec(3).args[1], 0xdead0000u);  // the pointer itself is kept

  g.enter64(0, t, openat, {0, 0});
  EXPECT_EQ(g.sink.blob(4, 1, &st), "");
  EXPECT_EQ(st, Capture::unreadable);

  // Across a page boundary into a mapped page: one string.
  g.mem.write_str(0x700ffc, "/usr/bin");
  g.enter64(0, t, openat, {0, 0x700ffc});
  EXPECT_EQ(g.sink.blob(5, 1, &st), "/usr/bin");
  EXPECT_EQ(st, Capture::ok);
}

TEST(LinuxTracer, UnmappedTaskGivesMarkedContext) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  GuestThread ghost{0xffff8880ffff0000ull, 0xffffc90000100f58ull, 0, 0, ""};
  g.mem.map(ghost.regs, 168);
  g.enter64(0, ghost, nr_of("getpid"));
  ASSERT_EQ(g.sink.count(), 1u);
  const auto& r = g.sink.rec(0);
  EXPECT_EQ(r.pid, -1);
  EXPECT_EQ(r.tid, -1);
  EXPECT_EQ(r.uid, -1);
  EXPECT_TRUE(r.flags & event::kFlagContextUnknown);
  EXPECT_EQ(r.user(), "");
  EXPECT_GT(g.tracer->stats().read_failures, 0u);
}

TEST(LinuxTracer, UnreadablePtRegsIsFlaggedNotCrashing) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(11, 11, "x");
  g.on_cpu(0, t);
  auto& c = *g.cpus[0];
  c.reg(Reg::rdi) = 0xffffc900dead0000ull;  // unmapped
  c.reg(Reg::rsi) = nr_of("read");
  g.backend.fire(g.rt(Sym::x64_sys_call), c);
  ASSERT_EQ(g.sink.count(), 1u);
  EXPECT_TRUE(g.sink.rec(0).flags & event::kFlagArgsUnknown);
  EXPECT_EQ(g.sink.rec(0).args[0], 0u);
}

TEST(LinuxTracer, UnknownNumberKeepsSixRawArguments) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  auto t = g.thread(12, 12, "x");
  g.enter64(0, t, 1999, {1, 2, 3, 4, 5, 6});
  ASSERT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.sink.rec(0).nr, 1999u);
  EXPECT_EQ(g.sink.rec(0).nargs, 6);
  EXPECT_EQ(g.sink.rec(0).args[5], 6u);
}

TEST(LinuxTracer, DisableSysretPlacesNoReturnHook) {
  syscalls::TracerConfig cfg;
  cfg.disable_sysret = true;
  TracerGuest g(dispatcher_profile(), cfg);
  g.boot();
  EXPECT_FALSE(g.backend.hooked(g.rt(Sym::exit_to_user)));
  auto t = g.thread(13, 13, "x");
  g.enter64(0, t, nr_of("read"));
  g.leave(0, t, 0);
  EXPECT_EQ(g.sink.count(), 1u);
  EXPECT_EQ(g.tracer->stats().pending, 0u);
}

TEST(LinuxTracer, BannerMismatchStopsTracingWithOneMessage) {
  syscalls::TracerConfig cfg;
  cfg.profile_path = "guest.json";
  int fatal_calls = 0;
  std::string fatal_msg;
  cfg.on_fatal = [&](const std::string& m) { ++fatal_calls; fatal_msg = m; };
  TracerGuest g(dispatcher_profile(), cfg);
  g.mem.write_str(Synth::kBanner + TracerGuest::kSlide, "Linux version 5.10.0-8-amd64 x\n");
  g.tracer->start();
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(g.backend.run_kernel(*g.cpus[0]));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_EQ(g.backend.hooks.size(), 0u);
  EXPECT_EQ(fatal_calls, 1);
  EXPECT_NE(fatal_msg.find("guest.json: profile does not match the running kernel"),
            std::string::npos);
  EXPECT_EQ(err, "vmitrace: error: " + fatal_msg + "\n");
  EXPECT_EQ(g.tracer->error(), fatal_msg);
}

// Linux gives its own kernel space to when_in_kernel: the upper half, and i386's
// PAGE_OFFSET (0xc0000000); code below it is not offered.
TEST(LinuxTracer, KernelSpaceIsLinuxs) {
  TracerGuest g(dispatcher_profile());
  g.tracer->start();
  EXPECT_EQ(g.backend.kernel_space.range64.first, 0xffff800000000000u);
  EXPECT_EQ(g.backend.kernel_space.range64.last, UINT64_MAX);
  EXPECT_EQ(g.backend.kernel_space.range32.first, 0xc0000000u);
  EXPECT_EQ(g.backend.kernel_space.range32.last, 0xffffffffu);
  FakeVcpu user(g.mem, 0);
  user.reg(vmi::Reg::rip) = 0x55555555a000ull;
  EXPECT_FALSE(g.backend.run_kernel(user));
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_TRUE(g.backend.run_kernel(*g.cpus[0]));
  EXPECT_TRUE(g.tracer->tracing());
}

TEST(LinuxTracer, KernelNotReadableYetRetries) {
  TracerGuest g(dispatcher_profile());
  g.tracer->start();
  FakeMemory nothing;
  FakeVcpu early(nothing, 0);
  early.reg(vmi::Reg::rip) = g.cpus[0]->reg(vmi::Reg::rip);
  EXPECT_FALSE(g.backend.run_kernel(early));
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_TRUE(g.backend.run_kernel(*g.cpus[0]));
  EXPECT_TRUE(g.tracer->tracing());
}

TEST(LinuxTracer, ProfileOfTheOtherWordSizeIsAFatalError) {
  // A 64-bit profile, a 32-bit kernel running (paging on, no long mode, eip 0xc1...).
  TracerGuest g(dispatcher_profile());
  g.tracer->start();
  FakeMemory nothing;
  FakeVcpu bios(nothing, 0, 4);
  bios.reg(vmi::Reg::rip) = 0xfffffff0;  // reset vector, paging off: no verdict yet
  EXPECT_FALSE(g.backend.run_kernel(bios));
  EXPECT_EQ(g.tracer->error(), "");
  FakeVcpu k32(nothing, 0, 4);
  k32.reg(vmi::Reg::rip) = 0xc10017b0;
  k32.reg(vmi::Reg::cr0) = 0x80050033;
  EXPECT_TRUE(g.backend.run_kernel(k32));
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_NE(g.tracer->error().find("profile does not match the running kernel: the profile is for a 64-bit "
                                   "(x86-64) kernel, the guest runs a 32-bit kernel"),
            std::string::npos)
      << g.tracer->error();
}

TEST(LinuxTracer, HooksRemovedOnDestruction) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  g.tracer.reset();
  EXPECT_EQ(g.backend.hooks.size(), 0u);
}

TEST(LinuxTracer, DoSyscall64BothArgumentOrders) {
  auto p = synthetic_profile();
  add_symbol(p, "do_syscall_64", Sym::do_syscall_64);
  add_symbol(p, "syscall_exit_to_user_mode", Sym::exit_to_user);
  TracerGuest g(p);
  g.boot();
  auto t = g.thread(14, 14, "x");
  g.on_cpu(0, t);
  g.frame64(t, nr_of("close"), {7});
  auto& c = *g.cpus[0];
  c.reg(Reg::rdi) = t.regs;  // 5.11+: (regs, nr)
  c.reg(Reg::rsi) = nr_of("close");
  g.backend.fire(g.rt(Sym::do_syscall_64), c);
  c.reg(Reg::rdi) = nr_of("close");  // before: (nr, regs)
  c.reg(Reg::rsi) = t.regs;
  g.backend.fire(g.rt(Sym::do_syscall_64), c);
  ASSERT_EQ(g.sink.count(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(g.sink.rec(i).nr, nr_of("close"));
    EXPECT_EQ(g.sink.rec(i).args[0], 7u);
    EXPECT_EQ(g.sink.rec(i).module_name(), "do_syscall_64");
  }
}

TEST(LinuxTracer, Int80EmulationTakesNumberFromOrigAx) {
  auto p = synthetic_profile();
  add_symbol(p, "x64_sys_call", Sym::x64_sys_call);
  add_symbol(p, "int80_emulation", Sym::int80_emulation);
  add_symbol(p, "do_fast_syscall_32", Sym::do_fast_syscall_32);
  TracerGuest g(p);
  g.boot();
  EXPECT_NE(g.tracer->hook_plan().find("ia32 via int80_emulation+do_fast_syscall_32"),
            std::string::npos);
  auto t = g.thread(15, 15, "x");
  g.on_cpu(0, t);
  const uint32_t getpid32 = nr_of("getpid", Abi::linux_ia32);
  g.mem.write_u64(t.regs + ptregs::orig_ax, getpid32);
  g.mem.write_u64(t.regs + ptregs::sp, 0xffd0);  // user stack: vDSO put ebp there
  g.mem.write_u32(0xffd0, 0x66);
  g.mem.write_u64(t.regs + ptregs::bp, 0xffd0);
  auto& c = *g.cpus[0];
  c.reg(Reg::rdi) = t.regs;
  g.backend.fire(g.rt(Sym::int80_emulation), c);
  g.backend.fire(g.rt(Sym::do_fast_syscall_32), c);
  ASSERT_EQ(g.sink.count(), 2u);
  EXPECT_EQ(g.sink.rec(0).nr, getpid32);
  EXPECT_EQ(g.sink.rec(0).abi, Abi::linux_ia32);
  EXPECT_EQ(g.sink.rec(0).args[5], 0xffd0u);
  EXPECT_EQ(g.sink.rec(1).module_name(), "do_fast_syscall_32");
  EXPECT_EQ(g.sink.rec(1).args[5], 0x66u);
}

TEST(LinuxTracer, ReturnAddressFallbackWhenNoExitHook) {
  auto p = synthetic_profile();
  add_symbol(p, "x64_sys_call", Sym::x64_sys_call);
  TracerGuest g(p);
  g.boot();
  EXPECT_NE(g.tracer->hook_plan().find("return via return addresses"), std::string::npos);
  auto t = g.thread(16, 16, "x");
  constexpr uint64_t kStack = 0xffffc90000300e00ull, kRetSite = 0xffffffff8440abcdull;
  g.mem.write_u64(kStack, kRetSite);
  auto& c = *g.cpus[0];
  c.reg(Reg::rsp) = kStack;
  g.enter64(0, t, nr_of("read"), {0});
  EXPECT_TRUE(g.backend.hooked(kRetSite));
  g.enter64(0, t, nr_of("read"), {0});  // same site: hooked once
  EXPECT_EQ(g.backend.hooks.size(), 2u);  // x64_sys_call + the return site
  c.reg(Reg::rsp) = kStack + 8;
  c.reg(Reg::rax) = 5;  // x64_sys_call returns the syscall's value
  g.backend.fire(kRetSite, c);
  ASSERT_EQ(g.sink.count(), 3u);
  EXPECT_EQ(g.sink.rec(2).kind, Kind::sysret);
  EXPECT_EQ(g.sink.rec(2).ret, 5);
  EXPECT_EQ(g.tracer->stats().entries_lost, 1u);  // the first read's return never came
}

TEST(LinuxTracer, ConcurrentVcpusPairEveryReturn) {
  TracerGuest g(dispatcher_profile());
  g.boot();
  std::vector<GuestThread> threads;
  for (int i = 0; i < 8; ++i) threads.push_back(g.thread(2000 + i, 2000, "mt"));
  // Each vCPU thread drives its own guest threads; memory pages are all mapped up
  // front so the fake memory is not restructured concurrently.
  auto drive = [&](unsigned c) {
    FakeVcpu v(g.mem, c);
    v.reg(Reg::gs_base) = TracerGuest::gs(c);
    for (int round = 0; round < 500; ++round) {
      for (int k = 0; k < 4; ++k) {
        const auto& t = threads[c * 4 + k];
        g.mem.write_u64(TracerGuest::gs(c) + Synth::kPcpuHot + Synth::kCurrentOff, t.task);
        g.mem.write_u64(t.regs + ptregs::orig_ax, 0);
        v.reg(Reg::rdi) = t.regs;
        v.reg(Reg::rsi) = 39;  // getpid
        g.backend.fire(g.rt(Sym::x64_sys_call), v);
      }
      for (int k = 0; k < 4; ++k) {
        const auto& t = threads[c * 4 + k];
        g.mem.write_u64(TracerGuest::gs(c) + Synth::kPcpuHot + Synth::kCurrentOff, t.task);
        g.mem.write_u64(t.regs + ptregs::ax, static_cast<uint64_t>(t.pid));
        v.reg(Reg::rdi) = t.regs;
        g.backend.fire(g.rt(Sym::exit_to_user), v);
      }
    }
  };
  std::thread a(drive, 0), b(drive, 1);
  a.join();
  b.join();
  auto st = g.tracer->stats();
  EXPECT_EQ(st.syscalls, 4000u);
  EXPECT_EQ(st.sysrets, 4000u);
  EXPECT_EQ(st.entries_lost, 0u);
  EXPECT_EQ(st.returns_unpaired, 0u);
  EXPECT_EQ(st.pending, 0u);
  for (size_t i = 0; i < g.sink.count(); ++i) {
    const auto& r = g.sink.rec(i);
    if (r.kind == Kind::sysret) {
      EXPECT_EQ(r.ret, r.tid);
    }
  }
}

}  // namespace
}  // namespace vmitrace::testing

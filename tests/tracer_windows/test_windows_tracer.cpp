// The Windows tracer through syscalls::make_tracer on a synthetic guest (our own ISF):
// start-up from the IDT, hooks from the SSDT, the seed's NtCreateFile example field
// by field, handle names, returns paired per thread, filters, WoW64-free x86 guests,
// win32k with a win32k profile, and the bad inputs of the issue.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "os/windows/kernel.hpp"
#include "scenario.hpp"

namespace vmitrace::testing {
namespace {

using event::Extra;

const std::map<uint32_t, std::string> kServices = {
    {0x0f, "NtClose"}, {0x33, "NtOpenFile"}, {0x55, "NtCreateFile"}, {0x0e, "NtSetEvent"},
    {0x2c, "NtTerminateProcess"}, {0x03, "NtFlushWriteBuffer"}, {0x90, "NtCompleteConnectPort"}};

profile::Profile synth(unsigned ptr = 8) { return profile::Profile::parse(synthetic_windows_isf(ptr), "windows.json"); }

struct Tracer : ::testing::Test {
  Scenario s{synth(), true};
  void SetUp() override {
    s.g.arg_bytes[0x55] = 7 * 8;  // NtCreateFile: 11 arguments, 7 on the stack
    s.g.arg_bytes[0x33] = 2 * 8;
    s.build(kServices, 0xa0);
  }
};

TEST_F(Tracer, HooksEveryNamedServiceOnce) {
  s.start();
  ASSERT_TRUE(s.tracer->tracing()) << s.fatal;
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtCreateFile")));
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtClose")));
  // NtFlushWriteBuffer and NtCompleteConnectPort share one routine: one hook.
  int shared = 0;
  for (auto& [id, h] : s.backend.hooks) shared += h.first == s.g.runtime("NtFlushWriteBuffer");
  EXPECT_EQ(shared, 1);
  // 0xa0 entries, 6 distinct named routines + 0xa0 - 7 unnamed ones.
  EXPECT_EQ(s.backend.hooks.size(), 0xa0u - 1);
  EXPECT_NE(s.tracer->hook_plan().find("KeServiceDescriptorTable"), std::string::npos);
}

TEST_F(Tracer, NtCreateFileAsInTheSeedExample) {
  s.start();
  ASSERT_EQ(s.call("NtCreateFile", s.create_file_args()), 1);
  ASSERT_EQ(s.sink.count(), 1u);
  const event::Record& r = s.sink.rec(0);
  EXPECT_EQ(r.kind, event::Kind::syscall);
  EXPECT_EQ(r.os, event::Os::windows);
  EXPECT_EQ(r.abi, event::Abi::win_nt);
  EXPECT_EQ(r.nr, 85u);
  EXPECT_EQ(r.module_name(), "nt");
  EXPECT_EQ(r.pid, 4567);
  EXPECT_EQ(r.ppid, 1000);
  EXPECT_EQ(r.tid, WinGuest::kTid);
  EXPECT_EQ(r.uid, 1);
  EXPECT_EQ(r.user(), "");  // S-1-5-21-1001: no name, its SID (extra below)
  EXPECT_EQ(r.process(), "notepad.exe");
  EXPECT_EQ(r.vcpu, 0u);
  EXPECT_EQ(r.cr3, 0x1a2b3c4du);
  EXPECT_EQ(r.nargs, 11);
  EXPECT_EQ(r.args[0], 0u);
  EXPECT_EQ(r.args[1], 0x80100000u);
  EXPECT_EQ(r.args[8], 0x60u);
  EXPECT_EQ(r.flags, 0u);
  auto x = extras_of(r);
  EXPECT_EQ(ex(x, Extra::method, 0), "NtCreateFile");
  EXPECT_EQ(ex(x, Extra::user_sid, 0), std::string("\1\2\0\0\0\0\0\5\x15\0\0\0\xe9\3\0\0", 16));
  EXPECT_EQ(ex(x, Extra::previous_mode, 0), std::string(1, '\1'));
  EXPECT_EQ(ex(x, Extra::from_module, 0), utf16("\\windows\\system32\\ntdll.dll"));
  EXPECT_EQ(ex(x, Extra::from_parent_module, 0), utf16("\\Windows\\System32\\KernelBase.dll"));
  EXPECT_EQ(ex(x, Extra::image_path, 0), utf16("\\Device\\HarddiskVolume2\\Windows\\System32\\notepad.exe"));
  EXPECT_EQ(ex(x, Extra::arg_text, 2), utf16("\\??\\C:\\Users\\test\\document.txt"));
  EXPECT_EQ(x.count({Extra::handle_name, 0}), 0u);

  ASSERT_EQ(s.ret(0), 1);
  ASSERT_EQ(s.sink.count(), 2u);
  const event::Record& ret = s.sink.rec(1);
  EXPECT_EQ(ret.kind, event::Kind::sysret);
  EXPECT_EQ(ret.nr, 85u);
  EXPECT_EQ(ret.module_name(), "nt");
  EXPECT_EQ(ret.ret, 0);
  EXPECT_EQ(ret.pid, 4567);
  EXPECT_EQ(ret.process(), "notepad.exe");
  EXPECT_EQ(ret.cr3, 0x1a2b3c4du);
  EXPECT_EQ(ex(extras_of(ret), Extra::method, 0), "NtCreateFile");
  EXPECT_EQ(ex(extras_of(ret), Extra::user_sid, 0).size(), 16u);  // UserName on returns too
  EXPECT_EQ(s.tracer->stats().syscalls, 1u);
  EXPECT_EQ(s.tracer->stats().sysrets, 1u);
  EXPECT_EQ(s.tracer->stats().pending, 0u);
}

TEST_F(Tracer, FailureStatusIsKeptAs32Bits) {
  s.start();
  s.call("NtCreateFile", s.create_file_args());
  s.ret(0xffffffffc0000034ull);  // STATUS_OBJECT_NAME_NOT_FOUND sign-extended in rax
  ASSERT_EQ(s.sink.count(), 2u);
  EXPECT_EQ(s.sink.rec(1).ret, 0xc0000034);
}

TEST_F(Tracer, RootDirectoryAndObjectNameMakeOnePath) {
  s.start();
  auto args = s.create_file_args(WinGuest::kFileHandle, "document.txt");
  args.resize(6);
  ASSERT_EQ(s.call("NtOpenFile", args), 1);
  auto x = extras_of(s.sink.rec(0));
  EXPECT_EQ(ex(x, Extra::method, 0), "NtOpenFile");
  EXPECT_EQ(ex(x, Extra::arg_text, 2), utf16("\\Users\\test\\document.txt"));
  EXPECT_EQ(s.sink.rec(0).nargs, 6);
}

TEST_F(Tracer, HandlesAreNamed) {
  s.start();
  s.call("NtClose", {WinGuest::kFileHandle});
  s.call("NtSetEvent", {WinGuest::kEventHandle, 0});
  s.call("NtClose", {0xffffffff80001ac0ull});  // kernel handle: no name, no crash
  ASSERT_EQ(s.sink.count(), 3u);
  EXPECT_EQ(ex(extras_of(s.sink.rec(0)), Extra::handle_name, 0), utf16("\\Users\\test"));
  EXPECT_EQ(ex(extras_of(s.sink.rec(1)), Extra::handle_name, 0), utf16("\\BaseNamedObjects\\TestEvent"));
  EXPECT_EQ(extras_of(s.sink.rec(2)).count({Extra::handle_name, 0}), 0u);
}

TEST_F(Tracer, ReturnsPairPerThreadAndStack) {
  // A second thread of the same process, on another kernel stack.
  const uint64_t t2 = s.g.a.thread + 0x10000;
  s.g.wptr(t2 + s.g.L.thread_cid_tid, 0x4444);
  s.g.wptr(t2 + s.g.L.thread_process, s.g.a.process);
  s.start();
  s.call("NtClose", {WinGuest::kFileHandle}, s.g.a.thread);
  s.call("NtSetEvent", {WinGuest::kEventHandle, 0}, t2);
  s.ret(0x103, 0, s.g.a.thread);  // first thread returns first
  s.ret(0, 0, t2);
  ASSERT_EQ(s.sink.count(), 4u);
  EXPECT_EQ(s.sink.rec(2).tid, WinGuest::kTid);
  EXPECT_EQ(ex(extras_of(s.sink.rec(2)), Extra::method, 0), "NtClose");
  EXPECT_EQ(s.sink.rec(2).ret, 0x103);
  EXPECT_EQ(s.sink.rec(3).tid, 0x4444);
  EXPECT_EQ(ex(extras_of(s.sink.rec(3)), Extra::method, 0), "NtSetEvent");
  // A return nobody waits for is counted, not printed.
  s.ret(0);
  EXPECT_EQ(s.sink.count(), 4u);
  EXPECT_EQ(s.tracer->stats().returns_unpaired, 1u);
}

// The sysret repeats the entry's context: the return is the same thread (thread
// pointer, stack pointer and Cid checked), so what was read at the entry is the
// truthful context of the pair, whatever the process's memory says by then
// (DRAKVUF likewise reports the context at the event that starts the pair).
TEST_F(Tracer, SysretCarriesTheEntrysContext) {
  s.start();
  s.call("NtCreateFile", s.create_file_args());
  // Between entry and return: the EPROCESS's pid, parent and name, and the token's
  // session and user SID, rewritten (hostile memory, or a reused process object).
  s.g.wptr(s.g.a.process + s.g.L.proc_pid, 9999);
  s.g.wptr(s.g.a.process + s.g.L.proc_ppid, 8888);
  s.mem->write(s.g.a.process + s.g.L.proc_image_name, "evil.exe\0\0\0\0\0\0\0", 15);
  s.mem->write_u32(s.g.a.token + s.g.L.token_session, 7);
  const uint8_t system[12] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
  s.mem->write(s.g.a.sid, system, sizeof system);
  ASSERT_EQ(s.ret(0), 1);
  ASSERT_EQ(s.sink.count(), 2u);
  const event::Record& e = s.sink.rec(0);
  const event::Record& r = s.sink.rec(1);
  EXPECT_EQ(r.kind, event::Kind::sysret);
  EXPECT_EQ(r.pid, WinGuest::kPid);
  EXPECT_EQ(r.ppid, WinGuest::kPpid);
  EXPECT_EQ(r.tid, WinGuest::kTid);
  EXPECT_EQ(r.uid, WinGuest::kSession);
  EXPECT_EQ(r.process(), "notepad.exe");
  EXPECT_EQ(r.user(), "");
  EXPECT_EQ(r.flags, e.flags & ~event::kFlagArgsUnknown);
  EXPECT_EQ(ex(extras_of(r), Extra::user_sid, 0), ex(extras_of(e), Extra::user_sid, 0));
  EXPECT_NE(ex(extras_of(r), Extra::user_sid, 0), "<absent>");
  EXPECT_EQ(ex(extras_of(r), Extra::method, 0), "NtCreateFile");
  // The next entry reads the new state.
  s.call("NtClose", {WinGuest::kFileHandle});
  EXPECT_EQ(s.sink.rec(2).pid, 9999);
  EXPECT_EQ(s.sink.rec(2).process(), "evil.exe");
  EXPECT_EQ(s.sink.rec(2).user(), "SYSTEM");
}

// A thread object freed and reused by another thread at the same address (same
// stack slot) between entry and return: the Cid differs, the return is not paired.
TEST_F(Tracer, RecycledThreadObjectGivesNoSysret) {
  s.start();
  s.call("NtClose", {WinGuest::kFileHandle});
  s.g.wptr(s.g.a.thread + s.g.L.thread_cid_tid, WinGuest::kTid + 4);
  s.ret(0);
  EXPECT_EQ(s.sink.count(), 1u);
  EXPECT_EQ(s.tracer->stats().sysrets, 0u);
  EXPECT_EQ(s.tracer->stats().returns_unpaired, 1u);
  EXPECT_EQ(s.tracer->stats().pending, 0u);
}

// What an NtCreateFile entry reads on the synthetic guest, counted: the KPCR's
// thread, the context (thread, process, token windows, SID), the stack arguments, the
// trap frame (one window), FromModule's and FromParentModule's VAD walks (one read
// per node), the image path, the OBJECT_ATTRIBUTES chain. A regression guard: each
// read is a page walk on a live guest.
TEST_F(Tracer, EntryReadsAreBounded) {
  s.start();
  const uint64_t before = s.cpu.reads;
  s.call("NtCreateFile", s.create_file_args());
  ASSERT_EQ(s.sink.count(), 1u);
  EXPECT_LE(s.cpu.reads - before, 29u);
}

// A return reads the current thread pointer (KPCR) and the thread's Cid, nothing
// else: the context comes from the entry.
TEST_F(Tracer, ReturnReadsTwoGuestWords) {
  s.start();
  s.call("NtCreateFile", s.create_file_args());
  const uint64_t before = s.cpu.reads;
  ASSERT_EQ(s.ret(0), 1);
  ASSERT_EQ(s.sink.count(), 2u);
  EXPECT_LE(s.cpu.reads - before, 2u);
}

// The context's fields come in a few window reads: on this layout (Windows 10 x64
// offsets), KTHREAD Process/PreviousMode and ETHREAD.Cid are two windows, EPROCESS
// and TOKEN one each, then the SID pointer and the SID.
TEST_F(Tracer, ContextComesInFewReads) {
  oswin::WindowsKernel k(s.prof, "synth");
  EXPECT_EQ(k.process_windows().count, 1u);
  EXPECT_EQ(k.token_windows().count, 1u);
  const uint64_t before = s.cpu.reads;
  oswin::WinContext c;
  k.read_context(s.cpu, s.g.a.thread, c);
  EXPECT_EQ(s.cpu.reads - before, k.thread_windows().count + 1 + 1 + 2);
  EXPECT_LE(s.cpu.reads - before, 6u);
  EXPECT_EQ(c.pid, WinGuest::kPid);
  EXPECT_EQ(c.ppid, WinGuest::kPpid);
  EXPECT_EQ(c.tid, WinGuest::kTid);
  EXPECT_EQ(c.session, WinGuest::kSession);
  EXPECT_EQ(c.previous_mode, 1);
  EXPECT_STREQ(c.image_name, "notepad.exe");
  EXPECT_EQ(c.user_sid_len, 16u);
  EXPECT_EQ(c.flags, 0u);
}

// The EPROCESS window cut by an unmapped page (an EPROCESS placed so that its
// ImageFileName starts the next page, which is unmapped): the fields on the mapped
// side come from the window, the name is read alone and fails: empty, never stale.
TEST_F(Tracer, ContextWindowCutShortIsMarkedNotGarbage) {
  oswin::WindowsKernel k(s.prof, "synth");
  const auto& L = s.g.L;
  const uint64_t next_page = 0xffffa50c77771000ull, proc = next_page - L.proc_image_name;
  ASSERT_LT(L.proc_pid, L.proc_image_name);
  s.g.wptr(s.g.a.thread + L.thread_process, proc);
  s.g.wptr(proc + L.proc_pid, 321);
  s.g.wptr(proc + L.proc_ppid, 123);
  s.mem->write(proc + L.proc_image_name, "stale.exe", 9);
  s.mem->unmap(next_page);
  oswin::WinContext c;
  const uint64_t before = s.cpu.reads;
  k.read_context(s.cpu, s.g.a.thread, c);
  EXPECT_EQ(c.pid, 321);
  EXPECT_EQ(c.ppid, 123);
  EXPECT_STREQ(c.image_name, "");
  EXPECT_EQ(c.flags & event::kFlagContextUnknown, 0u);
  // thread windows + the EPROCESS window + the name alone (no token: none written)
  EXPECT_LE(s.cpu.reads - before, k.thread_windows().count + 4);
}

TEST_F(Tracer, TerminatingItselfLeavesNothingPending) {
  s.start();
  s.call("NtTerminateProcess", {~uint64_t{0}, 0});
  EXPECT_EQ(s.tracer->stats().pending, 0u);
  s.call("NtTerminateProcess", {0x88, 0});  // another process: it returns
  EXPECT_EQ(s.tracer->stats().pending, 1u);
}

// Kernel code calling a routine directly returns elsewhere: each distinct site is
// hooked once, up to a bound; past it, no state is kept (no sysret, nothing leaks).
TEST_F(Tracer, ReturnSitesAreBounded) {
  s.start();
  const size_t before = s.backend.hooks.size();
  for (uint64_t i = 0; i < 80; ++i) {
    s.cpu.reg(vmi::Reg::rsp) = s.kernel_sp();
    s.g.wptr(s.kernel_sp(), s.g.a.kbase + 0x300000 + i * 0x40);
    s.cpu.reg(vmi::Reg::rcx) = WinGuest::kFileHandle;
    s.backend.fire(s.g.runtime("NtClose"), s.cpu);
  }
  EXPECT_EQ(s.backend.hooks.size() - before, 64u);
  EXPECT_EQ(s.tracer->stats().syscalls, 80u);
  EXPECT_LE(s.tracer->stats().pending, 64u);
}

TEST_F(Tracer, FilterHooksOnlyTheListedServices) {
  const std::string path = ::testing::TempDir() + "/win_filter.txt";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("NtClose\nNtCreateFile\n", f);
  std::fclose(f);
  syscalls::TracerConfig cfg;
  cfg.filter_file = path;
  s.start(cfg);
  EXPECT_EQ(s.backend.hooks.size(), 2u);
  EXPECT_EQ(s.call("NtOpenFile", {0, 0, 0, 0, 0, 0}), 0);
  EXPECT_EQ(s.call("NtClose", {WinGuest::kFileHandle}), 1);
  std::remove(path.c_str());
}

TEST_F(Tracer, DisableSysretKeepsNoState) {
  syscalls::TracerConfig cfg;
  cfg.disable_sysret = true;
  s.start(cfg);
  s.call("NtClose", {WinGuest::kFileHandle});
  EXPECT_EQ(s.tracer->stats().pending, 0u);
  EXPECT_EQ(s.backend.hooks.size(), 0xa0u - 1);  // no return site hooked
}

TEST_F(Tracer, UnreadableArgumentsAreMarked) {
  s.start();
  auto args = s.create_file_args();
  s.call("NtCreateFile", args);
  s.mem->unmap(s.kernel_sp());  // the stack page with arguments 5..11
  s.cpu.reg(vmi::Reg::rsp) = s.kernel_sp();
  s.backend.fire(s.g.runtime("NtCreateFile"), s.cpu);
  ASSERT_EQ(s.sink.count(), 2u);
  EXPECT_NE(s.sink.rec(1).flags & event::kFlagArgsUnknown, 0u);
}

TEST_F(Tracer, UnreadableObjectAttributesAreMarked) {
  s.start();
  auto args = s.create_file_args();
  args[2] = 0x0000000012340000ull;  // unmapped user address
  s.call("NtCreateFile", args);
  event::Capture st = event::Capture::none;
  event::for_each_extra(s.sink.rec(0), [&](const event::ExtraView& v) {
    if (v.tag == Extra::arg_text && v.arg == 2) st = v.state;
  });
  EXPECT_EQ(st, event::Capture::unreadable);
}

TEST(TracerStart, GuidMismatchStopsWithAMessage) {
  Scenario s(synth(), true);
  s.build(kServices, 0xa0);
  s.g.image("0123456789ABCDEF0123456789ABCDEF", 3, s.g.a.kbase);
  s.start();
  EXPECT_FALSE(s.tracer->tracing());
  EXPECT_NE(s.fatal.find("windows.json: profile is for kernel PDB " + std::string(kSynthGuid)), std::string::npos)
      << s.fatal;
  EXPECT_EQ(s.tracer->error(), s.fatal);
  EXPECT_TRUE(s.backend.hooks.empty());
}

TEST(TracerStart, SsdtEntryOutsideTheKernelIsNotHooked) {
  Scenario s(synth(), true);
  s.build(kServices, 0xa0);
  s.mem->write_u32(s.g.runtime("KiServiceTable") + 0x0f * 4, static_cast<uint32_t>(int32_t(-0x4000000) << 4));
  s.start();
  ASSERT_TRUE(s.tracer->tracing()) << s.fatal;
  EXPECT_FALSE(s.backend.hooked(s.g.runtime("NtClose")));
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtCreateFile")));
}

TEST(TracerStart, WaitsUntilTheKernelIsReadable) {
  Scenario s(synth(), true);
  s.build(kServices, 0xa0);
  s.cpu.reg(vmi::Reg::gs_base) = 0;
  s.start();
  EXPECT_FALSE(s.tracer->tracing());
  s.cpu.reg(vmi::Reg::gs_base) = s.g.a.kpcr;
  EXPECT_TRUE(s.backend.run_kernel(s.cpu));
  EXPECT_TRUE(s.tracer->tracing());
}

TEST(TracerStart, BadWin32kProfileIsAClearError) {
  const std::string path = ::testing::TempDir() + "/not_win32k.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(synthetic_windows_isf(8).c_str(), f);  // an nt profile, no W32pServiceTable
  std::fclose(f);
  syscalls::TracerConfig cfg;
  cfg.win32k_profile = path;
  FakeBackend b;
  CollectSink sink;
  try {
    syscalls::make_tracer(cfg, synth(), b, sink);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": no W32pServiceTable symbol: not a win32k profile");
  }
  std::remove(path.c_str());
}

// --- 32-bit Windows: stdcall arguments on the stack, absolute SSDT entries ----------
TEST(Tracer32, NtCreateFileOnAnX86Kernel) {
  Scenario s(synth(4), false);
  s.g.arg_bytes[0x42] = 11 * 4;
  s.g.arg_bytes[0x32] = 4;
  s.build({{0x42, "NtCreateFile"}, {0x32, "NtClose"}}, 0x50);
  s.start();
  ASSERT_TRUE(s.tracer->tracing()) << s.fatal;
  ASSERT_EQ(s.call("NtCreateFile", s.create_file_args()), 1);
  const event::Record& r = s.sink.rec(0);
  EXPECT_EQ(r.nr, 0x42u);
  EXPECT_EQ(r.nargs, 11);
  EXPECT_EQ(r.args[1], 0x80100000u);
  EXPECT_EQ(r.args[8], 0x60u);
  EXPECT_EQ(r.pid, 4567);
  EXPECT_EQ(r.process(), "notepad.exe");
  auto x = extras_of(r);
  EXPECT_EQ(ex(x, Extra::arg_text, 2), utf16("\\??\\C:\\Users\\test\\document.txt"));
  EXPECT_EQ(ex(x, Extra::from_module, 0), utf16("\\windows\\system32\\ntdll.dll"));
  EXPECT_EQ(ex(x, Extra::from_parent_module, 0), utf16("\\Windows\\System32\\KernelBase.dll"));
  // `ret 44`: the stack pointer at the return site is past the arguments too. The
  // return reads two 32-bit words and repeats the entry's context.
  const uint64_t before = s.cpu.reads;
  EXPECT_EQ(s.ret(0xc0000022, 44), 1);
  EXPECT_LE(s.cpu.reads - before, 2u);
  ASSERT_EQ(s.sink.count(), 2u);
  EXPECT_EQ(s.sink.rec(1).ret, 0xc0000022);
  EXPECT_EQ(s.sink.rec(1).pid, 4567);
  EXPECT_EQ(s.sink.rec(1).tid, WinGuest::kTid);
  EXPECT_EQ(s.sink.rec(1).process(), "notepad.exe");
  s.call("NtClose", {WinGuest::kFileHandle});
  EXPECT_EQ(ex(extras_of(s.sink.rec(2)), Extra::handle_name, 0), utf16("\\Users\\test"));
}

// The tracer, not the backend, says where the kernel runs: 32-bit Windows from
// 0x80000000, below Linux's 0xc0000000. This kernel (0x82a00000) is offered to the
// tracer by a backend honouring the contract; user code never is.
TEST(Tracer32, KernelSpaceComesFromTheOsLayer) {
  Scenario s(synth(4), false);
  s.build({{0x32, "NtClose"}}, 0x50);
  const uint64_t kernel_ip = s.cpu.reg(vmi::Reg::rip);
  ASSERT_LT(kernel_ip, 0xc0000000u);
  s.cpu.reg(vmi::Reg::rip) = s.g.a.ntdll + 0x9d9e4;  // user mode: not offered
  s.start();
  EXPECT_EQ(s.backend.kernel_space.range32.first, 0x80000000u);
  EXPECT_EQ(s.backend.kernel_space.range32.last, 0xffffffffu);
  EXPECT_EQ(s.backend.kernel_space.range64.first, 0xffff800000000000u);
  EXPECT_EQ(s.backend.kernel_space.range64.last, UINT64_MAX);
  EXPECT_FALSE(s.tracer->tracing());
  s.cpu.reg(vmi::Reg::rip) = kernel_ip;
  EXPECT_TRUE(s.backend.run_kernel(s.cpu));
  EXPECT_TRUE(s.tracer->tracing()) << s.fatal;
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtClose")));
}

}  // namespace
}  // namespace vmitrace::testing

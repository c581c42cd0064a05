// win32k services with a win32k profile (-W): the shadow table's second descriptor,
// read only once session space is readable, routines named from the win32k
// profile, Module "win32k" and the index without the 0x1000 bias; a win32k profile
// of another build stops tracing with a message, so do hostile tables (count, place),
// an entry outside the module is skipped; x86 too. The guest's win32k module is
// win32k_guest.hpp (the fuzz targets' too). Plus WoW64 callers.
#include <gtest/gtest.h>

#include <fstream>

#include "scenario.hpp"
#include "win32k_guest.hpp"

namespace vmitrace::testing {
namespace {

using event::Extra;

using win32k::kGuid;
constexpr uint64_t kW32Base = win32k::kBase;

struct Win32k : ::testing::Test {
  Scenario s{profile::Profile::parse(synthetic_windows_isf(8), "windows.json"), true};
  std::string path = ::testing::TempDir() + "/win32kfull.json";

  void SetUp() override {
    s.g.arg_bytes[0x55] = 7 * 8;  // NtCreateFile: 11 arguments, 7 on the stack
    s.build({{0x55, "NtCreateFile"}, {0x0f, "NtClose"}}, 0x60);
    std::ofstream(path) << win32k::isf();
    win32k::descriptor(s.g, *s.mem);
  }
  void TearDown() override { std::remove(path.c_str()); }

  // The win32k image in session space (win32k_guest.hpp; index 6: NtUserGetMessage,
  // index 2: NtGdiBitBlt).
  void map_session(const char* guid) { win32k::map_image(s.prof, *s.mem, guid); }
  syscalls::TracerConfig cfg() {
    syscalls::TracerConfig c;
    c.win32k_profile = path;
    return c;
  }
};

TEST_F(Win32k, HookedOnceSessionSpaceIsReadable) {
  s.start(cfg());
  ASSERT_TRUE(s.tracer->tracing()) << s.fatal;  // nt first
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
  EXPECT_NE(s.tracer->hook_plan().find("win32k"), std::string::npos);
  map_session(kGuid);
  EXPECT_FALSE(s.backend.run_kernel(s.cpu));  // tried again only a millisecond later
  s.cpu.now += 2000000;
  EXPECT_TRUE(s.backend.run_kernel(s.cpu));
  EXPECT_TRUE(s.backend.hooked(kW32Base + 0x30000));
  EXPECT_TRUE(s.backend.hooked(kW32Base + 0x30100));

  s.cpu.reg(vmi::Reg::rsp) = s.kernel_sp();
  s.g.wptr(s.kernel_sp(), s.ret_site());
  s.cpu.reg(vmi::Reg::rcx) = 0xe5c2aff400;
  ASSERT_EQ(s.backend.fire(kW32Base + 0x30000, s.cpu), 1);
  const event::Record& r = s.sink.rec(0);
  EXPECT_EQ(r.abi, event::Abi::win_win32k);
  EXPECT_EQ(r.module_name(), "win32k");
  EXPECT_EQ(r.nr, 6u);
  EXPECT_EQ(r.args[0], 0xe5c2aff400u);
  EXPECT_EQ(ex(extras_of(r), Extra::method, 0), "NtUserGetMessage");
  EXPECT_EQ(s.ret(0x1ffffffff), 1);  // win32k returns are full register values
  EXPECT_EQ(s.sink.rec(1).ret, 0x1ffffffff);
  EXPECT_EQ(s.sink.rec(1).nr, 6u);
  EXPECT_EQ(s.sink.rec(1).module_name(), "win32k");
}

TEST_F(Win32k, GivesUpWhenNoSessionEverRuns) {
  s.start(cfg());
  s.cpu.now += 601ull * 1000000000;
  EXPECT_TRUE(s.backend.run_kernel(s.cpu));  // done: no more probes in kernel code
  EXPECT_TRUE(s.fatal.empty());
  map_session(kGuid);
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtClose")));
}

TEST_F(Win32k, ProfileOfAnotherBuildStopsTracing) {
  map_session("00000000000000000000000000000042");
  s.start(cfg());
  EXPECT_NE(s.fatal.find("a win32k profile of another build?"), std::string::npos) << s.fatal;
  EXPECT_NE(s.fatal.find(path + ": win32k profile is for PDB " + kGuid), std::string::npos) << s.fatal;
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
}

TEST_F(Win32k, FilterAppliesToWin32kToo) {
  const std::string fpath = ::testing::TempDir() + "/w32_filter.txt";
  std::ofstream(fpath) << "NtGdiBitBlt\nNtClose\nNtNoSuchService\n";
  map_session(kGuid);
  auto c = cfg();
  c.filter_file = fpath;
  s.start(c);
  EXPECT_EQ(s.backend.hooks.size(), 2u);
  EXPECT_TRUE(s.backend.hooked(kW32Base + 0x30100));
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtClose")));
  std::remove(fpath.c_str());
}

// Hostile win32k tables: an entry pointing outside the win32k module (an SSDT hook,
// or garbage) is skipped with a warning and the others are hooked; an implausible
// service count, or a table outside kernel space, stops tracing with a message.
TEST_F(Win32k, EntryOutsideTheModuleIsSkipped) {
  map_session(kGuid);
  const uint64_t table = kW32Base + win32k::kTableRva;
  s.mem->write_u32(table + 6 * 4, static_cast<uint32_t>(int32_t(-0x4000000) << 4));  // far below the image
  ::testing::internal::CaptureStderr();
  s.start(cfg());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.fatal.empty()) << s.fatal;
  EXPECT_NE(err.find("win32k service 6 points outside the module"), std::string::npos) << err;
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
  EXPECT_FALSE(s.backend.hooked(table - 0x4000000));
  EXPECT_TRUE(s.backend.hooked(kW32Base + 0x30100));  // NtGdiBitBlt
}

// A prototype whose argument count the table contradicts (a win32k of another build
// changed the service) is named in a warning; the service is still traced.
TEST_F(Win32k, PrototypeCountAgainstTheTable) {
  map_session(kGuid);
  const uint64_t table = kW32Base + win32k::kTableRva;
  uint32_t e = 0;  // NtGdiBitBlt: 11 arguments, 7 on the stack
  ASSERT_EQ(s.mem->read(table + 2 * 4, &e, 4), 4u);
  s.mem->write_u32(table + 2 * 4, (e & ~0xfu) | 3);
  ::testing::internal::CaptureStderr();
  s.start(cfg());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("win32k: 1 prototype disagrees with the service table's argument count (NtGdiBitBlt (11, "
                     "table 7))"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("warning: nt: "), std::string::npos) << err;  // the nt prototypes agree
  EXPECT_TRUE(s.backend.hooked(kW32Base + 0x30100));
}

TEST_F(Win32k, ImplausibleCountStopsTracing) {
  map_session(kGuid);
  win32k::descriptor(s.g, *s.mem, 100000);
  s.start(cfg());
  EXPECT_NE(s.fatal.find("implausible limit 100000"), std::string::npos) << s.fatal;
  EXPECT_EQ(s.fatal.rfind(path + ": ", 0), 0u) << s.fatal;
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30100));
}

TEST_F(Win32k, TableOutsideKernelSpaceStopsTracing) {
  const uint64_t shadow = s.g.runtime("KeServiceDescriptorTableShadow");
  s.g.wptr(shadow + 32, 0x7ff612340000ull);  // a user-space address, nothing mapped there
  s.start(cfg());
  EXPECT_NE(s.fatal.find("win32k service table at 0x7ff612340000 is not in kernel space"), std::string::npos)
      << s.fatal;
}

// 32-bit Windows: the shadow descriptor's entries are 4 bytes, the table holds absolute
// addresses and a byte table gives each service's argument bytes (stdcall: `ret N`).
TEST(Win32kX86, TracedFromTheShadowTable) {
  Scenario s(profile::Profile::parse(synthetic_windows_isf(4), "windows32.json"), false);
  s.g.arg_bytes[0x32] = 4;
  s.build({{0x32, "NtClose"}}, 0x50);
  const std::string path = ::testing::TempDir() + "/win32k32.json";
  std::ofstream(path) << win32k::isf(kGuid, 4);
  win32k::descriptor(s.g, *s.mem);
  win32k::map_image(s.prof, *s.mem);
  syscalls::TracerConfig c;
  c.win32k_profile = path;
  s.start(c);
  ASSERT_TRUE(s.fatal.empty()) << s.fatal;
  const uint64_t get_message = win32k::kBase32 + 0x30000, bitblt = win32k::kBase32 + 0x30100;
  ASSERT_TRUE(s.backend.hooked(get_message));
  ASSERT_TRUE(s.backend.hooked(bitblt));
  ASSERT_EQ(s.call_at(bitblt, {0x1001, 0, 0, 640, 480, 0x1002, 0, 0, 0xcc0020, 0, 0}), 1);
  const event::Record& r = s.sink.rec(0);
  EXPECT_EQ(r.abi, event::Abi::win_win32k);
  EXPECT_EQ(r.module_name(), "win32k");
  EXPECT_EQ(r.nr, 2u);
  EXPECT_EQ(r.nargs, 11);
  EXPECT_EQ(r.args[3], 640u);
  EXPECT_EQ(r.args[8], 0xcc0020u);
  EXPECT_EQ(ex(extras_of(r), Extra::method, 0), "NtGdiBitBlt");
  EXPECT_EQ(s.ret(1, 44), 1);  // `ret 44`: paired past the arguments
  EXPECT_EQ(s.sink.rec(1).nr, 2u);
  std::remove(path.c_str());
}

// WoW64: a 32-bit process calls the 64-bit services through the wow64 layer; the
// syscall comes from 64-bit ntdll, whose caller is wow64cpu.dll (FromParentModule).
TEST(Wow64, FromModuleShowsTheWow64Layer) {
  Scenario s(profile::Profile::parse(synthetic_windows_isf(8), "windows.json"), true);
  s.build({{0x0f, "NtClose"}}, 0x20);
  const uint64_t wow64cpu = 0x77a10000, node = s.g.a.vad_kb + 0x2000;
  s.g.vad(node, wow64cpu, 0x10000, "\\Windows\\System32\\wow64cpu.dll", 0, 0);
  s.g.wptr(s.g.a.vad_kb + s.g.L.vad_left, node);  // below kernelbase
  const uint64_t usp = s.g.a.ustack + 0xa38;
  s.g.wptr(usp, wow64cpu + 0x1d1b);
  s.g.wptr(s.g.a.process + s.g.L.proc_wow64, 0xffffa50c77770000ull);
  s.start();
  s.call("NtClose", {WinGuest::kFileHandle});
  auto x = extras_of(s.sink.rec(0));
  EXPECT_EQ(ex(x, Extra::from_module, 0), utf16("\\windows\\system32\\ntdll.dll"));
  EXPECT_EQ(ex(x, Extra::from_parent_module, 0), utf16("\\Windows\\System32\\wow64cpu.dll"));
}

// A caller outside any system DLL has no FromParentModule (absent, never empty).
TEST(Wow64, NoParentForOrdinaryCallers) {
  Scenario s(profile::Profile::parse(synthetic_windows_isf(8), "windows.json"), true);
  s.build({{0x0f, "NtClose"}}, 0x20);
  s.g.wptr(s.g.a.trap + s.g.L.trap_ip, s.g.a.kernelbase + 0x100);
  s.start();
  s.call("NtClose", {WinGuest::kFileHandle});
  auto x = extras_of(s.sink.rec(0));
  EXPECT_EQ(ex(x, Extra::from_module, 0), utf16("\\Windows\\System32\\KernelBase.dll"));
  EXPECT_EQ(x.count({Extra::from_parent_module, 0}), 0u);
}

}  // namespace
}  // namespace vmitrace::testing

// win32k services with a win32k profile (-W): the shadow table's second descriptor,
// read only once session space is readable, routines named from the win32k
// profile, Module "win32k" and the index without the 0x1000 bias; a win32k profile
// of another build stops tracing with a message. Plus WoW64 callers.
#include <gtest/gtest.h>

#include <fstream>

#include "scenario.hpp"

namespace vmitrace::testing {
namespace {

using event::Extra;

constexpr const char* kW32Guid = "A1B2C3D4E5F60718293A4B5C6D7E8F90";
constexpr uint64_t kTableRva = 0x40000, kArgRva = 0x41000;
constexpr uint64_t kW32Base = 0xffffd2c4a0e00000ull;

std::string win32k_isf(const char* guid) {
  return std::string("{\"metadata\": {\"format\": \"6.1.0\", \"producer\": {\"name\": \"t\", \"version\": \"1\"}, "
                     "\"windows\": {\"pdb\": {\"GUID\": \"") + guid + "\", \"age\": 2, \"database\": \"win32kfull.pdb\", "
         "\"machine_type\": 34404}}}, \"base_types\": {\"pointer\": {\"kind\": \"int\", \"size\": 8, \"signed\": false, "
         "\"endian\": \"little\"}}, \"user_types\": {}, \"enums\": {}, \"symbols\": {"
         "\"W32pServiceTable\": {\"address\": " + std::to_string(kTableRva) + "}, "
         "\"NtUserGetMessage\": {\"address\": 196608}, \"NtGdiBitBlt\": {\"address\": 196864}}}";
}

struct Win32k : ::testing::Test {
  Scenario s{profile::Profile::parse(synthetic_windows_isf(8), "windows.json"), true};
  std::string path = ::testing::TempDir() + "/win32kfull.json";

  void SetUp() override {
    s.build({{0x55, "NtCreateFile"}, {0x0f, "NtClose"}}, 0x60);
    std::ofstream(path) << win32k_isf(kW32Guid);
    // Shadow table: [0] = nt's descriptor, [1] = win32k's.
    const uint64_t shadow = s.g.runtime("KeServiceDescriptorTableShadow");
    s.g.wptr(shadow + 32, kW32Base + kTableRva);
    s.mem->write_u32(shadow + 32 + 16, 8);
    s.g.wptr(shadow + 32 + 24, kW32Base + kArgRva);
  }
  void TearDown() override { std::remove(path.c_str()); }

  // The win32k image in session space: header + table (index 6: NtUserGetMessage,
  // index 2: NtGdiBitBlt, the others unnamed).
  void map_session(const char* guid) {
    WinGuest w(s.prof, *s.mem);
    w.image(guid, 2, kW32Base);
    const uint64_t table = kW32Base + kTableRva;
    for (uint32_t i = 0; i < 8; ++i) {
      const uint64_t r = i == 6 ? 0x30000 : i == 2 ? 0x30100 : 0x50000 + i * 16;
      s.mem->write_u32(table + i * 4, static_cast<uint32_t>(((kW32Base + r - table) << 4) | (i == 2 ? 7 : 0)));
    }
  }
  syscalls::PluginConfig cfg() {
    syscalls::PluginConfig c;
    c.win32k_profile = path;
    return c;
  }
};

TEST_F(Win32k, HookedOnceSessionSpaceIsReadable) {
  s.start(cfg());
  ASSERT_TRUE(s.plugin->tracing()) << s.fatal;  // nt first
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
  EXPECT_NE(s.plugin->hook_plan().find("win32k"), std::string::npos);
  map_session(kW32Guid);
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
  map_session(kW32Guid);
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtClose")));
}

TEST_F(Win32k, ProfileOfAnotherBuildStopsTracing) {
  map_session("00000000000000000000000000000042");
  s.start(cfg());
  EXPECT_NE(s.fatal.find("a win32k profile of another build?"), std::string::npos) << s.fatal;
  EXPECT_NE(s.fatal.find(path + ": win32k profile is for PDB " + kW32Guid), std::string::npos) << s.fatal;
  EXPECT_FALSE(s.backend.hooked(kW32Base + 0x30000));
}

TEST_F(Win32k, FilterAppliesToWin32kToo) {
  const std::string fpath = ::testing::TempDir() + "/w32_filter.txt";
  std::ofstream(fpath) << "NtGdiBitBlt\nNtClose\nNtNoSuchService\n";
  map_session(kW32Guid);
  auto c = cfg();
  c.filter_file = fpath;
  s.start(c);
  EXPECT_EQ(s.backend.hooks.size(), 2u);
  EXPECT_TRUE(s.backend.hooked(kW32Base + 0x30100));
  EXPECT_TRUE(s.backend.hooked(s.g.runtime("NtClose")));
  std::remove(fpath.c_str());
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

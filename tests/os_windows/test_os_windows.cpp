// The Windows guest model on a synthetic guest (our own small ISF, real x86-64 page
// tables): kernel identity, process context, handles -> names, VAD -> module, the
// service table, and hostile memory (mismatched GUID, loops, garbage tables).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/error.hpp"
#include "os/windows/kernel.hpp"
#include "os/windows/pe.hpp"
#include "os/windows/ssdt.hpp"
#include "synthetic_isf.hpp"
#include "win_guest.hpp"

namespace vmitrace::testing {
namespace {

std::string text(const oswin::WideText& t) { return std::string(reinterpret_cast<const char*>(t.bytes), t.len); }

struct Fixture : ::testing::Test {
  profile::Profile prof = profile::Profile::parse(synthetic_windows_isf(8), "synthetic.json");
  PagedMemory mem;
  WinGuest g{prof, mem};
  MemVcpu cpu{mem, 8};
  oswin::WindowsKernel k{prof, "synthetic.json"};

  void SetUp() override {
    g.image(kSynthGuid, 1, g.a.kbase);
    g.kpcr();
    g.process("notepad.exe", "\\Device\\HarddiskVolume2\\Windows\\System32\\notepad.exe");
    g.vads("\\windows\\system32\\ntdll.dll", "\\Windows\\System32\\KernelBase.dll");
    g.objects("\\Users\\test");
    cpu.reg(vmi::Reg::gs_base) = g.a.kpcr;
    cpu.reg(vmi::Reg::cr3) = mem.cr3();
  }
  void locate() {
    std::string err;
    ASSERT_EQ(k.locate(cpu, &err), oswin::WindowsKernel::Locate::found) << err;
    k.find_file_type(cpu);
  }
};

TEST(WinLayout, SyntheticProfileResolves) {
  auto p = profile::Profile::parse(synthetic_windows_isf(8), "s.json");
  auto L = oswin::resolve_layout(p, "s.json");
  EXPECT_EQ(L.ptr, 8u);
  EXPECT_EQ(L.pcr_current_thread, 0x188u);
  EXPECT_EQ(L.thread_cid_tid, 0x480u);
  EXPECT_TRUE(L.handle_pointer_bits);
  EXPECT_EQ(L.handle_bits_pos, 20u);
  EXPECT_EQ(L.vad_vpn_size, 4u);
  EXPECT_FALSE(L.vad_avl_table);
  auto L32 = oswin::resolve_layout(profile::Profile::parse(synthetic_windows_isf(4), "s32.json"), "s32.json");
  EXPECT_EQ(L32.ptr, 4u);
  EXPECT_EQ(L32.thread_cid_tid, 0x47cu);
  EXPECT_EQ(L32.us_buffer, 4u);
}

TEST(WinLayout, MissingEssentialsIsAClearError) {
  auto p = profile::Profile::parse(synthetic_windows_isf(8), "s.json");
  p.user_types.erase("_KPRCB");
  try {
    oswin::resolve_layout(p, "s.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "s.json: Windows profile lacks _KPRCB.CurrentThread");
  }
  // Each required entry of the layout table names the profile and its first field path.
  const std::pair<const char*, const char*> required[] = {
      {"_KTHREAD", "s.json: Windows profile lacks _KTHREAD.Process"},
      {"_ETHREAD", "s.json: Windows profile lacks _ETHREAD.Cid.UniqueThread"},
      {"_EPROCESS", "s.json: Windows profile lacks _EPROCESS.UniqueProcessId"},
      {"_UNICODE_STRING", "s.json: Windows profile lacks _UNICODE_STRING.Length"}};
  for (const auto& [type, message] : required) {
    auto r = profile::Profile::parse(synthetic_windows_isf(8), "s.json");
    r.user_types.erase(type);
    try {
      oswin::resolve_layout(r, "s.json");
      ADD_FAILURE() << type << ": no error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), message);
    }
  }
  auto q = profile::Profile::parse(synthetic_windows_isf(8), "s.json");
  q.symbols.erase("KeServiceDescriptorTable");
  try {
    oswin::resolve_layout(q, "s.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "s.json: Windows profile lacks the symbol KeServiceDescriptorTable");
  }
}

TEST_F(Fixture, PeIdentityReadsTheCodeViewRecord) {
  oswin::PeIdentity id;
  ASSERT_TRUE(oswin::read_pe_identity(cpu, g.a.kbase, id));
  EXPECT_EQ(id.pdb_guid, kSynthGuid);
  EXPECT_EQ(id.pdb_age, 1u);
  EXPECT_EQ(id.pdb_name, "ntkrnlmp.pdb");
  EXPECT_EQ(id.size_of_image, g.a.kimage_size);
  EXPECT_FALSE(oswin::read_pe_identity(cpu, g.a.kbase + 0x1000, id));  // no MZ there
}

TEST_F(Fixture, LocatesTheKernelThroughTheIdt) {
  locate();
  EXPECT_EQ(k.base(), g.a.kbase);
  EXPECT_EQ(k.image_size(), g.a.kimage_size);
}

TEST_F(Fixture, LocatesByScanningWhenTheHandlerRvaIsUnknown) {
  // Handler inside the image, but at an address the profile does not name.
  prof.symbols.erase("KiDivideErrorFault");
  oswin::WindowsKernel k2(prof, "s");
  const uint64_t handler = g.a.kbase + 0x123450;
  uint8_t gate[16] = {};
  gate[0] = handler & 0xff, gate[1] = (handler >> 8) & 0xff, gate[6] = (handler >> 16) & 0xff,
  gate[7] = (handler >> 24) & 0xff;
  const uint32_t high = static_cast<uint32_t>(handler >> 32);
  std::memcpy(gate + 8, &high, 4);
  mem.write(g.a.idt, gate, 16);
  std::string err;
  ASSERT_EQ(k2.locate(cpu, &err), oswin::WindowsKernel::Locate::found) << err;
  EXPECT_EQ(k2.base(), g.a.kbase);
}

TEST_F(Fixture, GuidMismatchIsReportedNotTraced) {
  g.image("00000000000000000000000000000001", 2, g.a.kbase);
  std::string err;
  EXPECT_EQ(k.locate(cpu, &err), oswin::WindowsKernel::Locate::mismatch);
  EXPECT_NE(err.find("profile is for kernel PDB 112233445566778899AABBCCDDEEFF00 age 1"), std::string::npos) << err;
  EXPECT_NE(err.find("00000000000000000000000000000001 age 2"), std::string::npos) << err;
}

TEST_F(Fixture, NoKernelYetMeansRetry) {
  cpu.reg(vmi::Reg::gs_base) = 0;
  cpu.reg(vmi::Reg::k_gs_base) = 0;
  std::string err;
  EXPECT_EQ(k.locate(cpu, &err), oswin::WindowsKernel::Locate::retry);
}

TEST_F(Fixture, ProcessContext) {
  locate();
  const uint64_t t = k.current_thread(cpu);
  EXPECT_EQ(t, g.a.thread);
  oswin::WinContext c;
  k.read_context(cpu, t, c);
  EXPECT_EQ(c.pid, WinGuest::kPid);
  EXPECT_EQ(c.ppid, WinGuest::kPpid);
  EXPECT_EQ(c.tid, WinGuest::kTid);
  EXPECT_EQ(c.session, 1);
  EXPECT_EQ(c.previous_mode, 1);
  EXPECT_STREQ(c.image_name, "notepad.exe");
  // S-1-5-21-1001 is no well-known account: its bytes, for the formatter.
  EXPECT_STREQ(c.user_name, "");
  ASSERT_EQ(c.user_sid_len, 16u);
  EXPECT_EQ(c.user_sid[1], 2u);
  EXPECT_EQ(c.user_sid[12], 0xe9u);
  EXPECT_EQ(c.flags, 0u);
  oswin::WideText path;
  ASSERT_TRUE(k.image_path(cpu, c, path));
  EXPECT_EQ(text(path), utf16("\\Device\\HarddiskVolume2\\Windows\\System32\\notepad.exe"));
}

TEST_F(Fixture, SystemSidIsNamed) {
  locate();
  const uint8_t sid[12] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};  // S-1-5-18
  mem.write(g.a.sid, sid, sizeof sid);
  oswin::WinContext c;
  k.read_context(cpu, k.current_thread(cpu), c);
  EXPECT_STREQ(c.user_name, "SYSTEM");
}

TEST_F(Fixture, DomainSidIsKeptWhole) {
  locate();
  // S-1-5-21-111-222-333-1001: 5 sub-authorities, 28 bytes.
  const uint8_t sid[28] = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 111, 0, 0, 0, 222, 0, 0, 0,
                           0x4d, 1, 0, 0, 0xe9, 3, 0, 0};
  mem.write(g.a.sid, sid, sizeof sid);
  oswin::WinContext c;
  k.read_context(cpu, k.current_thread(cpu), c);
  EXPECT_STREQ(c.user_name, "");
  ASSERT_EQ(c.user_sid_len, sizeof sid);
  EXPECT_EQ(std::memcmp(c.user_sid, sid, sizeof sid), 0);
}

TEST_F(Fixture, HostileSidCountsFallBackToSessionId) {
  locate();
  // SubAuthorityCount is guest data: 0 and anything above 15 are no SID (no read
  // beyond 8 + 4 * 15 bytes); a bad revision neither. UserName stays DRAKVUF's label.
  for (uint8_t count : {uint8_t{0}, uint8_t{16}, uint8_t{200}, uint8_t{255}}) {
    const uint8_t hdr[8] = {1, count, 0, 0, 0, 0, 0, 5};
    mem.write(g.a.sid, hdr, sizeof hdr);
    oswin::WinContext c;
    k.read_context(cpu, k.current_thread(cpu), c);
    EXPECT_EQ(c.user_sid_len, 0u) << int(count);
    EXPECT_STREQ(c.user_name, "SessionID") << int(count);
  }
  const uint8_t bad_revision[8] = {2, 1, 0, 0, 0, 0, 0, 5};
  mem.write(g.a.sid, bad_revision, sizeof bad_revision);
  oswin::WinContext c;
  k.read_context(cpu, k.current_thread(cpu), c);
  EXPECT_EQ(c.user_sid_len, 0u);
  // The most a SID may have: 15 sub-authorities, 68 bytes.
  uint8_t big[oswin::kMaxSidBytes] = {1, 15, 0, 0, 0, 0, 0, 5};
  for (size_t i = 8; i < sizeof big; ++i) big[i] = static_cast<uint8_t>(i);
  mem.write(g.a.sid, big, sizeof big);
  oswin::WinContext d;
  k.read_context(cpu, k.current_thread(cpu), d);
  EXPECT_EQ(d.user_sid_len, oswin::kMaxSidBytes);
  EXPECT_EQ(std::memcmp(d.user_sid, big, sizeof big), 0);
}

TEST_F(Fixture, UnreadableThreadIsMarked) {
  locate();
  oswin::WinContext c;
  k.read_context(cpu, 0xffffa50c99990000ull, c);  // unmapped
  EXPECT_EQ(c.pid, -1);
  EXPECT_NE(c.flags & event::kFlagContextUnknown, 0u);
}

TEST_F(Fixture, HandleNames) {
  locate();
  oswin::WideText t;
  ASSERT_TRUE(k.handle_name(cpu, g.a.process, WinGuest::kFileHandle, t));
  EXPECT_EQ(text(t), utf16("\\Users\\test"));
  t.clear();
  ASSERT_TRUE(k.handle_name(cpu, g.a.process, WinGuest::kEventHandle, t));
  EXPECT_EQ(text(t), utf16("\\BaseNamedObjects\\TestEvent"));
  t.clear();
  EXPECT_FALSE(k.handle_name(cpu, g.a.process, 0x4c, t));  // free entry
  EXPECT_FALSE(k.handle_name(cpu, g.a.process, 0x7fffffc, t));  // past the one-level table
}

TEST_F(Fixture, GarbageHandleTablesGiveNoName) {
  locate();
  oswin::WideText t;
  // Level 3 does not exist; a second-level pointer into unmapped memory; a self loop.
  mem.write_u64(g.a.handle_table + g.L.table_code, g.a.handle_page | 3);
  EXPECT_FALSE(k.handle_name(cpu, g.a.process, WinGuest::kFileHandle, t));
  mem.write_u64(g.a.handle_table + g.L.table_code, 0xffffc001deadb000ull | 1);
  EXPECT_FALSE(k.handle_name(cpu, g.a.process, WinGuest::kFileHandle, t));
  mem.write_u64(g.a.handle_table + g.L.table_code, g.a.handle_page);
  mem.write_u64(g.a.handle_page + (WinGuest::kFileHandle >> 2) * 16, 0x00000000fffff001ull);  // user-space header
  EXPECT_FALSE(k.handle_name(cpu, g.a.process, WinGuest::kFileHandle, t));
  // A directory chain that points at itself ends at the depth bound.
  g.named(g.a.dir_header, 3, "Loop", g.a.dir_header + g.L.header_body);
  t.clear();
  ASSERT_TRUE(k.handle_name(cpu, g.a.process, WinGuest::kEventHandle, t));
  EXPECT_EQ(text(t), utf16("\\Loop\\TestEvent"));
}

TEST_F(Fixture, ModulesFromTheVadTree) {
  locate();
  oswin::WideText t;
  ASSERT_TRUE(k.module_of(cpu, g.a.process, g.a.ntdll + 0x9d9e4, t));
  EXPECT_EQ(text(t), utf16("\\windows\\system32\\ntdll.dll"));
  t.clear();
  ASSERT_TRUE(k.module_of(cpu, g.a.process, g.a.kernelbase + 0x5a3c, t));
  EXPECT_EQ(text(t), utf16("\\Windows\\System32\\KernelBase.dll"));
  t.clear();
  EXPECT_FALSE(k.module_of(cpu, g.a.process, 0x10000000, t));  // no VAD there
}

// Each VAD node walked costs one guest read (its children, range and subsection come
// in one window): VadRoot, the root, kernelbase's node, then control area, file
// object and its name (UNICODE_STRING header + buffer).
TEST_F(Fixture, VadWalkReadsEachNodeOnce) {
  locate();
  oswin::WideText t;
  const uint64_t before = cpu.reads;
  ASSERT_TRUE(k.module_of(cpu, g.a.process, g.a.kernelbase + 0x5a3c, t));
  EXPECT_EQ(text(t), utf16("\\Windows\\System32\\KernelBase.dll"));
  EXPECT_LE(cpu.reads - before, 7u);
}

// A node whose window runs into an unmapped page: the fields before the cut come from
// the window, the walk goes on through it (no stale bytes, no failure).
TEST_F(Fixture, VadNodeAtAPageEndIsWalked) {
  locate();
  const uint32_t cut = std::max({g.L.vad_left, g.L.vad_right, g.L.vad_start, g.L.vad_end}) + 8;
  ASSERT_LT(cut, g.L.vad_subsection);  // the subsection lies past the cut
  const uint64_t page = g.a.vad_kb + 0x8000, node = page + 0x1000 - cut;
  g.vad(node, 0x7ffe00000000ull, 0x10000, "\\x.dll", g.a.vad_ntdll, 0);  // above ntdll: the new root
  g.wptr(g.a.process + g.L.proc_vad_root, node);
  mem.unmap(page + 0x1000);
  oswin::WideText t;
  ASSERT_TRUE(k.module_of(cpu, g.a.process, g.a.kernelbase + 0x5a3c, t));
  EXPECT_EQ(text(t), utf16("\\Windows\\System32\\KernelBase.dll"));
  t.clear();
  EXPECT_FALSE(k.module_of(cpu, g.a.process, 0x7ffe00001000ull, t));  // its own subsection is gone
}

TEST_F(Fixture, VadLoopEndsAsUnknown) {
  locate();
  // kernelbase's left child is the root again: a cycle for lower addresses.
  mem.write_u64(g.a.vad_kb + g.L.vad_left, g.a.vad_ntdll);
  oswin::WideText t;
  EXPECT_FALSE(k.module_of(cpu, g.a.process, 0x20000, t));
}

TEST_F(Fixture, KernelModulesFromTheLoadedModuleList) {
  locate();
  const uint64_t head = g.a.kbase + g.L.rva_loaded_modules, e = g.a.ldr;
  mem.write_u64(head, e);
  mem.write_u64(e, head);
  mem.write_u64(e + g.L.ldr_base, g.a.kbase);
  mem.write_u32(e + g.L.ldr_size, static_cast<uint32_t>(g.a.kimage_size));
  g.ustr(e + g.L.ldr_full_name, e + 0x200, "\\SystemRoot\\system32\\ntoskrnl.exe");
  oswin::WideText t;
  ASSERT_TRUE(k.module_of(cpu, g.a.process, g.a.kbase + 0x5000, t));
  EXPECT_EQ(text(t), utf16("\\SystemRoot\\system32\\ntoskrnl.exe"));
  mem.write_u64(e, e);  // a list that loops without returning to its head
  t.clear();
  EXPECT_FALSE(k.module_of(cpu, g.a.process, g.a.kbase - 0x1000, t));
}

TEST_F(Fixture, ServiceTableDecodesEntriesAndNames) {
  locate();
  g.arg_bytes[0x55] = 7 * 8;
  g.ssdt({{0x55, g.rva("NtCreateFile")}, {0x0f, g.rva("NtClose")}, {3, g.rva("NtFlushWriteBuffer")}}, 0x60);
  oswin::RoutineNames names(prof);
  oswin::ServiceTable t;
  std::string err;
  ASSERT_TRUE(oswin::read_service_table(cpu, 8, g.a.kbase + g.L.rva_service_table, k.base(), k.image_size(),
                                        names, "nt", t, &err))
      << err;
  ASSERT_EQ(t.services.size(), 0x60u);
  EXPECT_EQ(t.services[0x55].name, "NtCreateFile");
  EXPECT_EQ(t.services[0x55].routine, g.runtime("NtCreateFile"));
  EXPECT_EQ(t.services[0x55].arg_bytes, 56u);
  EXPECT_EQ(t.services[0x0f].name, "NtClose");  // not its alias xHalCloseStub
  EXPECT_EQ(t.services[3].name, "NtFlushWriteBuffer");  // Nt* first, then the shortest
  EXPECT_EQ(t.services[4].name, "");  // no symbol at that address
  EXPECT_TRUE(t.warnings.empty());
}

TEST_F(Fixture, ServiceOutsideTheKernelIsSkippedWithAWarning) {
  locate();
  g.ssdt({{0x55, g.rva("NtCreateFile")}}, 0x60);
  const uint64_t table = g.runtime("KiServiceTable");
  // A rootkit-style entry pointing far below the image.
  mem.write_u32(table + 7 * 4, static_cast<uint32_t>(int32_t(-0x4000000) << 4));
  oswin::RoutineNames names(prof);
  oswin::ServiceTable t;
  std::string err;
  ASSERT_TRUE(oswin::read_service_table(cpu, 8, g.a.kbase + g.L.rva_service_table, k.base(), k.image_size(),
                                        names, "nt", t, &err));
  EXPECT_EQ(t.services.size(), 0x5fu);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("nt service 7 points outside the module"), std::string::npos) << t.warnings[0];
  // An implausible limit is refused outright.
  mem.write_u32(g.a.kbase + g.L.rva_service_table + 16, 100000);
  EXPECT_FALSE(oswin::read_service_table(cpu, 8, g.a.kbase + g.L.rva_service_table, k.base(), k.image_size(),
                                         names, "nt", t, &err));
  EXPECT_NE(err.find("implausible limit 100000"), std::string::npos) << err;
}

// The mock guest's address spaces: a cloned root sees the kernel half and the shared
// user pages, its private page its own content; writes go to the selected root.
TEST(PagedMemory, ClonedRootsShareAllButPrivatePages) {
  PagedMemory m(0x100000, 0x102000);
  const uint64_t kernel = 0xffffa50c11110000ull, code = 0x7ffb0fe01000ull, data = 0xe5c2a00000ull;
  m.write_u64(kernel, 1);
  m.write_u64(code, 2);
  m.write_u64(data, 3);
  const uint64_t a = m.root(), b = m.clone_root();
  EXPECT_NE(a, b);
  m.select_root(b);
  m.make_private(data);
  m.write_u64(data, 30);
  m.write_u64(code, 20);  // shared: both see it
  m.write_u64(kernel, 10);
  uint64_t v = 0;
  for (auto [root, want] : {std::pair{a, 3ull}, std::pair{b, 30ull}}) {
    m.select_root(root);
    ASSERT_EQ(m.read(data, &v, 8), 8u);
    EXPECT_EQ(v, want);
    ASSERT_EQ(m.read(code, &v, 8), 8u);
    EXPECT_EQ(v, 20u);
    ASSERT_EQ(m.read(kernel, &v, 8), 8u);
    EXPECT_EQ(v, 10u);
  }
  m.select_root(b);
  m.write_u64(0x520000, 5);  // a page only b has
  m.select_root(a);
  EXPECT_EQ(m.read(0x520000, &v, 8), 0u);
}

}  // namespace
}  // namespace vmitrace::testing

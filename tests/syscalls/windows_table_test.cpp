// Windows prototypes and NTSTATUS names (data/windows -> generated C++): lookups,
// the consistency of every entry, the generator's errors, and the coverage of the
// syscall names real builds have (../shared/data/windows-syscalls, j00ru's tables).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "syscalls/tables/constants.hpp"
#include "syscalls/tables/windows.hpp"

namespace {

namespace fs = std::filesystem;
using namespace vmitrace::syscalls::windows;

TEST(WindowsTable, NtCreateFilePrototype) {
  const WinSyscallInfo* s = lookup_windows("NtCreateFile");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->module, WinModule::nt);
  EXPECT_STREQ(s->ret, "NTSTATUS");
  ASSERT_EQ(s->nargs, 11);
  const char* names[] = {"FileHandle", "DesiredAccess", "ObjectAttributes", "IoStatusBlock",
                         "AllocationSize", "FileAttributes", "ShareAccess", "CreateDisposition",
                         "CreateOptions", "EaBuffer", "EaLength"};
  for (int i = 0; i < 11; ++i) EXPECT_STREQ(s->args[i].name, names[i]);
  EXPECT_EQ(s->args[0].kind, WinArgKind::handle_ptr);
  EXPECT_TRUE(s->args[0].out());
  EXPECT_FALSE(s->args[0].in());
  EXPECT_EQ(s->args[1].kind, WinArgKind::access_mask);
  ASSERT_NE(s->args[1].set, nullptr);
  EXPECT_STREQ(s->args[1].set->id, "win_file_access");
  EXPECT_EQ(s->args[2].kind, WinArgKind::object_attributes_ptr);
  EXPECT_STREQ(s->args[2].ctype, "POBJECT_ATTRIBUTES");
  EXPECT_EQ(s->args[3].kind, WinArgKind::io_status_block_ptr);
  EXPECT_EQ(s->args[4].kind, WinArgKind::large_integer_ptr);
  EXPECT_TRUE(s->args[4].optional());
  EXPECT_EQ(s->args[5].kind, WinArgKind::flags);
  EXPECT_EQ(s->args[7].kind, WinArgKind::enum_);
  EXPECT_EQ(s->args[10].kind, WinArgKind::ulong);
  EXPECT_EQ(s->args[10].bits, 32);
  EXPECT_EQ(s->args[2].bits, 64);
}

TEST(WindowsTable, KindsOfCommonTypes) {
  const WinSyscallInfo* s = lookup_windows("NtOpenProcess");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[3].kind, WinArgKind::client_id_ptr);
  EXPECT_STREQ(s->args[1].set->id, "win_process_access");
  s = lookup_windows("NtWaitForSingleObject");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[0].kind, WinArgKind::handle);
  EXPECT_EQ(s->args[1].kind, WinArgKind::boolean);
  EXPECT_EQ(s->args[1].bits, 8);
  s = lookup_windows("NtQueryValueKey");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[1].kind, WinArgKind::unicode_string_ptr);  // read by the kernel
  EXPECT_EQ(s->args[2].kind, WinArgKind::enum_);
  s = lookup_windows("NtQuerySymbolicLinkObject");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[1].kind, WinArgKind::pointer);  // in/out buffer, not a string to read
  s = lookup_windows("NtTerminateProcess");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[1].kind, WinArgKind::ntstatus);
  s = lookup_windows("NtReleaseSemaphore");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[1].kind, WinArgKind::slong);  // LONG ReleaseCount
  s = lookup_windows("NtUserQueryInformationThread");  // not the NT THREADINFOCLASS set
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[1].kind, WinArgKind::ulong);
  EXPECT_EQ(s->args[1].set, nullptr);
  s = lookup_windows("NtUserSwitchDesktop");  // desktops are kernel objects
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[0].kind, WinArgKind::handle);
  s = lookup_windows("NtUserValidateHandleSecure");  // a USER handle: a value
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->args[0].kind, WinArgKind::value);
  s = lookup_windows("NtUserGetProp");  // win32k: window handles are plain values
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->module, WinModule::win32k);
  EXPECT_EQ(s->args[0].kind, WinArgKind::value);
  EXPECT_STREQ(s->ret, "HANDLE");
  EXPECT_EQ(lookup_windows("NtNoSuchService"), nullptr);
  EXPECT_EQ(lookup_windows(""), nullptr);
  EXPECT_EQ(lookup_windows("NtCreateFil"), nullptr);
}

TEST(WindowsTable, EveryEntryIsConsistent) {
  auto t = windows_table();
  ASSERT_GT(t.size(), 800u);
  std::string prev;
  for (const WinSyscallInfo& s : t) {
    EXPECT_LT(prev, s.name) << "not sorted / duplicate";
    prev = s.name;
    EXPECT_EQ(lookup_windows(s.name), &s);
    EXPECT_LE(s.nargs, 18) << s.name;
    for (unsigned i = 0; i < s.nargs; ++i) {
      const WinArgInfo& a = s.args[i];
      EXPECT_TRUE(a.in() || a.out()) << s.name << " " << a.name;
      EXPECT_TRUE(a.bits == 8 || a.bits == 16 || a.bits == 32 || a.bits == 64) << s.name;
      if (a.kind == WinArgKind::flags || a.kind == WinArgKind::enum_ ||
          a.kind == WinArgKind::access_mask) {
        ASSERT_NE(a.set, nullptr) << s.name << " " << a.name;
        EXPECT_EQ(a.set->flags, a.kind != WinArgKind::enum_) << s.name << " " << a.name;
      }
      for (unsigned j = 0; j < i; ++j) EXPECT_STRNE(a.name, s.args[j].name) << s.name;
    }
  }
}

TEST(WindowsTable, NtstatusNames) {
  EXPECT_EQ(ntstatus_name(0), "STATUS_SUCCESS");
  EXPECT_EQ(ntstatus_name(0x102), "STATUS_TIMEOUT");
  EXPECT_EQ(ntstatus_name(0xC0000005), "STATUS_ACCESS_VIOLATION");
  EXPECT_EQ(ntstatus_name(0xC0000022), "STATUS_ACCESS_DENIED");
  EXPECT_EQ(ntstatus_name(0xC0000135), "STATUS_DLL_NOT_FOUND");
  EXPECT_EQ(ntstatus_name(0x80000006), "STATUS_NO_MORE_FILES");
  EXPECT_EQ(ntstatus_name(0xC0000023), "STATUS_BUFFER_TOO_SMALL");
  EXPECT_EQ(ntstatus_name(0x40000000), "STATUS_OBJECT_NAME_EXISTS");
  EXPECT_EQ(ntstatus_name(0xC0000001u + 0x0FFFFFFE), "");  // unnamed
  EXPECT_EQ(ntstatus_facility_name(0), "NONE");
  EXPECT_EQ(ntstatus_facility_name(1), "DEBUGGER");
  EXPECT_EQ(ntstatus_facility_name(0x777), "");
}

// ---- generator errors ----

struct GenResult {
  int status;
  std::string text;
};

GenResult generate(const std::string& line) {
  fs::path dir = fs::temp_directory_path() / ("gen_windows_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "nt.tbl") << line << "\n";
  std::ofstream(dir / "fl.tbl") << "#!kind: flags\n0x1\tF_ONE\n";
  std::ofstream(dir / "en.tbl") << "#!kind: enum\n1\tE_ONE\n";
  std::string cmd = std::string("python3 ") + VMITRACE_SOURCE_ROOT "/data/gen_windows.py " +
                    (dir / "out.cpp").string() + " --tables nt=" + (dir / "nt.tbl").string() +
                    " --consts " + (dir / "fl.tbl").string() + " " + (dir / "en.tbl").string() +
                    " 2>" + (dir / "err").string();
  int st = std::system(cmd.c_str());
  std::ifstream in(st == 0 ? dir / "out.cpp" : dir / "err");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, text};
}

TEST(GenWindows, OverridesAndErrors) {
  if (std::system("python3 -c pass") != 0) GTEST_SKIP() << "python3 not available";
  GenResult ok = generate("NtFoo\tNTSTATUS\ti ULONG A {flags:fl}\to? PHANDLE B\tio ULONG C {enum:en}");
  ASSERT_EQ(ok.status, 0) << ok.text;
  EXPECT_NE(ok.text.find("{\"A\", \"ULONG\", WinArgKind::flags, 1, &consts::fl, 32}"),
            std::string::npos) << ok.text;
  EXPECT_NE(ok.text.find("{\"B\", \"PHANDLE\", WinArgKind::handle_ptr, 6, nullptr, 64}"),
            std::string::npos) << ok.text;
  EXPECT_NE(ok.text.find("WinArgKind::enum_, 3, &consts::en, 32}"), std::string::npos);

  // One error per run (the generator stops at the first): the two that guard the
  // decoding (a set of the wrong kind, an unknown set) and a malformed argument.
  GenResult r = generate("NtFoo\tNTSTATUS\ti ULONG A {flags:en}");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.text.find("nt.tbl:1: en is not a flag set"), std::string::npos) << r.text;
  r = generate("NtFoo\tNTSTATUS\ti ULONG A {flags:nosuch}");
  EXPECT_NE(r.text.find("no constant set nosuch.tbl"), std::string::npos) << r.text;
  r = generate("NtFoo\tNTSTATUS\tin ULONG A");
  EXPECT_NE(r.text.find("argument 'in ULONG A' is not"), std::string::npos) << r.text;
}

// ---- coverage of the names real builds have ----

std::string shared_data() {
  for (const char* d : {VMITRACE_SHARED_DATA, "/work/shared/data"})
    if (fs::exists(fs::path(d) / "windows-syscalls")) return std::string(d) + "/windows-syscalls";
  return {};
}

struct Coverage {
  size_t names = 0, known = 0;
  std::set<std::string> missing;
};

// Names of a per-syscall JSON ({name: {os: {build: number}}}), those of Windows 10/11
// when `recent`.
Coverage coverage(const std::string& path, bool recent) {
  Coverage c;
  simdjson::dom::parser p;
  simdjson::dom::object root;
  EXPECT_EQ(p.load(path).get_object().get(root), simdjson::SUCCESS) << path;
  for (auto [name, per_os] : root) {
    bool in = !recent;
    simdjson::dom::object os;
    if (per_os.get_object().get(os) == simdjson::SUCCESS)
      for (auto [os_name, builds] : os)
        if (os_name.rfind("Windows 10", 0) == 0 || os_name.rfind("Windows 11", 0) == 0) in = true;
    if (!in) continue;
    ++c.names;
    if (lookup_windows(name)) ++c.known;
    else c.missing.insert(std::string(name));
  }
  return c;
}

TEST(WindowsTableCoverage, NamesOfRealBuilds) {
  std::string dir = shared_data();
  if (dir.empty()) GTEST_SKIP() << "../shared/data/windows-syscalls is absent: coverage not checked";
  struct File {
    const char* name;
    double min_recent;  // share of the Windows 10/11 names with a prototype
  } files[] = {{"x64-nt-per-syscall.json", 0.95}, {"x86-nt-per-syscall.json", 0.95},
               {"x64-win32k-per-syscall.json", 0.50}};
  for (const File& f : files) {
    Coverage all = coverage(dir + "/" + f.name, false);
    Coverage recent = coverage(dir + "/" + f.name, true);
    std::string sample;
    for (const std::string& m : recent.missing) {
      if (sample.size() > 300) break;
      sample += m + " ";
    }
    std::printf("coverage %s: %zu/%zu names of all builds, %zu/%zu of Windows 10/11; "
                "missing e.g.: %s\n",
                f.name, all.known, all.names, recent.known, recent.names, sample.c_str());
    RecordProperty(std::string(f.name) + "_recent", std::to_string(recent.known) + "/" +
                                                        std::to_string(recent.names));
    ASSERT_GT(recent.names, 0u) << f.name;
    EXPECT_GE(static_cast<double>(recent.known) / recent.names, f.min_recent) << f.name;
  }
  // Every prototype names a service some build has (no typo in the tables).
  std::set<std::string> real[2];  // nt, win32k
  for (const char* f : {"x64-nt-per-syscall.json", "x86-nt-per-syscall.json", "x64-win32k-per-syscall.json"}) {
    simdjson::dom::parser p;
    simdjson::dom::object root;
    ASSERT_EQ(p.load(dir + "/" + f).get_object().get(root), simdjson::SUCCESS);
    for (auto [name, v] : root) real[std::string(f).find("win32k") != std::string::npos].insert(std::string(name));
  }
  for (const WinSyscallInfo& s : windows_table())
    EXPECT_TRUE(real[s.module == WinModule::win32k].count(s.name)) << s.name << " is in no build";
}


// Names of each build in a per-syscall JSON: "Windows 10 22H2" -> names.
std::map<std::string, std::set<std::string>> names_per_build(const std::string& path) {
  std::map<std::string, std::set<std::string>> out;
  simdjson::dom::parser p;
  simdjson::dom::object root;
  EXPECT_EQ(p.load(path).get_object().get(root), simdjson::SUCCESS) << path;
  for (auto [name, per_os] : root) {
    simdjson::dom::object os;
    if (per_os.get_object().get(os) != simdjson::SUCCESS) continue;
    for (auto [os_name, builds] : os) {
      simdjson::dom::object b;
      if (builds.get_object().get(b) != simdjson::SUCCESS) continue;
      for (auto [build, nr] : b)
        out[std::string(os_name) + " " + std::string(build)].insert(std::string(name));
    }
  }
  return out;
}

// The win32k services of each build that have a prototype (data/windows/win32k*.tbl:
// Wine 8, mingw-w64 10's ntgdi.h, Wine 10's newer NtUser declarations, ReactOS, the
// SDK's D3DKMT thunks and phnt's SAL-annotated NtUser services).
// A prototype lost, or a build's count dropping, fails here; new prototypes raise
// the figures (update them). NT services: at least 95% of every Windows 10/11 build.
TEST(WindowsTableCoverage, PrototypesPerBuild) {
  std::string dir = shared_data();
  if (dir.empty()) GTEST_SKIP() << "../shared/data/windows-syscalls is absent: coverage not checked";
  const std::map<std::string, size_t> win32k_known = {
      {"Windows XP SP1", 658}, {"Windows XP SP2", 658}, {"Windows Server 2003 SP0", 658},
      {"Windows Server 2003 SP2", 658}, {"Windows Server 2003 R2", 658},
      {"Windows Server 2003 R2 SP2", 658}, {"Windows Vista SP0", 725}, {"Windows Vista SP1", 725},
      {"Windows Vista SP2", 725}, {"Windows 7 SP0", 737}, {"Windows 7 SP1", 737},
      {"Windows 8 8.0", 701}, {"Windows 8 8.1", 707}, {"Windows 10 1507", 743},
      {"Windows 10 1511", 745}, {"Windows 10 1607", 754}, {"Windows 10 1703", 765},
      {"Windows 10 1709", 779}, {"Windows 10 1803", 780}, {"Windows 10 1809", 782},
      {"Windows 10 1903", 781}, {"Windows 10 1909", 781}, {"Windows 10 2004", 779},
      {"Windows 10 20H2", 779}, {"Windows 10 21H1", 779}, {"Windows 10 21H2", 779},
      {"Windows 10 22H2", 779}, {"Windows 11 and Server 11 21H2", 804},
      {"Windows 11 and Server 11 22H2", 800}, {"Windows 11 and Server 11 23H2", 800},
      {"Windows 11 and Server 11 24H2", 802}, {"Windows 11 and Server 11 25H2", 802},
      {"Windows 11 and Server Server 2022", 811}, {"Windows 11 and Server Server 2025", 803},
      {"Windows 11 and Server Server 23H2", 801}};
  auto win32k = names_per_build(dir + "/x64-win32k-per-syscall.json");
  ASSERT_EQ(win32k.size(), win32k_known.size()) << "builds of x64-win32k-per-syscall.json changed";
  for (const auto& [build, names] : win32k) {
    size_t known = 0;
    for (const std::string& n : names) known += lookup_windows(n) != nullptr;
    std::printf("win32k %-36s %4zu/%4zu prototypes (%.0f%%)\n", build.c_str(), known, names.size(),
                100.0 * static_cast<double>(known) / static_cast<double>(names.size()));
    auto it = win32k_known.find(build);
    ASSERT_NE(it, win32k_known.end()) << build;
    EXPECT_GE(known, it->second) << build;
  }
  for (const char* f : {"x64-nt-per-syscall.json", "x86-nt-per-syscall.json"})
    for (const auto& [build, names] : names_per_build(dir + "/" + f)) {
      if (build.rfind("Windows 10", 0) != 0 && build.rfind("Windows 11", 0) != 0) continue;
      size_t known = 0;
      for (const std::string& n : names) known += lookup_windows(n) != nullptr;
      EXPECT_GE(static_cast<double>(known) / static_cast<double>(names.size()), 0.95) << f << " " << build;
    }
}

}  // namespace

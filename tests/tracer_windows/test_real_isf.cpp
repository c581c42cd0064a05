// The Windows tracer on synthetic guests laid out with the real kernel profiles of
// Windows 10 19041, Windows 11 22000 and Windows 7 SP1 (../shared/data/windows-isf):
// the SSDT holds every service of the build (j00ru's table in
// ../shared/data/windows-syscalls) at the profile's real routine RVAs, and the seed's
// NtCreateFile example is checked field by field, down to the JSON line. Skipped,
// saying so, when the shared data is absent.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "os/windows/kernel.hpp"
#include "os/windows/ssdt.hpp"
#include "output/format.hpp"
#include "scenario.hpp"
#include "syscalls/tables/windows.hpp"

namespace vmitrace::testing {
namespace {

std::string shared_data() {
  if (const char* e = std::getenv("VMITRACE_SHARED_DATA"); e && std::filesystem::exists(e)) return e;
  return "/work/shared/data";
}

struct Build {
  const char* name;
  const char* isf;
  const char* os;       // j00ru's keys
  const char* version;
  uint32_t create_file; // NtCreateFile's index in this build
  uint32_t eprocess_pid;  // _EPROCESS.UniqueProcessId (a known fact per build)
};

const Build kBuilds[] = {
    {"Win10_19041", "ntkrnlmp-0B0A89438BE7729EB33FD00A7D6FA816-1.json.xz", "Windows 10", "2004", 85, 0x440},
    {"Win11_22000", "ntkrnlmp-CA8E2F01B822EDE6357898BFBF862997-1.json.xz", "Windows 11 and Server", "11 21H2", 85, 0x440},
    {"Win7_SP1", "ntkrnlmp-win7sp1-7601.24540.json.xz", "Windows 7", "SP1", 82, 0x180},
};

const profile::Profile* load(const Build& b) {
  static std::map<std::string, profile::Profile> cache;
  const std::string path = shared_data() + "/windows-isf/" + b.isf;
  if (!std::filesystem::exists(path)) return nullptr;
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, profile::Profile::load(path)).first;
  return &it->second;
}

// index -> service name in this build, from j00ru's per-syscall table.
std::map<uint32_t, std::string> nt_table(const Build& b) {
  std::map<uint32_t, std::string> t;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(shared_data() + "/windows-syscalls/x64-nt-per-syscall.json").get(doc)) return t;
  for (auto [name, per_os] : doc.get_object()) {
    simdjson::dom::element v;
    int64_t nr = 0;
    if (per_os[b.os].get(v) == simdjson::SUCCESS && v[b.version].get(nr) == simdjson::SUCCESS)
      t[static_cast<uint32_t>(nr)] = std::string(name);
  }
  return t;
}

class RealIsf : public ::testing::TestWithParam<Build> {
 protected:
  void SetUp() override {
    prof = load(GetParam());
    if (!prof) GTEST_SKIP() << shared_data() << "/windows-isf/" << GetParam().isf << " absent";
    table = nt_table(GetParam());
    if (table.empty()) GTEST_SKIP() << shared_data() << "/windows-syscalls/x64-nt-per-syscall.json absent";
  }
  // The build's services that the profile names (the others get unnamed routines).
  std::map<uint32_t, std::string> named() const {
    std::map<uint32_t, std::string> m;
    for (auto& [i, n] : table)
      if (prof->symbol(n)) m[i] = n;
    return m;
  }
  const profile::Profile* prof = nullptr;
  std::map<uint32_t, std::string> table;
};

TEST_P(RealIsf, LayoutFacts) {
  auto L = oswin::resolve_layout(*prof, GetParam().isf);
  EXPECT_EQ(L.ptr, 8u);
  EXPECT_EQ(L.proc_pid, GetParam().eprocess_pid);
  EXPECT_EQ(L.pcr_current_thread, 0x188u);  // KPCR.Prcb (0x180) + KPRCB.CurrentThread (8)
  EXPECT_EQ(L.handle_pointer_bits, std::string(GetParam().name) != "Win7_SP1");
  EXPECT_EQ(L.vad_avl_table, std::string(GetParam().name) == "Win7_SP1");
  EXPECT_NE(L.file_name, oswin::kNone);
  EXPECT_EQ(table.at(GetParam().create_file), "NtCreateFile");
}

// Every index of the build's table resolves to its service name through the profile;
// where the linker folded several services into one stub, to one of their Nt* names.
TEST_P(RealIsf, EveryServiceIsNamed) {
  Scenario s(*prof, true);
  s.build(named(), static_cast<uint32_t>(table.rbegin()->first + 1));
  oswin::WindowsKernel k(s.prof, "isf");
  std::string err;
  ASSERT_EQ(k.locate(s.cpu, &err), oswin::WindowsKernel::Locate::found) << err;
  oswin::RoutineNames names(s.prof);
  oswin::ServiceTable t;
  ASSERT_TRUE(oswin::read_service_table(s.cpu, 8, k.runtime(k.layout().rva_service_table), k.base(),
                                        k.image_size(), names, "nt", t, &err))
      << err;
  ASSERT_EQ(t.services.size(), table.size());
  std::map<uint64_t, std::set<std::string>> at;
  for (auto& [i, n] : named()) at[*prof->symbol(n)].insert(n);
  size_t exact = 0;
  for (const auto& sv : t.services) {
    auto it = table.find(sv.index);
    ASSERT_NE(it, table.end());
    if (!prof->symbol(it->second)) {
      EXPECT_EQ(sv.name, "") << sv.index;
      continue;
    }
    const auto& aliases = at[sv.routine - k.base()];
    EXPECT_TRUE(aliases.count(sv.name)) << sv.index << ": " << sv.name << " for " << it->second;
    exact += sv.name == it->second;
  }
  EXPECT_GT(exact, table.size() * 9 / 10);
  EXPECT_EQ(t.services[GetParam().create_file].name, "NtCreateFile");
}

TEST_P(RealIsf, SeedExampleNtCreateFile) {
  Scenario s(*prof, true);
  s.build(named(), static_cast<uint32_t>(table.rbegin()->first + 1));
  s.start();
  ASSERT_TRUE(s.tracer->tracing()) << s.fatal;
  ASSERT_EQ(s.call("NtCreateFile", s.create_file_args()), 1);
  ASSERT_EQ(s.ret(0), 1);
  ASSERT_EQ(s.sink.count(), 2u);
  const event::Record& r = s.sink.rec(0);
  EXPECT_EQ(r.nr, GetParam().create_file);
  EXPECT_EQ(r.nargs, 11);
  EXPECT_EQ(r.pid, 4567);
  EXPECT_EQ(r.ppid, 1000);
  EXPECT_EQ(r.process(), "notepad.exe");
  EXPECT_EQ(r.module_name(), "nt");
  EXPECT_EQ(r.cr3, 0x1a2b3c4du);
  auto x = extras_of(r);
  EXPECT_EQ(ex(x, event::Extra::method, 0), "NtCreateFile");
  EXPECT_EQ(ex(x, event::Extra::previous_mode, 0), std::string(1, '\1'));
  EXPECT_EQ(ex(x, event::Extra::from_module, 0), utf16("\\windows\\system32\\ntdll.dll"));
  EXPECT_EQ(ex(x, event::Extra::arg_text, 2), utf16("\\??\\C:\\Users\\test\\document.txt"));
  EXPECT_EQ(s.sink.rec(1).ret, 0);
  EXPECT_EQ(syscalls::windows::ntstatus_name(0), "STATUS_SUCCESS");

  // The JSON lines carry every field of the seed's example with its value.
  output::FormatOptions fo;
  std::string line;
  output::format_event(r, 1, fo, line);
  output::format_event(s.sink.rec(1), 2, fo, line);
  simdjson::dom::parser parser;
  simdjson::dom::document_stream docs;
  ASSERT_EQ(parser.parse_many(line).get(docs), simdjson::SUCCESS) << line;
  std::vector<std::string> objs;
  for (auto d : docs) objs.push_back(simdjson::to_string(d.value()));
  ASSERT_EQ(objs.size(), 2u) << line;
  const std::string nr = std::to_string(GetParam().create_file);
  const std::vector<std::string> entry = {
      R"("Plugin":"syscall")", R"("TimeStamp":"1706000000.000000")", R"("PID":4567)", R"("PPID":1000)",
      R"("ProcessName":"notepad.exe")", R"("Method":"NtCreateFile")", R"("Module":"nt")", R"("vCPU":0)",
      R"("CR3":"0x1a2b3c4d")", "\"Syscall\":" + nr, R"("NArgs":11)", R"("PreviousMode":"User")",
      R"("FromModule":"\\windows\\system32\\ntdll.dll")", R"("FileHandle":"0x0")",
      R"("DesiredAccess":"0x80100000")", R"("ObjectAttributes":"\\??\\C:\\Users\\test\\document.txt")"};
  for (auto& kv : entry) EXPECT_NE(objs[0].find(kv), std::string::npos) << kv << " in " << objs[0];
  const std::vector<std::string> ret = {
      R"("Plugin":"sysret")", R"("PID":4567)", R"("ProcessName":"notepad.exe")", R"("Method":"NtCreateFile")",
      R"("Module":"nt")", R"("vCPU":0)", R"("CR3":"0x1a2b3c4d")", "\"Syscall\":" + nr, R"("Ret":"0x0")",
      R"("Info":"STATUS_SUCCESS")"};
  for (auto& kv : ret) EXPECT_NE(objs[1].find(kv), std::string::npos) << kv << " in " << objs[1];
  EXPECT_EQ(objs[0].find("null"), std::string::npos) << objs[0];
  if (std::getenv("VMITRACE_SHOW")) std::fprintf(stderr, "%s", line.c_str());
}

// The context's windows come from the build's offsets: EPROCESS UniqueProcessId ..
// ImageFileName (with Token and Session) is one read on every build, the TOKEN's
// SessionId and UserAndGroups one; KTHREAD Process/PreviousMode and ETHREAD.Cid
// are one window on Windows 7, two on 10 and 11 (together over 512 bytes). A paired
// return then reads two guest words.
TEST_P(RealIsf, ContextInFewReadsReturnInTwo) {
  Scenario s(*prof, true);
  s.build(named(), static_cast<uint32_t>(table.rbegin()->first + 1));
  oswin::WindowsKernel k(s.prof, "isf");
  EXPECT_EQ(k.process_windows().count, 1u);
  EXPECT_EQ(k.token_windows().count, 1u);
  EXPECT_EQ(k.thread_windows().count, std::string(GetParam().name) == "Win7_SP1" ? 1u : 2u);
  oswin::WinContext c;
  uint64_t before = s.cpu.reads;
  k.read_context(s.cpu, s.g.a.thread, c);
  EXPECT_LE(s.cpu.reads - before, 6u);
  EXPECT_EQ(c.pid, WinGuest::kPid);
  EXPECT_EQ(c.ppid, WinGuest::kPpid);
  EXPECT_EQ(c.tid, WinGuest::kTid);
  EXPECT_EQ(c.session, WinGuest::kSession);
  EXPECT_STREQ(c.image_name, "notepad.exe");
  EXPECT_EQ(c.user_sid_len, 16u);
  EXPECT_EQ(c.flags, 0u);

  s.start();
  ASSERT_EQ(s.call("NtClose", {WinGuest::kFileHandle}), 1);
  before = s.cpu.reads;
  ASSERT_EQ(s.ret(0), 1);
  EXPECT_LE(s.cpu.reads - before, 2u);
  ASSERT_EQ(s.sink.count(), 2u);
  EXPECT_EQ(s.sink.rec(1).pid, WinGuest::kPid);
  EXPECT_EQ(s.sink.rec(1).uid, WinGuest::kSession);
}

INSTANTIATE_TEST_SUITE_P(Windows, RealIsf, ::testing::ValuesIn(kBuilds),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vmitrace::testing

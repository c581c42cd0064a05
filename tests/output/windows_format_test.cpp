// Windows records in the four layouts: the seed's NtCreateFile examples field by
// field, DRAKVUF's field order, rich decoding, NTSTATUS Info, handle names, and
// hostile extras (bad UTF-16, lying lengths, bad routine names).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "output/format.hpp"
#include "output/windows.hpp"
#include "record_helpers.hpp"

using namespace vmitrace;
using output::ArgStyle;
using output::Format;
using output::FormatOptions;
using test::RecordBuf;

namespace {

std::string line_of(const event::Record& r, Format f, ArgStyle st = ArgStyle::raw,
                    uint64_t uid = 1) {
  FormatOptions opt;
  opt.format = f;
  opt.args = st;
  std::string out;
  output::format_event(r, uid, opt, out);
  return out;
}

// The keys of a JSON line in order, with their values (strings as text, numbers
// in decimal); fails the test when the line is not valid JSON.
std::vector<std::pair<std::string, std::string>> fields(const std::string& line) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  std::vector<std::pair<std::string, std::string>> out;
  auto err = p.parse(line).get(e);
  EXPECT_EQ(err, simdjson::SUCCESS) << line;
  if (err) return out;
  simdjson::dom::object o;
  EXPECT_EQ(e.get_object().get(o), simdjson::SUCCESS) << line;
  for (auto [k, v] : o) {
    std::string val;
    if (v.is_string()) val = std::string(v.get_string().value());
    else if (v.is_int64()) val = std::to_string(v.get_int64().value());
    else val = "<" + std::string(simdjson::to_string(v)) + ">";
    out.emplace_back(std::string(k), val);
  }
  return out;
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& f,
                     const std::string& key) {
  for (auto& [k, v] : f)
    if (k == key) return v;
  return "<absent>";
}

bool has_key(const std::vector<std::pair<std::string, std::string>>& f, const std::string& key) {
  for (auto& [k, v] : f)
    if (k == key) return true;
  return false;
}

// Every (key, value) of `seed` appears in `got`, in the same order.
void expect_seed_subsequence(const std::vector<std::pair<std::string, std::string>>& seed,
                             const std::vector<std::pair<std::string, std::string>>& got) {
  size_t j = 0;
  for (auto& [k, v] : seed) {
    while (j < got.size() && got[j].first != k) ++j;
    ASSERT_LT(j, got.size()) << "seed key " << k << " missing or out of order";
    EXPECT_EQ(got[j].second, v) << k;
    ++j;
  }
}

// ---- the seed's examples ----

TEST(WindowsFormat, SeedSyscallJsonFieldByField) {
  RecordBuf rb;
  std::string line = line_of(test::ntcreatefile_entry(rb), Format::json);
  auto got = fields(line);
  expect_seed_subsequence(
      {{"Plugin", "syscall"}, {"TimeStamp", "1706000000.000000"}, {"PID", "4567"},
       {"PPID", "1000"}, {"ProcessName", "notepad.exe"}, {"Method", "NtCreateFile"},
       {"Module", "nt"}, {"vCPU", "0"}, {"CR3", "0x1a2b3c4d"}, {"Syscall", "85"},
       {"NArgs", "11"}, {"PreviousMode", "User"},
       {"FromModule", "\\windows\\system32\\ntdll.dll"}, {"FileHandle", "0x0"},
       {"DesiredAccess", "0x80100000"}, {"ObjectAttributes", "\\??\\C:\\Users\\test\\document.txt"}},
      got);
  // The common fields in DRAKVUF's Windows order (its real output: UserName
  // "SessionID", UserId the session id).
  expect_seed_subsequence({{"Plugin", "syscall"}, {"TimeStamp", "1706000000.000000"},
                           {"PID", "4567"}, {"PPID", "1000"}, {"TID", "4568"},
                           {"UserName", "SessionID"}, {"UserId", "1"},
                           {"ProcessName", "notepad.exe"}, {"Method", "NtCreateFile"},
                           {"EventUID", "0x1"}, {"Module", "nt"}},
                          got);
  EXPECT_FALSE(has_key(got, "FromParentModule"));  // absent, never null
  EXPECT_FALSE(has_key(got, "ThreadName"));        // not in DRAKVUF's Windows layout
  EXPECT_EQ(got.size(), 17u + 11u);  // 17 fixed keys, then the 11 arguments
}

TEST(WindowsFormat, SeedSyscallJsonGolden) {
  RecordBuf rb;
  EXPECT_EQ(line_of(test::ntcreatefile_entry(rb), Format::json),
            "{\"Plugin\":\"syscall\",\"TimeStamp\":\"1706000000.000000\",\"PID\":4567,"
            "\"PPID\":1000,\"TID\":4568,\"UserName\":\"SessionID\",\"UserId\":1,"
            "\"ProcessName\":\"notepad.exe\",\"Method\":\"NtCreateFile\",\"EventUID\":\"0x1\","
            "\"Module\":\"nt\",\"vCPU\":0,\"CR3\":\"0x1a2b3c4d\",\"Syscall\":85,\"NArgs\":11,"
            "\"PreviousMode\":\"User\",\"FromModule\":\"\\\\windows\\\\system32\\\\ntdll.dll\","
            "\"FileHandle\":\"0x0\",\"DesiredAccess\":\"0x80100000\","
            "\"ObjectAttributes\":\"\\\\??\\\\C:\\\\Users\\\\test\\\\document.txt\","
            "\"IoStatusBlock\":\"0x5ff790\",\"AllocationSize\":\"0x0\",\"FileAttributes\":\"0x80\","
            "\"ShareAccess\":\"0x1\",\"CreateDisposition\":\"0x1\",\"CreateOptions\":\"0x20\","
            "\"EaBuffer\":\"0x0\",\"EaLength\":\"0x0\"}\n");
}

TEST(WindowsFormat, SeedSysretJson) {
  RecordBuf rb;
  std::string line = line_of(test::ntcreatefile_return(rb, 0), Format::json, ArgStyle::raw, 2);
  auto got = fields(line);
  expect_seed_subsequence(
      {{"Plugin", "sysret"}, {"TimeStamp", "1706000000.000001"}, {"PID", "4567"},
       {"ProcessName", "notepad.exe"}, {"Method", "NtCreateFile"}, {"Module", "nt"},
       {"vCPU", "0"}, {"CR3", "0x1a2b3c4d"}, {"Syscall", "85"}, {"Ret", "0x0"},
       {"Info", "STATUS_SUCCESS"}},
      got);
  EXPECT_EQ(line,
            "{\"Plugin\":\"sysret\",\"TimeStamp\":\"1706000000.000001\",\"PID\":4567,"
            "\"PPID\":1000,\"TID\":4568,\"UserName\":\"SessionID\",\"UserId\":1,"
            "\"ProcessName\":\"notepad.exe\",\"Method\":\"NtCreateFile\",\"EventUID\":\"0x2\","
            "\"Module\":\"nt\",\"vCPU\":0,\"CR3\":\"0x1a2b3c4d\",\"Syscall\":85,\"Ret\":\"0x0\","
            "\"Info\":\"STATUS_SUCCESS\"}\n");
}

TEST(WindowsFormat, TextFormatsGolden) {
  RecordBuf rb;
  const event::Record& r = test::ntcreatefile_entry(rb);
  const std::string args =
      "FileHandle=0x0,DesiredAccess=0x80100000,"
      "ObjectAttributes=\"\\\\??\\\\C:\\\\Users\\\\test\\\\document.txt\",IoStatusBlock=0x5FF790,"
      "AllocationSize=0x0,FileAttributes=0x80,ShareAccess=0x1,CreateDisposition=0x1,"
      "CreateOptions=0x20,EaBuffer=0x0,EaLength=0x0\n";
  EXPECT_EQ(line_of(r, Format::kv),
            "syscall Time=1706000000.000000,PID=4567,PPID=1000,TID=4568,"
            "ProcessName=\"notepad.exe\",Method=NtCreateFile,UserName=\"SessionID\",UserId=1,"
            "EventUID=0x1,Module=\"nt\",vCPU=0,CR3=0x1A2B3C4D,Syscall=85,NArgs=11,"
            "PreviousMode=\"User\",FromModule=\"\\\\windows\\\\system32\\\\ntdll.dll\"," + args);
  EXPECT_EQ(line_of(r, Format::csv),
            "syscall 1706000000.000000,0,0x1A2B3C4D,1,4567,1000,4568,\"notepad.exe\","
            "NtCreateFile,\"SessionID\",0x1,\"nt\",0,0x1A2B3C4D,85,11,\"User\","
            "\"\\\\windows\\\\system32\\\\ntdll.dll\",0x0,0x80100000,"
            "\"\\\\??\\\\C:\\\\Users\\\\test\\\\document.txt\",0x5FF790,0x0,0x80,0x1,0x1,0x20,"
            "0x0,0x0\n");
  std::string def = line_of(r, Format::drakvuf_default);
  EXPECT_EQ(def.rfind("[SYSCALL] TIME:1706000000.000000 VCPU:0 CR3:0x1A2B3C4D "
                      "\"notepad.exe\":NtCreateFile UID:1 PID:4567 PPID:1000 TID:4568 "
                      "UserName:\"SessionID\" EventUID:0x1 Module:\"nt\" vCPU:0 "
                      "CR3:0x1A2B3C4D Syscall:85 NArgs:11 PreviousMode:\"User\" "
                      "FromModule:\"\\\\windows\\\\system32\\\\ntdll.dll\" FileHandle:0x0 "
                      "DesiredAccess:0x80100000 ObjectAttributes:\"\\\\??\\\\C:",
                      0),
            0u)
      << def;
  RecordBuf rr;
  EXPECT_EQ(line_of(test::ntcreatefile_return(rr, 0xC0000034), Format::kv),
            "sysret Time=1706000000.000001,PID=4567,PPID=1000,TID=4568,"
            "ProcessName=\"notepad.exe\",Method=NtCreateFile,UserName=\"SessionID\",UserId=1,"
            "EventUID=0x1,Module=\"nt\",vCPU=0,CR3=0x1A2B3C4D,Syscall=85,Ret=0xC0000034,"
            "Info=\"STATUS_OBJECT_NAME_NOT_FOUND\"\n");
}

TEST(WindowsFormat, RichDecodesByKind) {
  RecordBuf rb;
  auto got = fields(line_of(test::ntcreatefile_entry(rb), Format::json, ArgStyle::rich));
  EXPECT_EQ(value_of(got, "FileHandle"), "NULL");
  EXPECT_EQ(value_of(got, "DesiredAccess"), "GENERIC_READ|SYNCHRONIZE");
  // Quoted and escaped as every rich string (strace's style: a backslash is doubled).
  EXPECT_EQ(value_of(got, "ObjectAttributes"),
            "\"\\\\??\\\\C:\\\\Users\\\\test\\\\document.txt\"");
  EXPECT_EQ(value_of(got, "FileAttributes"), "FILE_ATTRIBUTE_NORMAL");
  EXPECT_EQ(value_of(got, "ShareAccess"), "FILE_SHARE_READ");
  EXPECT_EQ(value_of(got, "CreateDisposition"), "FILE_OPEN");
  EXPECT_EQ(value_of(got, "CreateOptions"), "FILE_SYNCHRONOUS_IO_NONALERT");
  EXPECT_EQ(value_of(got, "EaLength"), "0");
  EXPECT_EQ(value_of(got, "IoStatusBlock"), "0x5ff790");
  EXPECT_EQ(value_of(got, "PreviousMode"), "User");  // fields stay plain in rich mode
}

TEST(WindowsFormat, RichPseudoHandlesBooleansAndStatus) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.nr = 44;
  r.nargs = 2;
  r.args[0] = ~uint64_t{0};
  r.args[1] = 0xFFFFFFFFC0000005ull;  // ExitStatus: NTSTATUS is 32 bits
  test::add_extra(rb, event::Extra::method, 0, "NtTerminateProcess");
  auto got = fields(line_of(rb.done(), Format::json, ArgStyle::rich));
  EXPECT_EQ(value_of(got, "ProcessHandle"), "NtCurrentProcess");
  EXPECT_EQ(value_of(got, "ExitStatus"), "STATUS_ACCESS_VIOLATION");
  auto raw = fields(line_of(r, Format::json));
  EXPECT_EQ(value_of(raw, "ProcessHandle"), "0xffffffffffffffff");
  r.args[0] = 0xFFFFFFFEu;  // a 32-bit guest's NtCurrentThread()
  EXPECT_EQ(value_of(fields(line_of(r, Format::json, ArgStyle::rich)), "ProcessHandle"),
            "NtCurrentThread");
  r.args[0] = 0x7FFFFFF0ull;
  EXPECT_EQ(value_of(fields(line_of(r, Format::json, ArgStyle::rich)), "ProcessHandle"),
            "0x7ffffff0");
  r.args[0] = ~uint64_t{0};
  EXPECT_EQ(value_of(raw, "ExitStatus"), "0xc0000005");  // masked to the ULONG width

  RecordBuf wb;
  event::Record& w = wb.rec();
  test::fill_windows_context(w);
  w.nargs = 3;
  w.args[0] = 0x40;
  w.args[1] = 1;
  w.args[2] = 0;
  test::add_extra(wb, event::Extra::method, 0, "NtWaitForSingleObject");
  auto wg = fields(line_of(wb.done(), Format::json, ArgStyle::rich));
  EXPECT_EQ(value_of(wg, "Alertable"), "TRUE");
  EXPECT_EQ(value_of(wg, "Timeout"), "NULL");
}

TEST(WindowsFormat, HandleNameKeyFollowsTheHandle) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.nr = 15;
  r.nargs = 1;
  r.args[0] = 0x24;
  test::add_extra(rb, event::Extra::method, 0, "NtClose");
  test::add_extra(rb, event::Extra::handle_name, 0,
                  test::utf16le("\\Device\\HarddiskVolume2\\Users\\test\\document.txt"));
  const event::Record& rec = rb.done();
  for (ArgStyle st : {ArgStyle::raw, ArgStyle::rich}) {
    auto got = fields(line_of(rec, Format::json, st));
    ASSERT_GE(got.size(), 2u);
    EXPECT_EQ(got[got.size() - 2].first, "Handle");
    EXPECT_EQ(got.back().first, "Handle_name");
    EXPECT_EQ(got.back().second, "\\Device\\HarddiskVolume2\\Users\\test\\document.txt");
  }
  EXPECT_NE(line_of(rec, Format::kv).find(",Handle=0x24,Handle_name=\"\\\\Device\\\\"),
            std::string::npos);
}

TEST(WindowsFormat, FromParentModuleAndImagePathWhenKnown) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.nargs = 1;
  test::add_extra(rb, event::Extra::method, 0, "NtClose");
  test::add_extra(rb, event::Extra::previous_mode, 0, std::string_view("\0", 1));
  test::add_extra(rb, event::Extra::from_module, 0, test::utf16le("\\windows\\system32\\ntdll.dll"));
  test::add_extra(rb, event::Extra::from_parent_module, 0,
                  test::utf16le("\\windows\\system32\\kernelbase.dll"));
  test::add_extra(rb, event::Extra::image_path, 0, test::utf16le("\\Windows\\notepad.exe"));
  auto got = fields(line_of(rb.done(), Format::json));
  expect_seed_subsequence({{"NArgs", "1"}, {"PreviousMode", "Kernel"},
                           {"FromModule", "\\windows\\system32\\ntdll.dll"},
                           {"FromParentModule", "\\windows\\system32\\kernelbase.dll"},
                           {"ImagePath", "\\Windows\\notepad.exe"}, {"Handle", "0x0"}},
                          got);
}

TEST(WindowsFormat, NtstatusNamesAndUnknownCodes) {
  std::string s;
  auto text = [&s](uint32_t v) {
    s.clear();
    output::append_ntstatus_text(s, v);
    return s;
  };
  EXPECT_EQ(text(0), "STATUS_SUCCESS");
  EXPECT_EQ(text(0x103), "STATUS_PENDING");
  EXPECT_EQ(text(0xC0000034), "STATUS_OBJECT_NAME_NOT_FOUND");
  EXPECT_EQ(text(0x80000005), "STATUS_BUFFER_OVERFLOW");
  EXPECT_EQ(text(0x10001), "DBG_EXCEPTION_HANDLED");
  // DRAKVUF's SEVERITY:CUSTOMER:FACILITY:0xCODE for the unnamed (from its real logs).
  EXPECT_EQ(text(0xd10508f0), "ERROR:0:UNKNOWN:0x8f0");
  EXPECT_EQ(text(0x71050907), "INFO:1:UNKNOWN:0x907");
  EXPECT_EQ(text(0x140399), "SUCCESS:0:ACPI_ERROR_CODE:0x399");
  EXPECT_EQ(text(0x7ea6), "SUCCESS:0:NONE:0x7ea6");
  EXPECT_EQ(text(0xb7050963), "WARNING:1:UNKNOWN:0x963");
}

TEST(WindowsFormat, NonStatusReturnsKeepTheRegisterAndRichDropsInfo) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.kind = event::Kind::sysret;
  r.abi = event::Abi::win_win32k;
  r.ret = 0x2acb720;
  test::add_extra(rb, event::Extra::method, 0, "NtUserGetProp");  // returns a HANDLE
  const event::Record& rec = rb.done();
  auto raw = fields(line_of(rec, Format::json));
  EXPECT_EQ(value_of(raw, "Ret"), "0x2acb720");
  EXPECT_EQ(value_of(raw, "Info"), "SUCCESS:0:UNKNOWN:0xb720");  // as DRAKVUF
  auto rich = fields(line_of(rec, Format::json, ArgStyle::rich));
  EXPECT_EQ(value_of(rich, "Info"), "");
}

TEST(WindowsFormat, UnknownRoutineFallsBack) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.abi = event::Abi::win_win32k;
  r.nr = 0x123;
  r.nargs = 2;
  r.args[0] = 7;
  r.args[1] = 8;
  test::add_extra(rb, event::Extra::method, 0, "NtUserNotInAnyTable");
  auto got = fields(line_of(rb.done(), Format::json));
  EXPECT_EQ(value_of(got, "Method"), "NtUserNotInAnyTable");
  EXPECT_EQ(value_of(got, "NArgs"), "2");
  EXPECT_EQ(value_of(got, "Arg0"), "0x7");
  EXPECT_EQ(value_of(got, "Arg1"), "0x8");

  RecordBuf nb;  // no method extra at all
  event::Record& n = nb.rec();
  test::fill_windows_context(n);
  n.nr = 85;
  auto ng = fields(line_of(nb.done(), Format::json));
  EXPECT_EQ(value_of(ng, "Method"), "sys_85");
  EXPECT_EQ(value_of(ng, "NArgs"), "0");
}

// ---- UTF-16 and hostile records ----

TEST(WindowsFormat, Utf16Conversion) {
  auto conv = [](std::string_view bytes) {
    std::string out;
    output::append_utf16le_as_utf8(out, reinterpret_cast<const unsigned char*>(bytes.data()),
                                   bytes.size());
    return out;
  };
  EXPECT_EQ(conv(test::utf16le("abc")), "abc");
  EXPECT_EQ(conv(std::string_view("\xe9\x00", 2)), "\xc3\xa9");                  // é
  EXPECT_EQ(conv(std::string_view("\x3d\xd8\x00\xde", 4)), "\xf0\x9f\x98\x80");  // U+1F600
  EXPECT_EQ(conv(std::string_view("\x3d\xd8" "a\x00", 4)), "\xef\xbf\xbd" "a");  // lone high
  EXPECT_EQ(conv(std::string_view("\x00\xde", 2)), "\xef\xbf\xbd");              // lone low
  EXPECT_EQ(conv(std::string_view("\x3d\xd8", 2)), "\xef\xbf\xbd");              // high at end
  EXPECT_EQ(conv(std::string_view("a\x00z", 3)), "a\xef\xbf\xbd");               // odd length
  EXPECT_EQ(conv(""), "");
}

TEST(WindowsFormat, HostileExtrasStayValidJson) {
  const std::string lone = std::string("\x00\xd8", 2) + test::utf16le("x\"\n") + "\x41";
  std::string big(40000, '\0');
  for (size_t i = 0; i < big.size(); i += 2) big[i] = static_cast<char>('A' + i % 26);
  struct Case {
    const char* what;
    std::string method;
    std::string text;
    event::Capture st;
  } cases[] = {
      {"bad method bytes", std::string("Nt\"Cre\nate", 10), test::utf16le("a"), event::Capture::ok},
      {"odd and lone surrogates", "NtCreateFile", lone, event::Capture::ok},
      {"huge text", "NtCreateFile", big, event::Capture::truncated},
      {"unreadable text", "NtCreateFile", "", event::Capture::unreadable},
      {"state byte out of range", "NtCreateFile", test::utf16le("ok"), static_cast<event::Capture>(77)},
  };
  for (const Case& c : cases) {
    alignas(8) static unsigned char buf[64 * 1024];
    event::Builder b(buf, sizeof(buf));
    event::Record& r = b.rec();
    test::fill_windows_context(r);
    r.nargs = 200;  // more than any table: capped
    b.add_extra(event::Extra::method, 0, c.method.data(), c.method.size());
    b.add_extra(event::Extra::arg_text, 2, c.text.data(), c.text.size(), c.st);
    b.add_extra(event::Extra::arg_text, 250, "x", 1);    // argument index out of range
    b.add_extra(event::Extra::handle_name, 17, "\x01", 1);  // odd length
    b.add_extra(event::Extra::from_module, 0, c.text.data(), c.text.size(), c.st);
    b.add_extra(event::Extra::previous_mode, 0, "", 0);  // empty
    b.finish();
    for (ArgStyle st : {ArgStyle::raw, ArgStyle::rich}) {
      std::string json = line_of(r, Format::json, st);
      auto got = fields(json);
      EXPECT_FALSE(got.empty()) << c.what;
      EXPECT_FALSE(has_key(got, "PreviousMode")) << c.what;
      for (Format f : {Format::kv, Format::csv, Format::drakvuf_default}) {
        std::string text = line_of(r, f, st);
        EXPECT_EQ(text.find('\n'), text.size() - 1) << c.what;  // one line
      }
    }
    if (c.method[2] == '"') {
      EXPECT_EQ(value_of(fields(line_of(r, Format::json)), "Method"), "sys_0");
    }
  }
  // A record whose size lies about its extras (cut in the middle of one).
  RecordBuf rb;
  const event::Record& good = test::ntcreatefile_entry(rb);
  alignas(8) static unsigned char cut[8192];
  std::memcpy(cut, &good, good.size);
  auto* bad = reinterpret_cast<event::Record*>(cut);
  bad->size = sizeof(event::Record) + 20;
  EXPECT_FALSE(fields(line_of(*bad, Format::json)).empty());
  bad->blob_len[3] = 60000;  // blob lengths beyond the record: extras unreachable
  EXPECT_EQ(value_of(fields(line_of(*bad, Format::json)), "Method"), "sys_85");
}

TEST(WindowsFormat, StringLimitCutsOnACharacterBoundary) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.nargs = 1;
  test::add_extra(rb, event::Extra::method, 0, "NtDeleteFile");
  std::string s;
  for (int i = 0; i < 10; ++i) s.append("\xe9\x00", 2);  // "éééééééééé"
  test::add_extra(rb, event::Extra::arg_text, 0, s);
  FormatOptions opt;
  opt.string_limit = 5;  // 2.5 characters of 2 bytes
  std::string out;
  output::format_event(rb.done(), 1, opt, out);
  EXPECT_EQ(value_of(fields(out), "ObjectAttributes"), "\xc3\xa9\xc3\xa9...");
}

// ---- UserName of a SID no name resolves: its standard string ----

std::string sid_text(std::initializer_list<uint8_t> bytes) {
  std::vector<uint8_t> v(bytes);
  char buf[200];
  return std::string(output::format_sid(v, buf));
}

TEST(WindowsFormat, SidStrings) {
  // S-1-5-21-111-222-333-1001 (sub-authorities little-endian in memory).
  EXPECT_EQ(sid_text({1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 111, 0, 0, 0, 222, 0, 0, 0,
                      0x4d, 1, 0, 0, 0xe9, 3, 0, 0}),
            "S-1-5-21-111-222-333-1001");
  EXPECT_EQ(sid_text({1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "S-1-0-0");
  EXPECT_EQ(sid_text({1, 1, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff}), "S-1-5-4294967295");
  // An authority of 2^32 or more is written in hex, as Windows does.
  EXPECT_EQ(sid_text({1, 1, 0, 1, 0, 0, 0, 0, 7, 0, 0, 0}), "S-1-0x000100000000-7");
  // Not a SID: bad revision, no or too many sub-authorities, a length that lies.
  EXPECT_EQ(sid_text({2, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}), "");
  EXPECT_EQ(sid_text({1, 0, 0, 0, 0, 0, 0, 5}), "");
  EXPECT_EQ(sid_text({1, 2, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}), "");
  std::vector<uint8_t> big(8 + 4 * 16, 0xff);
  big[0] = 1;
  big[1] = 16;
  char buf[200];
  EXPECT_EQ(output::format_sid(big, buf), "");
  // The longest one fits: 15 sub-authorities of 10 digits each.
  big.resize(8 + 4 * 15);
  big[1] = 15;
  std::string longest(output::format_sid(big, buf));
  EXPECT_EQ(longest, "S-1-0xffffffffffff" + [] {
    std::string t;
    for (int i = 0; i < 15; ++i) t += "-4294967295";
    return t;
  }());
}

TEST(WindowsFormat, UserNameIsTheSidWhenNoNameResolved) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_windows_context(r);
  r.kind = event::Kind::sysret;
  r.nr = 85;
  test::add_extra(rb, event::Extra::method, 0, "NtCreateFile");
  const uint8_t sid[16] = {1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xe9, 3, 0, 0};
  test::add_extra(rb, event::Extra::user_sid, 0,
                  std::string_view(reinterpret_cast<const char*>(sid), sizeof sid));
  const event::Record& done = rb.done();
  EXPECT_EQ(value_of(fields(line_of(done, Format::json)), "UserName"), "S-1-5-21-1001");
  EXPECT_NE(line_of(done, Format::kv).find("UserName=\"S-1-5-21-1001\""), std::string::npos);
  // A garbage SID never shows: DRAKVUF's label instead, never an empty name.
  RecordBuf rb2;
  event::Record& r2 = rb2.rec();
  test::fill_windows_context(r2);
  r2.kind = event::Kind::sysret;
  test::add_extra(rb2, event::Extra::user_sid, 0, std::string_view("\1\x30junk", 6));
  EXPECT_EQ(value_of(fields(line_of(rb2.done(), Format::json)), "UserName"), "SessionID");
}

}  // namespace

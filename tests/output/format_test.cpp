// Output layouts: golden lines for the four formats, JSON validity and types,
// argument rendering, and records that a hostile or broken producer could send.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "common/error.hpp"
#include "output/format.hpp"
#include "record_helpers.hpp"

using namespace vmitrace;
using output::Format;
using output::FormatOptions;
using test::RecordBuf;

namespace {

std::string fmt_line(const event::Record& r, uint64_t uid, Format f,
                     FormatOptions opt = FormatOptions{}) {
  opt.format = f;
  std::string out;
  output::format_event(r, uid, opt, out);
  return out;
}

// Parses one JSON line (simdjson), failing the test when it is not valid JSON.
struct Parsed {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  explicit Parsed(const std::string& line) {
    simdjson::dom::element e;
    auto err = parser.parse(line).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << line;
    if (!err) err = e.get_object().get(obj);
    EXPECT_EQ(err, simdjson::SUCCESS) << line;
  }
  std::string str(const char* k) {
    std::string_view v;
    EXPECT_EQ(obj[k].get_string().get(v), simdjson::SUCCESS) << k;
    return std::string(v);
  }
  int64_t num(const char* k) {
    int64_t v = 0;
    EXPECT_EQ(obj[k].get_int64().get(v), simdjson::SUCCESS) << k;
    return v;
  }
};

// ---- golden lines (DESIGN.md layouts, with our field set) ----

TEST(FormatGolden, OpenatEntryJson) {
  RecordBuf rb;
  EXPECT_EQ(fmt_line(test::openat_entry(rb), 0x2a, Format::json),
            R"({"Plugin":"syscall","TimeStamp":"1700000000.123456","PID":1234,"PPID":1000,)"
            R"("TID":1234,"UserName":"root","UserId":0,"ProcessName":"cat","Method":"openat",)"
            R"("EventUID":"0x2a","ThreadName":"cat","Module":"x64_sys_call","vCPU":1,)"
            R"("CR3":"0x1ad2c000","Syscall":257,"NArgs":4,"Type":"x64","dfd":"0xffffff9c",)"
            R"("filename":"/etc/passwd","flags":"0x0","mode":"0x0"})"
            "\n");
}

TEST(FormatGolden, OpenatEntryKv) {
  RecordBuf rb;
  EXPECT_EQ(fmt_line(test::openat_entry(rb), 0x2a, Format::kv),
            R"(syscall Time=1700000000.123456,PID=1234,PPID=1000,TID=1234,ProcessName="cat",)"
            R"(Method=openat,UserName="root",UserId=0,EventUID=0x2A,ThreadName="cat",)"
            R"(Module="x64_sys_call",vCPU=1,CR3=0x1AD2C000,Syscall=257,NArgs=4,Type="x64",)"
            R"(dfd=0xFFFFFF9C,filename="/etc/passwd",flags=0x0,mode=0x0)"
            "\n");
}

TEST(FormatGolden, OpenatEntryCsv) {
  RecordBuf rb;
  EXPECT_EQ(fmt_line(test::openat_entry(rb), 0x2a, Format::csv),
            R"(syscall 1700000000.123456,1,0x1AD2C000,0,1234,1000,1234,"cat",openat,"root",)"
            R"(0x2A,"cat","x64_sys_call",1,0x1AD2C000,257,4,"x64",0xFFFFFF9C,"/etc/passwd",)"
            R"(0x0,0x0)"
            "\n");
}

TEST(FormatGolden, OpenatEntryDefault) {
  RecordBuf rb;
  EXPECT_EQ(fmt_line(test::openat_entry(rb), 0x2a, Format::drakvuf_default),
            R"([SYSCALL] TIME:1700000000.123456 VCPU:1 CR3:0x1AD2C000 "cat":openat UID:0 )"
            R"(PID:1234 PPID:1000 TID:1234 UserName:"root" EventUID:0x2A ThreadName:"cat" )"
            R"(Module:"x64_sys_call" vCPU:1 CR3:0x1AD2C000 Syscall:257 NArgs:4 Type:"x64" )"
            R"(dfd:0xFFFFFF9C filename:"/etc/passwd" flags:0x0 mode:0x0)"
            "\n");
}

TEST(FormatGolden, OpenatReturnAllFormats) {
  RecordBuf rb;
  const event::Record& r = test::openat_return(rb, 3);
  EXPECT_EQ(fmt_line(r, 0x2b, Format::json),
            R"({"Plugin":"sysret","TimeStamp":"1700000000.123457","PID":1234,"PPID":1000,)"
            R"("TID":1234,"UserId":0,"ProcessName":"cat","Method":"openat","EventUID":"0x2b",)"
            R"("Module":"x64_sys_call","vCPU":1,"CR3":"0x1ad2c000","Syscall":257,"Ret":"0x3",)"
            R"("Info":""})"
            "\n");
  EXPECT_EQ(fmt_line(r, 0x2b, Format::kv),
            R"(sysret Time=1700000000.123457,PID=1234,PPID=1000,TID=1234,ProcessName="cat",)"
            R"(Method=openat,UserId=0,EventUID=0x2B,Module="x64_sys_call",vCPU=1,)"
            R"(CR3=0x1AD2C000,Syscall=257,Ret=0x3,Info="")"
            "\n");
  EXPECT_EQ(fmt_line(r, 0x2b, Format::csv),
            R"(sysret 1700000000.123457,1,0x1AD2C000,0,1234,1000,1234,"cat",openat,0x2B,)"
            R"("x64_sys_call",1,0x1AD2C000,257,0x3,"")"
            "\n");
  EXPECT_EQ(fmt_line(r, 0x2b, Format::drakvuf_default),
            R"([SYSRET] TIME:1700000000.123457 VCPU:1 CR3:0x1AD2C000 "cat":openat UID:0 )"
            R"(PID:1234 PPID:1000 TID:1234 EventUID:0x2B Module:"x64_sys_call" vCPU:1 )"
            R"(CR3:0x1AD2C000 Syscall:257 Ret:0x3 Info:"")"
            "\n");
}

// ---- JSON validity and field types (what capa and drakvuf-sandbox need) ----

TEST(FormatJson, TypesOfEntryFields) {
  RecordBuf rb;
  Parsed p(fmt_line(test::openat_entry(rb), 7, Format::json));
  EXPECT_EQ(p.str("Plugin"), "syscall");
  EXPECT_EQ(p.str("TimeStamp"), "1700000000.123456");
  EXPECT_EQ(p.num("PID"), 1234);
  EXPECT_EQ(p.num("PPID"), 1000);
  EXPECT_EQ(p.num("TID"), 1234);
  EXPECT_EQ(p.num("UserId"), 0);
  EXPECT_EQ(p.num("vCPU"), 1);
  EXPECT_EQ(p.num("Syscall"), 257);
  EXPECT_EQ(p.num("NArgs"), 4);
  EXPECT_EQ(p.str("EventUID"), "0x7");
  EXPECT_EQ(p.str("CR3"), "0x1ad2c000");
  EXPECT_EQ(p.str("Method"), "openat");
  // Every argument value is a string.
  for (const char* k : {"dfd", "filename", "flags", "mode"}) {
    EXPECT_TRUE(p.obj[k].is_string()) << k;
  }
}

TEST(FormatJson, EnoentReturn) {
  RecordBuf rb;
  Parsed p(fmt_line(test::openat_return(rb, -2), 8, Format::json));
  EXPECT_EQ(p.str("Plugin"), "sysret");
  EXPECT_EQ(p.str("Ret"), "0xfffffffffffffffe");
  EXPECT_EQ(p.str("Info"), "ENOENT");
  EXPECT_EQ(p.num("Syscall"), 257);
  EXPECT_EQ(p.num("PID"), 1234);
}

TEST(FormatJson, NonErrorNegativeReturnHasNoInfo) {
  RecordBuf rb;
  // An mmap address in the top of the address space is not an errno.
  Parsed p(fmt_line(test::openat_return(rb, -4096), 8, Format::json));
  EXPECT_EQ(p.str("Info"), "");
  EXPECT_EQ(p.str("Ret"), "0xfffffffffffff000");
}

TEST(FormatJson, UnknownContextIsStillAnInt) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.pid = r.ppid = r.tid = r.uid = -1;
  r.nr = 39;  // getpid
  Parsed p(fmt_line(rb.done(), 1, Format::json));
  EXPECT_EQ(p.num("PID"), -1);
  EXPECT_EQ(p.num("UserId"), -1);
  EXPECT_EQ(p.num("NArgs"), 0);
  EXPECT_EQ(p.str("Method"), "getpid");
}

// ---- argument rendering ----

TEST(FormatArgs, EscapingInJsonAndText) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  std::memcpy(r.process_name, "a\"b\\c\n", 6);
  r.nr = 2;  // open(filename, flags, mode)
  std::string path = "q\"\r\n\x01\x7f" "caf\xc3\xa9" "\xff\xc3\x28";
  rb.blob(0, path);
  const event::Record& rec = rb.done();

  std::string json = fmt_line(rec, 1, Format::json);
  EXPECT_NE(json.find(R"("filename":"q\"\r\n\u0001\u007fcafé\u00ff\u00c3(")"), std::string::npos)
      << json;
  Parsed p(json);
  EXPECT_EQ(p.str("ProcessName"), "a\"b\\c\n");
  // Invalid bytes come back as the code points of their values (Latin-1).
  EXPECT_EQ(p.str("filename"), "q\"\r\n\x01\x7f" "caf\xc3\xa9" "\xc3\xbf\xc3\x83(");

  std::string kv = fmt_line(rec, 1, Format::kv);
  EXPECT_NE(kv.find(R"(ProcessName="a\"b\\c\n")"), std::string::npos) << kv;
  EXPECT_NE(kv.find(R"(filename="q\"\r\n\u0001\u007fcafé\u00ff\u00c3(")"), std::string::npos) << kv;
  // One event, one line.
  for (Format f : {Format::json, Format::kv, Format::csv, Format::drakvuf_default}) {
    std::string line = fmt_line(rec, 1, f);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_EQ(line.find('\r'), std::string::npos);
  }
}

TEST(FormatArgs, TruncationMarker) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.nr = 2;
  rb.blob(0, "/very/long/pa", event::Capture::truncated);
  const event::Record& rec = rb.done();
  EXPECT_EQ(Parsed(fmt_line(rec, 1, Format::json)).str("filename"), "/very/long/pa...");
  EXPECT_NE(fmt_line(rec, 1, Format::kv).find(R"(filename="/very/long/pa...")"), std::string::npos);

  FormatOptions small;
  small.string_limit = 5;
  RecordBuf rb2;
  const event::Record& full = test::openat_entry(rb2);
  EXPECT_EQ(Parsed(fmt_line(full, 1, Format::json, small)).str("filename"), "/etc/...");
}

TEST(FormatArgs, UnreadableOrMissingStringShowsThePointer) {
  for (event::Capture st : {event::Capture::unreadable, event::Capture::none}) {
    RecordBuf rb;
    event::Record& r = rb.rec();
    test::fill_context(r);
    r.nr = 2;
    r.args[0] = 0x7ffd1234abcdull;
    rb.blob(0, "", st);
    const event::Record& rec = rb.done();
    EXPECT_EQ(Parsed(fmt_line(rec, 1, Format::json)).str("filename"), "0x7ffd1234abcd");
    EXPECT_NE(fmt_line(rec, 1, Format::kv).find("filename=0x7FFD1234ABCD,"), std::string::npos);
  }
}

TEST(FormatArgs, ProtPrctlArchPrctl) {
  auto one = [](uint32_t nr, unsigned i, uint64_t v, const char* key) {
    RecordBuf rb;
    event::Record& r = rb.rec();
    test::fill_context(r);
    r.nr = nr;
    r.args[i] = v;
    return Parsed(fmt_line(rb.done(), 1, Format::json)).str(key);
  };
  EXPECT_EQ(one(10, 2, 3, "prot"), "PROT_READ | PROT_WRITE");            // mprotect
  EXPECT_EQ(one(10, 2, 0, "prot"), "PROT_NONE");
  EXPECT_EQ(one(9, 2, 5, "prot"), "PROT_READ | PROT_EXEC");              // mmap
  EXPECT_EQ(one(9, 2, 0x11, "prot"), "PROT_READ | 0x10");
  EXPECT_EQ(one(9, 2, 0x40, "prot"), "0x40");
  EXPECT_EQ(one(157, 0, 15, "option"), "PR_SET_NAME");                    // prctl
  EXPECT_EQ(one(157, 0, 0xffffffff00000016ull, "option"), "PR_SET_SECCOMP");  // int: 32 bits
  EXPECT_EQ(one(157, 0, 9999, "option"), "0x270f");
  EXPECT_EQ(one(158, 0, 0x1002, "option"), "ARCH_SET_FS");                // arch_prctl
  EXPECT_EQ(one(158, 0, 0x9999, "option"), "0x9999");
  EXPECT_EQ(one(9, 0, 0x7f0000001000ull, "addr"), "0x7f0000001000");

  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.nr = 10;
  r.args[2] = 0x1000003;
  EXPECT_NE(fmt_line(rb.done(), 1, Format::kv).find(R"(prot="PROT_READ | PROT_WRITE | PROT_GROWSDOWN")"),
            std::string::npos);
}

TEST(FormatArgs, Ia32ArgsAreMaskedTo32Bits) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.abi = event::Abi::linux_ia32;
  r.nr = 192;  // mmap2
  r.args[0] = 0xdeadbeef00001000ull;
  r.args[1] = 0x12345678ffffffffull;
  r.args[2] = 0x100000007ull;
  Parsed p(fmt_line(rb.done(), 1, Format::json));
  EXPECT_EQ(p.str("Type"), "x32");
  EXPECT_EQ(p.str("Method"), "mmap2");
  EXPECT_EQ(p.str("addr"), "0x1000");
  EXPECT_EQ(p.str("len"), "0xffffffff");
  EXPECT_EQ(p.str("prot"), "PROT_READ | PROT_WRITE | PROT_EXEC");
}

TEST(FormatArgs, Ia32ReturnIs32BitsWide) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.kind = event::Kind::sysret;
  r.abi = event::Abi::linux_ia32;
  r.nr = 5;
  r.ret = -2;
  Parsed p(fmt_line(rb.done(), 1, Format::json));
  EXPECT_EQ(p.str("Ret"), "0xfffffffe");
  EXPECT_EQ(p.str("Info"), "ENOENT");
  EXPECT_EQ(p.str("Method"), "open");

  RecordBuf rb2;
  event::Record& r2 = rb2.rec();
  test::fill_context(r2);
  r2.kind = event::Kind::sysret;
  r2.abi = event::Abi::linux_ia32;
  r2.nr = 192;
  r2.ret = 0xf7f00000;  // an address, not an error
  Parsed p2(fmt_line(rb2.done(), 1, Format::json));
  EXPECT_EQ(p2.str("Ret"), "0xf7f00000");
  EXPECT_EQ(p2.str("Info"), "");
}

// ---- records a broken or hostile producer could send ----

TEST(FormatHostile, UnknownSyscallNumber) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  r.nr = 999;
  r.nargs = 200;  // never trusted beyond 6 Linux arguments
  r.args[0] = 1;
  r.args[5] = 0xabc;
  std::string line = fmt_line(rb.done(), 1, Format::json);
  Parsed p(line);
  EXPECT_EQ(p.str("Method"), "sys_999");
  EXPECT_EQ(p.num("NArgs"), 6);
  EXPECT_EQ(p.str("arg0"), "0x1");
  EXPECT_EQ(p.str("arg5"), "0xabc");
  EXPECT_EQ(line.find("arg6"), std::string::npos);
  EXPECT_NE(fmt_line(rb.rec(), 1, Format::drakvuf_default).find("\"cat\":sys_999 "),
            std::string::npos);
}

TEST(FormatHostile, CorruptBlobLengthsDoNotCrash) {
  RecordBuf rb;
  const event::Record& good = test::openat_entry(rb);
  event::Record& r = const_cast<event::Record&>(good);
  r.blob_len[1] = 60000;  // beyond the record
  for (Format f : {Format::json, Format::kv, Format::csv, Format::drakvuf_default}) {
    std::string line = fmt_line(r, 1, f);
    EXPECT_EQ(line.back(), '\n');
  }
  // The string falls back to its pointer.
  EXPECT_EQ(Parsed(fmt_line(r, 1, Format::json)).str("filename"), "0x7ffd5e4c1000");

  r.blob_len[1] = 11;
  r.blob_state[1] = static_cast<event::Capture>(77);  // not a state of ours
  EXPECT_EQ(Parsed(fmt_line(r, 1, Format::json)).str("filename"), "0x7ffd5e4c1000");

  r.blob_state[1] = event::Capture::ok;
  r.size = 3;  // smaller than the header says
  EXPECT_EQ(Parsed(fmt_line(r, 1, Format::json)).str("filename"), "0x7ffd5e4c1000");
}

TEST(FormatHostile, UnterminatedNamesAndBadKind) {
  RecordBuf rb;
  event::Record& r = rb.rec();
  test::fill_context(r);
  std::memset(r.process_name, 'P', sizeof(r.process_name));  // no NUL
  std::memset(r.module, '\xff', sizeof(r.module));
  r.kind = static_cast<event::Kind>(9);
  r.abi = static_cast<event::Abi>(200);
  r.nargs = 255;
  Parsed p(fmt_line(rb.done(), 1, Format::json));
  EXPECT_EQ(p.str("ProcessName"), std::string(16, 'P'));
  EXPECT_LE(p.num("NArgs"), static_cast<int64_t>(event::kMaxArgs));
}

TEST(ParseFormat, NamesAndErrors) {
  EXPECT_EQ(output::parse_format("json"), Format::json);
  EXPECT_EQ(output::parse_format("kv"), Format::kv);
  EXPECT_EQ(output::parse_format("csv"), Format::csv);
  EXPECT_EQ(output::parse_format("default"), Format::drakvuf_default);
  EXPECT_THROW(output::parse_format("xml"), Error);
  EXPECT_THROW(output::parse_format(""), Error);
  EXPECT_THROW(output::parse_format("JSON"), Error);
  try {
    output::parse_format("yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("yaml"), std::string::npos);
  }
}

TEST(FormatEvent, AppendsToExistingText) {
  RecordBuf rb;
  const event::Record& r = test::openat_entry(rb);
  std::string out = "previous\n";
  output::format_event(r, 1, FormatOptions{}, out);
  output::format_event(r, 2, FormatOptions{}, out);
  EXPECT_EQ(out.rfind("previous\n{", 0), 0u);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
}

}  // namespace

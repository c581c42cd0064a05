// The ISF loader on the real profiles in ../shared/data (Volatility3 Windows,
// dwarf2json Linux) and on small synthetic documents, including every kind of
// bad input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <functional>

#include "common/error.hpp"
#include "profile/profile.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;
using test::TempDir;

using test::error_of;

namespace {

const char* kSmall = R"({
  "metadata": {"format": "6.2.0", "producer": {"name": "test", "version": "1.0.0"},
               "linux": {"symbols": [{"kind": "symtab", "name": "x"}]}},
  "base_types": {"int": {"kind": "int", "size": 4, "signed": true, "endian": "little"},
                 "pointer": {"kind": "int", "size": 8, "signed": false, "endian": "little"}},
  "user_types": {
    "outer": {"kind": "struct", "size": 64, "fields": {
      "a": {"offset": 0, "type": {"kind": "base", "name": "int"}},
      "inner": {"offset": 16, "type": {"kind": "struct", "name": "inner"}},
      "unnamed_field_20": {"offset": 32, "anonymous": true, "type": {"kind": "union", "name": "anon_u"}},
      "p": {"offset": 48, "type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "inner"}}},
      "bits": {"offset": 56, "type": {"kind": "bitfield", "bit_position": 3, "bit_length": 5,
                                       "type": {"kind": "base", "name": "int"}}}}},
    "inner": {"kind": "struct", "size": 16, "fields": {
      "x": {"offset": 8, "type": {"kind": "array", "count": 2, "subtype": {"kind": "base", "name": "int"}}}}},
    "anon_u": {"kind": "union", "size": 8, "fields": {
      "u1": {"offset": 0, "type": {"kind": "base", "name": "int"}},
      "deep": {"offset": 4, "type": {"kind": "struct", "name": "inner"}}}}},
  "enums": {"color": {"size": 4, "base": "int", "constants": {"RED": 0, "BLUE": -2}}},
  "symbols": {"big": {"address": 18446744071562067968},
              "linux_banner": {"address": 16, "constant_data": "TGludXggdmVyc2lvbiA2LjEK"}}
})";

}  // namespace

TEST(IsfParse, SyntheticDocument) {
  Profile p = Profile::parse(kSmall, "small.json");
  EXPECT_EQ(p.metadata.os, "linux");
  EXPECT_EQ(p.metadata.producer_name, "test");
  EXPECT_EQ(p.metadata.pointer_size, 8u);
  EXPECT_EQ(p.metadata.banner, "Linux version 6.1\n");
  EXPECT_EQ(p.symbol("big"), 0xffffffff80000000ull);
  EXPECT_FALSE(p.symbol("nope"));
  EXPECT_EQ(p.struct_size("outer"), 64u);
  EXPECT_EQ(p.field_offset("outer", "a"), 0u);
  EXPECT_EQ(p.field_offset("outer", "inner.x"), 24u);       // dotted path
  EXPECT_EQ(p.field_offset("outer", "u1"), 32u);            // through the anonymous union
  EXPECT_EQ(p.field_offset("outer", "deep.x"), 32u + 4 + 8);  // anonymous, then dotted
  EXPECT_FALSE(p.field_offset("outer", "p.x"));             // pointers are not walked into
  EXPECT_FALSE(p.field_offset("outer", "missing"));
  EXPECT_FALSE(p.field_offset("nosuch", "a"));
  const Field* bits = p.field("outer", "bits");
  ASSERT_TRUE(bits);
  EXPECT_EQ(bits->type.kind, "bitfield");
  EXPECT_EQ(bits->type.bit_position, 3u);
  EXPECT_EQ(bits->type.bit_length, 5u);
  ASSERT_TRUE(bits->type.subtype);
  EXPECT_EQ(bits->type.subtype->name, "int");
  const Field* arr = p.field("inner", "x");
  ASSERT_TRUE(arr);
  EXPECT_EQ(arr->type.count, 2u);
  EXPECT_EQ(p.enum_value("color", "BLUE"), -2);
  EXPECT_FALSE(p.enum_value("color", "GREEN"));
}

TEST(IsfParse, WriterRoundTrip) {
  Profile p = Profile::parse(kSmall, "small.json");
  Profile q = Profile::parse(to_isf_json(p), "roundtrip");
  EXPECT_EQ(to_isf_json(q), to_isf_json(p));
  EXPECT_EQ(q.field_offset("outer", "deep.x"), 44u);
  EXPECT_EQ(q.symbol("big"), 0xffffffff80000000ull);
  EXPECT_EQ(q.symbols.at("linux_banner").constant_data, "Linux version 6.1\n");
  EXPECT_TRUE(q.field("outer", "unnamed_field_20")->anonymous);
}

TEST(IsfParse, BadInputGivesOneLineErrors) {
  struct Case {
    const char* json;
    const char* expect;  // prefix of the message after "t.json: "
  } cases[] = {
      {"", "invalid JSON"},
      {"[1, 2]", "not an ISF file (not a JSON object)"},
      {R"({"a": 1})", "not an ISF file (no \"metadata\")"},
      {R"({"metadata": {}, "base_types": {}, "user_types": {}, "enums": {}})", "not an ISF file (no \"symbols\")"},
      {R"({"metadata": {}, "base_types": {}, "user_types": [], "enums": {}, "symbols": {}})",
       "bad ISF at user_types: user_types is not a JSON object"},
      {R"({"metadata": {}, "base_types": {}, "user_types": {}, "enums": {}, "symbols": {"s": {"address": "x"}}})",
       "bad ISF at symbols.s: expected an integer"},
      {R"({"metadata": {}, "base_types": {}, "user_types": {"t": {"kind": "struct", "size": 1, "fields": {"f": {"offset": 0}}}}, "enums": {}, "symbols": {}})",
       "bad ISF at user_types.t: field \"f\" has no type"},
      {R"({"metadata": {}, "base_types": {}, "user_types": {}, "enums": {}, "symbols": {"s": {"address": 1, "constant_data": "@@"}}})",
       "bad ISF at symbols.s: constant_data is not base64"},
      {R"({"metadata": {"format": "6.2.0"}, "base_types": {"int": {"kind": "int", "size": 4)", "invalid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    std::string e = error_of([&] { Profile::parse(c.json, "t.json"); });
    EXPECT_EQ(e.rfind(std::string("t.json: ") + c.expect, 0), 0u) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(IsfLoad, FileErrors) {
  TempDir d;
  std::string missing = d.path() + "/none.json";
  EXPECT_EQ(error_of([&] { Profile::load(missing); }), missing + ": No such file or directory");
  EXPECT_EQ(error_of([&] { Profile::load(d.path()); }), d.path() + ": is a directory");
  std::string empty = d.file("empty.json", std::string());
  EXPECT_EQ(error_of([&] { Profile::load(empty); }), empty + ": empty file (not an ISF profile)");
  std::string full(kSmall);
  std::string trunc = d.file("trunc.json", full.substr(0, full.size() / 2));
  EXPECT_EQ(error_of([&] { Profile::load(trunc); }).rfind(trunc + ": invalid JSON", 0), 0u);
  std::string badxz = d.file("bad.json.xz", std::string("\xFD" "7zXZ\0garbage garbage garbage", 30));
  EXPECT_EQ(error_of([&] { Profile::load(badxz); }).rfind(badxz + ": ", 0), 0u);
  EXPECT_NE(error_of([&] { Profile::load(badxz); }).find("xz"), std::string::npos);
  std::string notisf = d.file("other.json", R"({"name": "not a profile", "list": [1, 2, 3]})");
  EXPECT_EQ(error_of([&] { Profile::load(notisf); }), notisf + ": not an ISF file (no \"metadata\")");
}

TEST(IsfLoad, GzipByContent) {
  TempDir d;
  std::string path = d.path() + "/small.isf";  // no extension: detected by content
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  gzwrite(f, kSmall, unsigned(std::strlen(kSmall)));
  gzclose(f);
  Profile p = Profile::load(path);
  EXPECT_EQ(p.field_offset("outer", "inner.x"), 24u);
}

TEST(IsfLoad, Windows10Profile) {
  std::string path = test::shared_data("windows-isf/ntkrnlmp-0B0A89438BE7729EB33FD00A7D6FA816-1.json.xz");
  if (!test::exists(path)) GTEST_SKIP() << "reference profile absent: " << path;
  Profile p = Profile::load(path);
  EXPECT_EQ(p.metadata.os, "windows");
  EXPECT_EQ(p.metadata.pdb_guid, "0B0A89438BE7729EB33FD00A7D6FA816");
  EXPECT_EQ(p.metadata.pdb_age, 1u);
  EXPECT_EQ(p.metadata.pdb_name, "ntkrnlmp.pdb");
  EXPECT_EQ(p.metadata.pointer_size, 8u);
  EXPECT_EQ(p.field_offset("_EPROCESS", "UniqueProcessId"), 0x440u);
  EXPECT_EQ(p.field_offset("_EPROCESS", "Pcb.DirectoryTableBase"), 0x28u);
  EXPECT_EQ(p.struct_size("_EPROCESS"), 2944u);
  EXPECT_EQ(p.symbol("KiServiceTable"), 825040u);  // an RVA in Windows profiles
  EXPECT_TRUE(p.symbol("PsActiveProcessHead"));
  EXPECT_EQ(p.enum_value("_POOL_TYPE", "PagedPool"), 1);
}

TEST(IsfLoad, Windows11AndWindows7Profiles) {
  struct Case {
    const char* file;
    uint64_t pid_offset;
  } cases[] = {{"windows-isf/ntkrnlmp-CA8E2F01B822EDE6357898BFBF862997-1.json.xz", 1088},
               {"windows-isf/ntkrnlmp-win7sp1-7601.24540.json.xz", 384}};
  int loaded = 0;
  for (const auto& c : cases) {
    std::string path = test::shared_data(c.file);
    if (!test::exists(path)) continue;
    Profile p = Profile::load(path);
    EXPECT_EQ(p.field_offset("_EPROCESS", "UniqueProcessId"), c.pid_offset) << c.file;
    EXPECT_TRUE(p.symbol("KiServiceTable")) << c.file;
    EXPECT_EQ(p.metadata.pdb_guid.size(), 32u) << c.file;
    ++loaded;
  }
  if (!loaded) GTEST_SKIP() << "reference profiles absent under " << test::shared_data("windows-isf");
}

TEST(IsfLoad, Dwarf2jsonLinuxProfile) {
  std::string path = test::shared_data("linux-isf/linux_deb_5.10.0-8-amd64.json.xz");
  if (!test::exists(path)) GTEST_SKIP() << "reference profile absent: " << path;
  Profile p = Profile::load(path);
  EXPECT_EQ(p.metadata.os, "linux");
  EXPECT_EQ(p.metadata.producer_name, "dwarf2json");
  EXPECT_EQ(p.metadata.symbols_kind, "dwarf");
  EXPECT_EQ(p.metadata.banner.rfind("Linux version 5.10.0-8-amd64 ", 0), 0u);
  EXPECT_EQ(p.field_offset("task_struct", "pid"), 2232u);
  EXPECT_EQ(p.field_offset("task_struct", "tgid"), 2236u);
  EXPECT_EQ(p.field_offset("task_struct", "comm"), 2696u);
  EXPECT_EQ(p.field_offset("task_struct", "thread_info.flags"), 0u);
  EXPECT_EQ(p.field_offset("__call_single_node", "u_flags"), 8u);  // inside an anonymous union
  EXPECT_EQ(p.struct_size("task_struct"), 9280u);
  EXPECT_EQ(p.field_offset("pt_regs", "orig_ax"), 120u);
  EXPECT_EQ(p.symbol("init_task"), 18446744071601994048ull);
  EXPECT_EQ(p.enum_value("pid_type", "PIDTYPE_TGID"), 1);
  EXPECT_GT(p.symbols.size(), 100000u);
  // Through our writer and back: the same model.
  Profile q = Profile::parse(to_isf_json(p), "roundtrip");
  EXPECT_EQ(q.symbols.size(), p.symbols.size());
  EXPECT_EQ(q.user_types.size(), p.user_types.size());
  EXPECT_EQ(q.field_offset("__call_single_node", "u_flags"), 8u);
  EXPECT_EQ(q.metadata.banner, p.metadata.banner);
}

// The ISF files we write validate against Volatility3's schema (checked with
// python3-jsonschema), whether the profile came from a kernel image or from a
// re-serialised real profile.
#include <gtest/gtest.h>

#include "profile/kernel_image.hpp"
#include "profile/profile.hpp"
#include "test_paths.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;

namespace {

// Returns "" when valid, else the validator's message. Skips the test when the
// schema or python3-jsonschema is missing.
std::string validate(const std::string& json_path) {
  std::string schema = test::shared_data("volatility3/schema-6.3.0.json");
  std::string cmd =
      "/usr/bin/python3 -c 'import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "doc = json.load(open(sys.argv[2]))\n"
      "try:\n"
      "    jsonschema.validate(doc, schema)\n"
      "except jsonschema.ValidationError as e:\n"
      "    print(e.message[:300], list(e.absolute_path)[:6]); sys.exit(1)\n"
      "print(\"valid\")' '" +
      schema + "' '" + json_path + "' 2>&1";
  int status = 0;
  std::string out = test::run(cmd, &status);
  if (status == 0 && out == "valid\n") return "";
  return out.empty() ? "validator failed to run" : out;
}

bool can_validate(std::string* why) {
  std::string schema = test::shared_data("volatility3/schema-6.3.0.json");
  if (!test::exists(schema)) {
    *why = "schema absent: " + schema;
    return false;
  }
  int status = 0;
  test::run("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null", &status);
  if (status != 0) {
    *why = "python3-jsonschema not installed";
    return false;
  }
  return true;
}

}  // namespace

TEST(IsfSchema, ValidatorRejectsABrokenFile) {
  // Guards the check itself: a validator that accepted everything would make
  // the tests below meaningless.
  std::string why;
  if (!can_validate(&why)) GTEST_SKIP() << why;
  test::TempDir d;
  std::string bad = d.file("bad.json", R"({"metadata": {"format": "6.2.0"}, "base_types": {"int": {"size": 4}},
    "user_types": {}, "enums": {}, "symbols": {}})");
  EXPECT_NE(validate(bad), "");
}

TEST(IsfSchema, EveryWriterConstructValidates) {
  // Small but complete: pointer, array, bitfield (base and enum), anonymous
  // member, function pointer, enum, constant_data, a name needing escapes.
  std::string why;
  if (!can_validate(&why)) GTEST_SKIP() << why;
  Profile p;
  p.metadata.os = "linux";
  p.metadata.symbols_kind = "symtab";
  p.metadata.symbols_name = "vmlinuz";
  p.base_types["int"] = BaseType{"int", 4, true, "little"};
  p.base_types["pointer"] = BaseType{"int", 8, false, "little"};
  p.base_types["void"] = BaseType{"void", 0, false, "little"};
  auto base = [](const char* n) { return TypeRef{"base", n, nullptr, 0, 0, 0}; };
  UserType u{"struct", 32, {}};
  u.fields["p"] = Field{0, TypeRef{"pointer", "", std::make_shared<TypeRef>(TypeRef{"function", "", nullptr, 0, 0, 0}), 0, 0, 0}, false};
  u.fields["a"] = Field{8, TypeRef{"array", "", std::make_shared<TypeRef>(base("int")), 4, 0, 0}, false};
  u.fields["b"] = Field{24, TypeRef{"bitfield", "", std::make_shared<TypeRef>(base("int")), 0, 3, 5}, false};
  u.fields["e"] = Field{28, TypeRef{"bitfield", "", std::make_shared<TypeRef>(TypeRef{"enum", "color", nullptr, 0, 0, 0}), 0, 0, 2}, false};
  u.fields["unnamed_field_1c"] = Field{28, TypeRef{"union", "u\"q", nullptr, 0, 0, 0}, true};
  p.user_types["s"] = u;
  p.user_types["u\"q"] = UserType{"union", 4, {}};
  p.enums["color"] = EnumType{4, "int", {{"RED", 0}, {"NEG", -1}}};
  Symbol banner;
  banner.address = 0xffffffff82000000ull;
  banner.constant_data = std::string("Linux version 6.1\n\0", 19);
  banner.type = TypeRef{"array", "", std::make_shared<TypeRef>(base("char")), 19, 0, 0};
  p.symbols["linux_banner"] = banner;
  test::TempDir d;
  EXPECT_EQ(validate(d.file("p.json", to_isf_json(p))), "");
  p.metadata.os = "windows";
  p.metadata.pdb_guid = "0B0A89438BE7729EB33FD00A7D6FA816";
  p.metadata.pdb_age = 1;
  EXPECT_EQ(validate(d.file("w.json", to_isf_json(p))), "");
}

TEST(IsfSchema, ProfileBuiltFromLabKernelValidates) {
  // The whole file, for the newer lab kernel (jsonschema needs ~20 s per
  // profile here; the 6.1 build runs through the same writer).
  std::string why;
  if (!can_validate(&why)) GTEST_SKIP() << why;
  std::string img = test::lab_kernel("6.12");
  if (!test::exists(img)) GTEST_SKIP() << "lab kernel absent (run guest/setup.sh): " << img;
  test::TempDir d;
  std::string out = d.file("p.json", to_isf_json(build_linux_profile(img)));
  EXPECT_EQ(validate(out), "") << img;
}

TEST(IsfSchema, ProfileBuiltFromDwarfValidates) {
  // The 32-bit lab kernel (no BTF): types from its -dbg vmlinux's DWARF, same schema.
  std::string why;
  if (!can_validate(&why)) GTEST_SKIP() << why;
  std::string dir = test::repo_root() + "/.cache/guest/kernel-686/";
  if (!test::exists(dir + "vmlinux-dbg")) GTEST_SKIP() << "32-bit lab kernel absent (guest/fetch-kernel-686.sh)";
  BuildOptions bo;
  bo.debug_file = dir + "vmlinux-dbg";
  test::TempDir d;
  std::string out = d.file("p.json", to_isf_json(build_linux_profile(dir + "vmlinuz", bo)));
  EXPECT_EQ(validate(out), "") << out;
}

TEST(IsfSchema, ReserialisedRealProfilesValidate) {
  std::string why;
  if (!can_validate(&why)) GTEST_SKIP() << why;
  int done = 0;
  for (const char* f : {"windows-isf/ntkrnlmp-0B0A89438BE7729EB33FD00A7D6FA816-1.json.xz"}) {
    std::string path = test::shared_data(f);
    if (!test::exists(path)) continue;
    test::TempDir d;
    Profile p = Profile::load(path);
    std::string out = d.file("p.json", to_isf_json(p));
    EXPECT_EQ(validate(out), "") << f;
    // And it reads back to the same model.
    Profile q = Profile::load(out);
    EXPECT_EQ(q.symbols.size(), p.symbols.size());
    EXPECT_EQ(q.user_types.size(), p.user_types.size());
    ++done;
  }
  if (!done) GTEST_SKIP() << "reference profiles absent under " << test::shared_data("");
}

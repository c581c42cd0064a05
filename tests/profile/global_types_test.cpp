// The table of globals' types (data/linux-isf-globals.tsv): declarations resolved
// against a profile's types, sizes, and what type_globals does with a type that is
// absent or does not fit. Synthetic profiles; the lab kernels are in
// kernel_image_test.cpp / dwarf_profile_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "profile/global_types.hpp"
#include "profile/profile.hpp"

using namespace vmitrace::profile;

namespace {

Profile small_profile() {
  Profile p;
  p.base_types["char"] = BaseType{"char", 1, true, "little"};
  p.base_types["int"] = BaseType{"int", 4, true, "little"};
  p.base_types["long unsigned int"] = BaseType{"int", 8, false, "little"};
  p.base_types["pointer"] = BaseType{"int", 8, false, "little"};
  p.user_types["task_struct"] = UserType{"struct", 100, {}};
  p.user_types["list_head"] = UserType{"struct", 16, {}};
  p.user_types["gate_struct"] = UserType{"struct", 16, {}};
  p.user_types["gate_desc"] = UserType{"struct", 16, {}};  // the typedef's copy
  p.user_types["idr"] = UserType{"union", 24, {}};
  p.enums["state"] = EnumType{4, "unsigned int", {{"A", 0}}};
  return p;
}

std::string why_not(const Profile& p, const char* decl) {
  std::string why;
  EXPECT_FALSE(resolve_decl_type(p, decl, &why).has_value()) << decl;
  return why;
}

}  // namespace

TEST(GlobalTypes, DeclarationsResolveToIsfTypes) {
  Profile p = small_profile();
  std::string why;
  auto t = resolve_decl_type(p, "struct list_head *", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, "pointer");
  EXPECT_EQ(t->subtype->kind, "struct");
  EXPECT_EQ(t->subtype->name, "list_head");

  t = resolve_decl_type(p, "gate_desc [256]", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, "array");
  EXPECT_EQ(t->count, 256u);
  EXPECT_EQ(t->subtype->kind, "struct");
  EXPECT_EQ(t->subtype->name, "gate_desc");
  EXPECT_EQ(type_size(p, *t), 256u * 16);

  t = resolve_decl_type(p, "function *[]", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->count, 0u);
  EXPECT_EQ(t->subtype->kind, "pointer");
  EXPECT_EQ(t->subtype->subtype->kind, "function");
  EXPECT_EQ(type_size(p, *t), 0u);

  t = resolve_decl_type(p, "long unsigned int", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, "base");
  EXPECT_EQ(type_size(p, *t), 8u);
  t = resolve_decl_type(p, "char **", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(type_size(p, *t), 8u);
  t = resolve_decl_type(p, "union idr", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->kind, "union");
  t = resolve_decl_type(p, "enum state", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(type_size(p, *t), 4u);
}

TEST(GlobalTypes, UnknownOrMismatchedNamesDoNotResolve) {
  Profile p = small_profile();
  EXPECT_EQ(why_not(p, "struct printk_ringbuffer *"), "struct printk_ringbuffer is not in this kernel's types");
  EXPECT_EQ(why_not(p, "struct idr"), "struct idr is not in this kernel's types");  // it is a union here
  EXPECT_EQ(why_not(p, "kernel_cap_t"), "kernel_cap_t is not in this kernel's types");
  EXPECT_EQ(why_not(p, "int [12x]"), "bad array size in int [12x]");
  EXPECT_EQ(why_not(p, "int [99999999999]"), "bad array size in int [99999999999]");
}

TEST(GlobalTypes, TypeGlobalsChecksNamesAndRoomAndKeepsBtfVars) {
  Profile p = small_profile();
  p.symbols["init_task"] = Symbol{0x1000, std::nullopt, std::nullopt};
  p.symbols["after_init_task"] = Symbol{0x1000 + 100, std::nullopt, std::nullopt};
  p.symbols["modules"] = Symbol{0x2000, std::nullopt, std::nullopt};  // list_head: 16 bytes, 8 free
  p.symbols["after_modules"] = Symbol{0x2008, std::nullopt, std::nullopt};
  p.symbols["prb"] = Symbol{0x3000, std::nullopt, std::nullopt};  // its struct is not in this profile
  p.symbols["cap_last_cap"] = Symbol{0x4000, TypeRef{"base", "char", nullptr, 0, 0, 0}, std::nullopt};  // a VAR
  p.symbols["idt_table"] = Symbol{0x5000, std::nullopt, std::nullopt};  // last symbol: no bound
  std::vector<std::string> notes;
  type_globals(p, [&](const std::string& n) { notes.push_back(n); });

  ASSERT_TRUE(p.symbols["init_task"].type);  // exactly fits
  EXPECT_EQ(p.symbols["init_task"].type->name, "task_struct");
  EXPECT_FALSE(p.symbols["modules"].type);
  EXPECT_FALSE(p.symbols["prb"].type);
  EXPECT_EQ(p.symbols["cap_last_cap"].type->name, "char");  // the VAR's type wins over the table's int
  ASSERT_TRUE(p.symbols["idt_table"].type);
  EXPECT_EQ(p.symbols["idt_table"].type->count, 256u);
  EXPECT_FALSE(p.symbols.count("tty_drivers"));  // absent symbols are not added
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0],
            "modules left untyped: struct list_head (16 bytes) does not fit before the next symbol (8 bytes on)");
  EXPECT_EQ(notes[1], "prb left untyped: struct printk_ringbuffer is not in this kernel's types");
}

TEST(GlobalTypes, TheTableParsesAgainstItsOwnSyntax) {
  // Every declaration of the table is well formed: against a profile without types
  // it fails only for want of a type, never on its syntax.
  ASSERT_FALSE(global_decls().empty());
  for (const GlobalDecl& g : global_decls()) {
    std::string why;
    if (resolve_decl_type(Profile{}, g.type, &why)) continue;  // "function *[]" needs no type
    EXPECT_NE(why.find("is not in this kernel's types"), std::string::npos) << g.symbol << ": " << why;
  }
}

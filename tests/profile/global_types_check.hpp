// Checks shared by the lab-kernel tests: the globals of data/linux-isf-globals.tsv
// carry types that resolve in the profile, and the typedef'd struct names
// Volatility3 attaches its classes to exist, named as dwarf2json names them.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "profile/global_types.hpp"
#include "profile/profile.hpp"

namespace vmitrace::test {

// Every name `t` uses is one of p's types (bounded: a type names at most a few levels).
inline bool resolves(const profile::Profile& p, const profile::TypeRef& t, int depth = 0) {
  if (depth > 16) return false;
  if (t.kind == "pointer" || t.kind == "array") return t.subtype && resolves(p, *t.subtype, depth + 1);
  if (t.kind == "function") return true;
  if (t.kind == "base") return p.base_types.count(t.name) != 0;
  if (t.kind == "enum") return p.enums.count(t.name) != 0;
  const profile::UserType* u = p.type(t.name);
  return u && u->kind == t.kind;
}

// `wanted`: globals this kernel must have. Every table global the kernel has must be typed.
inline void expect_globals_typed(const profile::Profile& p, const std::vector<std::string>& wanted) {
  for (const std::string& name : wanted) EXPECT_TRUE(p.symbols.count(name)) << name << " not in the profile";
  for (const profile::GlobalDecl& g : profile::global_decls()) {
    auto it = p.symbols.find(g.symbol);
    if (it == p.symbols.end()) continue;
    const auto& type = it->second.type;
    if (!type) {
      ADD_FAILURE() << g.symbol << " untyped (table: " << g.type << ")";
      continue;
    }
    EXPECT_TRUE(resolves(p, *type)) << g.symbol << ": its type names a type the profile lacks";
    EXPECT_TRUE(profile::type_size(p, *type).has_value()) << g.symbol;
  }
  // Typedef'd structs under their typedef names (copies of the struct), as dwarf2json.
  const std::pair<const char*, const char*> typedefs[] = {
      {"atomic_t", nullptr},       {"atomic64_t", nullptr},        {"kernel_cap_t", nullptr},
      {"pte_t", nullptr},          {"pgd_t", nullptr},             {"kuid_t", nullptr},
      {"kgid_t", nullptr},         {"spinlock_t", "spinlock"},     {"raw_spinlock_t", "raw_spinlock"},
      {"refcount_t", "refcount_struct"}, {"gate_desc", "gate_struct"}, {"pg_data_t", "pglist_data"}};
  for (const auto& [td, target] : typedefs) {
    const profile::UserType* u = p.type(td);
    if (!u) {
      ADD_FAILURE() << "no user type " << td;
      continue;
    }
    EXPECT_GT(u->size, 0u) << td;
    if (target) {
      ASSERT_NE(p.type(target), nullptr) << target;
      EXPECT_EQ(u->size, p.type(target)->size) << td << " vs struct " << target;
      EXPECT_EQ(u->fields.size(), p.type(target)->fields.size()) << td << " vs struct " << target;
    }
  }
  // Members declared with a typedef'd struct are referenced by the typedef's name.
  const profile::Field* usage = p.field("task_struct", "usage");
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->type.name, "refcount_t");
  const profile::Field* counter = p.field("refcount_struct", "refs");
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->type.name, "atomic_t");
  ASSERT_TRUE(p.base_types.count("_Bool"));
  EXPECT_TRUE(p.base_types.at("_Bool").is_signed) << "dwarf2json writes _Bool signed";
  EXPECT_EQ(p.base_types.at("_Bool").kind, "bool");
}

}  // namespace vmitrace::test

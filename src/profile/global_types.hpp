// Types of kernel globals that BTF does not describe (it has VARs only for per-CPU
// variables): a table of the globals Volatility3's Linux plugins and vmitrace read
// (data/linux-isf-globals.tsv, compiled in), each declared type resolved against the
// kernel's own types when its profile is built.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace vmitrace::profile {

struct GlobalDecl {
  const char* symbol;
  const char* type;  // "struct task_struct", "char *", "gate_desc [256]", "function *[]"
};
// The table (generated from data/linux-isf-globals.tsv).
const std::vector<GlobalDecl>& global_decls();

// The ISF type of a declaration as the table writes it, resolved against p's types.
// nullopt, with the reason in *why, when a name is not one of p's types.
std::optional<TypeRef> resolve_decl_type(const Profile& p, std::string_view decl, std::string* why);

// Bytes a type takes in p (unsized arrays and functions: 0); nullopt when a type it
// names is absent or the nesting is too deep (a hostile ISF).
std::optional<uint64_t> type_size(const Profile& p, const TypeRef& t);

// Gives each untyped symbol of p that the table lists its type. A type that does not
// resolve, or does not fit before the next symbol's address, leaves the symbol
// untyped and is reported through `note` (one line each).
void type_globals(Profile& p, const std::function<void(const std::string&)>& note);

}  // namespace vmitrace::profile

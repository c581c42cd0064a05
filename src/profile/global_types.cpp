#include "profile/global_types.hpp"

#include <algorithm>

namespace vmitrace::profile {

namespace {

constexpr int kMaxDepth = 32;

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The named part of a declaration ("struct list_head", "long unsigned int", "gate_desc").
std::optional<TypeRef> resolve_name(const Profile& p, std::string_view base, std::string* why) {
  for (std::string_view kw : {"struct ", "union ", "enum "}) {
    if (base.substr(0, kw.size()) != kw) continue;
    std::string name(trim(base.substr(kw.size())));
    std::string_view kind = trim(kw);
    bool found = kind == "enum" ? p.enums.count(name) != 0
                                : p.user_types.count(name) != 0 && p.user_types.find(name)->second.kind == kind;
    if (!found) {
      *why = std::string(base) + " is not in this kernel's types";
      return std::nullopt;
    }
    return TypeRef{std::string(kind), name, nullptr, 0, 0, 0};
  }
  std::string name(base);
  if (name == "function") return TypeRef{"function", "", nullptr, 0, 0, 0};
  if (p.base_types.count(name)) return TypeRef{"base", name, nullptr, 0, 0, 0};
  // A typedef'd struct or union (dwarf2json names it after the typedef).
  if (auto it = p.user_types.find(name); it != p.user_types.end())
    return TypeRef{it->second.kind, name, nullptr, 0, 0, 0};
  *why = name + " is not in this kernel's types";
  return std::nullopt;
}

}  // namespace

std::optional<TypeRef> resolve_decl_type(const Profile& p, std::string_view decl, std::string* why) {
  decl = trim(decl);
  std::optional<uint32_t> count;
  if (!decl.empty() && decl.back() == ']') {
    size_t open = decl.rfind('[');
    if (open == std::string_view::npos) {
      *why = "bad declaration " + std::string(decl);
      return std::nullopt;
    }
    uint32_t n = 0;
    for (char c : decl.substr(open + 1, decl.size() - open - 2)) {
      if (c < '0' || c > '9' || n > UINT32_MAX / 10) {
        *why = "bad array size in " + std::string(decl);
        return std::nullopt;
      }
      n = n * 10 + uint32_t(c - '0');
    }
    count = n;
    decl = trim(decl.substr(0, open));
  }
  int pointers = 0;
  while (!decl.empty() && decl.back() == '*') {
    ++pointers;
    decl = trim(decl.substr(0, decl.size() - 1));
  }
  std::optional<TypeRef> t = resolve_name(p, decl, why);
  if (!t) return std::nullopt;
  for (int i = 0; i < pointers; ++i) {
    TypeRef ptr{"pointer", "", std::make_shared<TypeRef>(std::move(*t)), 0, 0, 0};
    t = std::move(ptr);
  }
  if (count) {
    TypeRef arr{"array", "", std::make_shared<TypeRef>(std::move(*t)), *count, 0, 0};
    t = std::move(arr);
  }
  return t;
}

std::optional<uint64_t> type_size(const Profile& p, const TypeRef& t) {
  const TypeRef* cur = &t;
  uint64_t factor = 1;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (cur->kind == "pointer") {
      auto it = p.base_types.find("pointer");
      if (it == p.base_types.end()) return std::nullopt;
      return factor * it->second.size;
    }
    if (cur->kind == "array") {
      if (!cur->subtype) return std::nullopt;
      factor *= cur->count;
      if (factor == 0) return 0;
      if (factor > (uint64_t(1) << 32)) return std::nullopt;
      cur = cur->subtype.get();
      continue;
    }
    if (cur->kind == "function") return 0;
    if (cur->kind == "base") {
      auto it = p.base_types.find(cur->name);
      if (it == p.base_types.end()) return std::nullopt;
      return factor * it->second.size;
    }
    if (cur->kind == "enum") {
      auto it = p.enums.find(cur->name);
      if (it == p.enums.end()) return std::nullopt;
      return factor * it->second.size;
    }
    const UserType* u = p.type(cur->name);
    if (!u) return std::nullopt;
    return factor * u->size;
  }
  return std::nullopt;
}

void type_globals(Profile& p, const std::function<void(const std::string&)>& note) {
  // Distinct symbol addresses, sorted: a global's type must fit before the next one.
  std::vector<uint64_t> addrs;
  addrs.reserve(p.symbols.size());
  for (const auto& [name, s] : p.symbols) addrs.push_back(s.address);
  std::sort(addrs.begin(), addrs.end());
  addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());

  for (const GlobalDecl& g : global_decls()) {
    auto it = p.symbols.find(g.symbol);
    if (it == p.symbols.end() || it->second.type) continue;
    std::string why;
    std::optional<TypeRef> t = resolve_decl_type(p, g.type, &why);
    if (t) {
      std::optional<uint64_t> size = type_size(p, *t);
      auto next = std::upper_bound(addrs.begin(), addrs.end(), it->second.address);
      if (!size) {
        why = std::string(g.type) + " has no known size";
        t.reset();
      } else if (next != addrs.end() && *size > *next - it->second.address) {
        why = std::string(g.type) + " (" + std::to_string(*size) + " bytes) does not fit before the next symbol (" +
              std::to_string(*next - it->second.address) + " bytes on)";
        t.reset();
      }
    }
    if (t) it->second.type = std::move(*t);
    else note(std::string(g.symbol) + " left untyped: " + why);
  }
}

}  // namespace vmitrace::profile

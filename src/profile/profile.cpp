// Queries on the in-memory profile: symbols, structure sizes, field offsets
// (dotted paths through embedded structs, anonymous members searched), enums.
#include "profile/profile.hpp"

namespace vmitrace::profile {

namespace {

// Nesting bound for anonymous-member search (a hostile ISF could make a cycle).
constexpr int kMaxDepth = 16;

// Looks `name` up in `t`, directly or inside anonymous struct/union members.
// On success sets *offset to the field's offset from the start of `t`.
const Field* find_member(const Profile& p, const UserType& t, std::string_view name,
                         uint64_t* offset, int depth) {
  if (depth > kMaxDepth) return nullptr;
  if (auto it = t.fields.find(name); it != t.fields.end()) {
    *offset = it->second.offset;
    return &it->second;
  }
  for (const auto& [fname, f] : t.fields) {
    if (!f.anonymous) continue;
    const UserType* inner = p.type(f.type.name);
    if (!inner) continue;
    uint64_t sub = 0;
    if (const Field* r = find_member(p, *inner, name, &sub, depth + 1)) {
      *offset = f.offset + sub;
      return r;
    }
  }
  return nullptr;
}

const Field* walk(const Profile& p, std::string_view type, std::string_view path, uint64_t* total) {
  const UserType* t = p.type(type);
  if (!t) return nullptr;
  *total = 0;
  const Field* f = nullptr;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    uint64_t off = 0;
    f = find_member(p, *t, part, &off, 0);
    if (!f) return nullptr;
    *total += off;
    if (dot == std::string_view::npos) return f;
    path.remove_prefix(dot + 1);
    // Only embedded structs/unions can be walked into (not pointers).
    if (f->type.kind != "struct" && f->type.kind != "union" && f->type.kind != "class") return nullptr;
    t = p.type(f->type.name);
    if (!t) return nullptr;
  }
  return nullptr;
}

}  // namespace

std::optional<uint64_t> Profile::symbol(std::string_view name) const {
  auto it = symbols.find(std::string(name));
  if (it == symbols.end()) return std::nullopt;
  return it->second.address;
}

const UserType* Profile::type(std::string_view name) const {
  auto it = user_types.find(name);
  return it == user_types.end() ? nullptr : &it->second;
}

std::optional<uint64_t> Profile::struct_size(std::string_view name) const {
  const UserType* t = type(name);
  if (!t) return std::nullopt;
  return t->size;
}

std::optional<uint64_t> Profile::field_offset(std::string_view type_name, std::string_view field_path) const {
  uint64_t total = 0;
  if (!walk(*this, type_name, field_path, &total)) return std::nullopt;
  return total;
}

const Field* Profile::field(std::string_view type_name, std::string_view field_path) const {
  uint64_t total = 0;
  return walk(*this, type_name, field_path, &total);
}

std::string infer_architecture(const Profile& p) {
  if (p.field("pt_regs", "orig_ax")) return p.metadata.pointer_size == 4 ? "i386" : "x86_64";
  if (p.field("pt_regs", "syscallno") && p.field("pt_regs", "pstate")) return "arm64";
  return "";
}

std::optional<std::string> architecture_mismatch(const Profile& p, std::string_view guest) {
  const std::string& mine = p.metadata.architecture;
  if (mine.empty() || guest.empty() || mine == guest) return std::nullopt;
  if (guest == "x86" && (mine == "x86_64" || mine == "i386")) return std::nullopt;
  return "the profile is for an " + mine + " kernel, the guest runs an " + std::string(guest) + " kernel";
}

std::optional<int64_t> Profile::enum_value(std::string_view enum_name, std::string_view constant) const {
  auto it = enums.find(enum_name);
  if (it == enums.end()) return std::nullopt;
  auto c = it->second.constants.find(constant);
  if (c == it->second.constants.end()) return std::nullopt;
  return c->second;
}

}  // namespace vmitrace::profile

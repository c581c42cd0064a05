#include "profile/btf_reader.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace vmitrace::profile {

namespace {

// Bound on typedef/qualifier/pointer chains (BTF from a hostile image may loop).
constexpr int kMaxDepth = 64;

class BtfWalker {
 public:
  BtfWalker(const btf* b, Profile& p) : btf_(b), p_(p), names_(btf__type_cnt(b)) {}

  void run(std::unordered_map<std::string, TypeRef>* vars) {
    uint32_t n = btf__type_cnt(btf_);
    p_.base_types["void"] = BaseType{"void", 0, false, "little"};
    p_.base_types["pointer"] = BaseType{"int", 8, false, "little"};
    for (uint32_t id = 1; id < n; ++id) {
      const btf_type* t = btf__type_by_id(btf_, id);
      if (!t) continue;
      switch (btf_kind(t)) {
        case BTF_KIND_INT: add_int(t); break;
        case BTF_KIND_FLOAT: add_base(name_of(id), "float", t->size, true); break;
        case BTF_KIND_STRUCT:
        case BTF_KIND_UNION: add_struct(id, t); break;
        case BTF_KIND_ENUM:
        case BTF_KIND_ENUM64: add_enum(id, t); break;
        case BTF_KIND_TYPEDEF: add_typedef(id); break;
        case BTF_KIND_VAR:
          if (vars) {
            const char* nm = btf__name_by_offset(btf_, t->name_off);
            if (nm && *nm) vars->emplace(nm, ref(t->type, 0));
          }
          break;
        default: break;
      }
    }
    // Forward-declared structs never defined in this BTF: give them an empty entry
    // so every reference resolves.
    for (const auto& [name, kind] : forward_) {
      if (!p_.user_types.count(name)) p_.user_types[name] = UserType{kind, 0, {}};
    }
    // A typedef'd struct or union is also a user type under the typedef's name, a
    // copy, as dwarf2json writes it: Volatility3 finds some types only by these names
    // (atomic_t, kernel_cap_t, pte_t, gate_desc).
    for (const auto& [name, target] : typedefs_) {
      auto it = p_.user_types.find(target);
      if (it != p_.user_types.end() && !p_.user_types.count(name))
        p_.user_types.emplace(name, UserType(it->second));
    }
  }

 private:
  const std::string& name_of(uint32_t id) {
    std::string& s = names_[id];
    if (!s.empty()) return s;
    const btf_type* t = btf__type_by_id(btf_, id);
    const char* nm = t ? btf__name_by_offset(btf_, t->name_off) : nullptr;
    if (nm && *nm) s = nm;
    else s = "unnamed_btf_" + std::to_string(id);  // anonymous struct/union/enum
    return s;
  }

  // The struct/union (or forward declaration) a typedef names through qualifiers and
  // other typedefs, 0 if it names something else (enums: dwarf2json keeps the enum's
  // own name, unnamed_... for `typedef enum {...} socket_state`). `innermost` receives the innermost
  // typedef's id on that path: dwarf2json names the type after it
  // (atomic_long_t -> atomic64_t -> struct {...}: "atomic64_t").
  uint32_t struct_behind_typedef(uint32_t id, uint32_t* innermost) {
    for (int depth = 0; depth < kMaxDepth && id != 0; ++depth) {
      const btf_type* t = btf__type_by_id(btf_, id);
      if (!t) return 0;
      switch (btf_kind(t)) {
        case BTF_KIND_TYPEDEF: *innermost = id; [[fallthrough]];
        case BTF_KIND_CONST:
        case BTF_KIND_VOLATILE:
        case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG: id = t->type; break;
        case BTF_KIND_STRUCT:
        case BTF_KIND_UNION:
        case BTF_KIND_FWD: return id;
        default: return 0;
      }
    }
    return 0;
  }

  void add_typedef(uint32_t id) {
    uint32_t innermost = id;
    uint32_t target = struct_behind_typedef(id, &innermost);
    if (target && innermost == id) typedefs_.emplace_back(name_of(id), name_of(target));
  }

  void add_base(const std::string& name, const char* kind, uint32_t size, bool is_signed) {
    p_.base_types.try_emplace(name, BaseType{kind, size, is_signed, "little"});
  }

  void add_int(const btf_type* t) {
    const char* nm = btf__name_by_offset(btf_, t->name_off);
    if (!nm || !*nm) return;
    uint32_t enc = btf_int_encoding(t);
    const char* kind = "int";
    bool is_signed = (enc & BTF_INT_SIGNED) != 0;
    if (enc & BTF_INT_BOOL) {
      kind = "bool";
      is_signed = true;  // DWARF's DW_ATE_boolean: dwarf2json writes _Bool signed
    } else if (std::strstr(nm, "char")) {
      kind = "char";
    }
    add_base(nm, kind, t->size, is_signed);
  }

  void add_struct(uint32_t id, const btf_type* t) {
    const std::string& name = name_of(id);
    UserType u;
    u.kind = btf_kind(t) == BTF_KIND_UNION ? "union" : "struct";
    u.size = t->size;
    const btf_member* m = btf_members(t);
    uint16_t vlen = btf_vlen(t);
    unsigned anonymous = 0;
    for (uint16_t i = 0; i < vlen; ++i) {
      uint32_t bit_off = btf_member_bit_offset(t, i);
      uint32_t bit_size = btf_member_bitfield_size(t, i);
      Field f;
      TypeRef ty = ref(m[i].type, 0);
      if (bit_size) {
        // ISF bitfields as dwarf2json writes them: offset of the byte holding the first
        // bit, position in that byte. (The storage unit of the base type can run past the
        // end of a packed struct: orc_entry.type.)
        f.offset = bit_off / 8;
        TypeRef bf;
        bf.kind = "bitfield";
        bf.bit_position = bit_off % 8;
        bf.bit_length = bit_size;
        bf.subtype = std::make_shared<TypeRef>(std::move(ty));
        f.type = std::move(bf);
      } else {
        f.offset = bit_off / 8;
        f.type = std::move(ty);
      }
      const char* mn = btf__name_by_offset(btf_, m[i].name_off);
      bool named = mn && *mn;
      // Unnamed padding bitfields (`unsigned int :0;`) hold no data: skip them.
      // Unnamed struct/union members are ISF "anonymous" fields.
      if (!named && f.type.kind != "struct" && f.type.kind != "union") continue;
      std::string fname;
      if (named) {
        fname = mn;
      } else {
        f.anonymous = true;
        // dwarf2json numbers a struct's anonymous members in hex: unnamed_field_0, _1, ... _a.
        char buf[40];
        std::snprintf(buf, sizeof buf, "unnamed_field_%x", anonymous++);
        fname = buf;
        while (u.fields.count(fname)) fname += "_";
      }
      u.fields.insert_or_assign(std::move(fname), std::move(f));
    }
    // Two BTF structs with one name (rare): keep the first, it is the kernel's own.
    p_.user_types.try_emplace(name, std::move(u));
  }

  void add_enum(uint32_t id, const btf_type* t) {
    EnumType e;
    e.size = t->size;
    bool is_signed = btf_kflag(t);
    e.base = e.size == 8 ? (is_signed ? "long int" : "long unsigned int")
                         : e.size == 2 ? (is_signed ? "short int" : "short unsigned int")
                         : e.size == 1 ? (is_signed ? "signed char" : "unsigned char")
                                       : (is_signed ? "int" : "unsigned int");
    add_base(e.base, e.size == 1 ? "char" : "int", e.size, is_signed);
    uint16_t vlen = btf_vlen(t);
    for (uint16_t i = 0; i < vlen; ++i) {
      const char* cn;
      int64_t v;
      if (btf_is_enum(t)) {
        const struct btf_enum* en = btf_enum(t) + i;
        cn = btf__name_by_offset(btf_, en->name_off);
        v = is_signed ? int64_t(en->val) : int64_t(uint32_t(en->val));
      } else {
        const struct btf_enum64* en = btf_enum64(t) + i;
        cn = btf__name_by_offset(btf_, en->name_off);
        v = int64_t(btf_enum64_value(en));
      }
      if (cn && *cn) e.constants.insert_or_assign(cn, v);
    }
    p_.enums.try_emplace(name_of(id), std::move(e));
  }

  // ISF type descriptor of BTF type `id`.
  TypeRef ref(uint32_t id, int depth) {
    TypeRef r;
    if (id == 0) {
      r.kind = "base";
      r.name = "void";
      return r;
    }
    const btf_type* t = btf__type_by_id(btf_, id);
    if (!t || depth > kMaxDepth) {
      r.kind = "base";
      r.name = "void";
      return r;
    }
    switch (btf_kind(t)) {
      case BTF_KIND_INT:
      case BTF_KIND_FLOAT:
        r.kind = "base";
        r.name = name_of(id);
        return r;
      case BTF_KIND_PTR:
        r.kind = "pointer";
        r.subtype = std::make_shared<TypeRef>(ref(t->type, depth + 1));
        return r;
      case BTF_KIND_ARRAY: {
        const struct btf_array* a = btf_array(t);
        r.kind = "array";
        r.count = a->nelems;
        r.subtype = std::make_shared<TypeRef>(ref(a->type, depth + 1));
        return r;
      }
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        r.kind = btf_kind(t) == BTF_KIND_UNION ? "union" : "struct";
        r.name = name_of(id);
        return r;
      case BTF_KIND_FWD:
        r.kind = btf_kflag(t) ? "union" : "struct";
        r.name = name_of(id);
        forward_.emplace_back(r.name, r.kind);
        return r;
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        r.kind = "enum";
        r.name = name_of(id);
        return r;
      case BTF_KIND_FUNC_PROTO:
      case BTF_KIND_FUNC:
        r.kind = "function";
        return r;
      case BTF_KIND_TYPEDEF: {
        // A typedef'd struct/union is referenced by the typedef's name (see run()).
        uint32_t innermost = id;
        bool named = struct_behind_typedef(id, &innermost) != 0;
        r = ref(t->type, depth + 1);
        if (named && (r.kind == "struct" || r.kind == "union")) r.name = name_of(innermost);
        return r;
      }
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
      case BTF_KIND_DECL_TAG:
        return ref(t->type, depth + 1);
      default:
        r.kind = "base";
        r.name = "void";
        return r;
    }
  }

  const btf* btf_;
  Profile& p_;
  std::vector<std::string> names_;
  std::vector<std::pair<std::string, std::string>> forward_;
  std::vector<std::pair<std::string, std::string>> typedefs_;  // typedef name, struct name
};

int quiet_libbpf(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

void load_btf_types(const uint8_t* data, size_t size, const std::string& what, Profile& p,
                    std::unordered_map<std::string, TypeRef>* var_types) {
  if (size == 0 || size > UINT32_MAX) throw Error(what, "bad .BTF section size");
  // libbpf logs its parse failures on stderr; we report them ourselves in one line.
  libbpf_print_fn_t old = libbpf_set_print(quiet_libbpf);
  errno = 0;
  btf* b = btf__new(data, uint32_t(size));
  int err = errno;
  libbpf_set_print(old);
  if (!b || libbpf_get_error(b)) {
    throw Error(what, std::string("invalid .BTF section (libbpf: ") + std::strerror(err ? err : EINVAL) + ")");
  }
  try {
    BtfWalker(b, p).run(var_types);
  } catch (...) {
    btf__free(b);
    throw;
  }
  btf__free(b);
}

}  // namespace vmitrace::profile

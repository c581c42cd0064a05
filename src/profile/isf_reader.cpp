// ISF loader, on simdjson's DOM API. We measured the choice rather than assumed
// it: simdjson's On-Demand front end is compiled into *our* object with the kernel
// that the compile flags allow (without -mavx2 that is the scalar "fallback"), while
// the DOM parser lives in libsimdjson and picks haswell/icelake at run time. On the
// 33 MB dwarf2json profile the DOM parse costs a few tens of ms; the rest of the load
// is copying values into our maps, which both APIs need.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/base64.hpp"
#include "profile/profile.hpp"

namespace vmitrace::profile {

namespace {

namespace dom = simdjson::dom;

// Nesting bound for type descriptors (pointer to pointer to ...).
constexpr int kMaxTypeDepth = 64;

// Names the place being parsed for error messages ("user_types.task_struct").
struct Where {
  std::string_view section = "top level";
  std::string_view item;  // views into the parser's string buffer, valid during the parse
  std::string str() const {
    return item.empty() ? std::string(section) : std::string(section) + "." + std::string(item);
  }
};

class Bad : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

uint64_t get_u64(dom::element v) {
  switch (v.type()) {
    case dom::element_type::UINT64: return uint64_t(v.get_uint64());
    case dom::element_type::INT64: return uint64_t(int64_t(v.get_int64()));
    case dom::element_type::DOUBLE: {
      double d = v.get_double();
      if (!(d >= 0 && d < 18446744073709551616.0)) throw Bad("number out of range");
      return uint64_t(d);
    }
    default: throw Bad("expected an integer");
  }
}

int64_t get_i64(dom::element v) {
  switch (v.type()) {
    case dom::element_type::UINT64: return int64_t(uint64_t(v.get_uint64()));
    case dom::element_type::INT64: return v.get_int64();
    default: throw Bad("expected an integer");
  }
}

uint32_t get_u32(dom::element v) {
  uint64_t x = get_u64(v);
  if (x > UINT32_MAX) throw Bad("number out of range");
  return uint32_t(x);
}

dom::object get_obj(dom::element v, const char* what) {
  if (v.type() != dom::element_type::OBJECT) throw Bad(std::string(what) + " is not a JSON object");
  return dom::object(v);
}

std::string get_str(dom::element v) {
  if (v.type() != dom::element_type::STRING) throw Bad("expected a string");
  return std::string(std::string_view(v));
}

bool get_bool(dom::element v) {
  if (v.type() != dom::element_type::BOOL) throw Bad("expected true or false");
  return bool(v);
}

TypeRef parse_type(dom::element v, int depth) {
  if (depth > kMaxTypeDepth) throw Bad("type descriptor nested too deeply");
  TypeRef t;
  for (auto [k, val] : get_obj(v, "type descriptor")) {
    if (k == "kind") t.kind = get_str(val);
    else if (k == "name") t.name = get_str(val);
    else if (k == "subtype" || k == "type")  // bitfields name their base "type"
      t.subtype = std::make_shared<TypeRef>(parse_type(val, depth + 1));
    else if (k == "count") t.count = get_u32(val);
    else if (k == "bit_position") t.bit_position = get_u32(val);
    else if (k == "bit_length") t.bit_length = get_u32(val);
  }
  if (t.kind.empty()) throw Bad("type descriptor without \"kind\"");
  return t;
}

void parse_metadata(dom::element v, Metadata& m) {
  for (auto [k, val] : get_obj(v, "metadata")) {
    if (k == "format") {
      m.format = get_str(val);
    } else if (k == "producer") {
      for (auto [pk, pv] : get_obj(val, "producer")) {
        if (pk == "name") m.producer_name = get_str(pv);
        else if (pk == "version") m.producer_version = get_str(pv);
        else if (pk == "architecture") {
          m.architecture = get_str(pv);
          if (m.architecture != "x86_64" && m.architecture != "i386" && m.architecture != "arm64")
            throw Bad("metadata.producer.architecture \"" + m.architecture + "\" is none of x86_64, i386, arm64");
        }
      }
    } else if (k == "linux" || k == "mac") {
      m.os = std::string(k);
      for (auto [sk, sv] : get_obj(val, "metadata.linux")) {
        if (sk != "symbols" && sk != "types") continue;
        if (sv.type() != dom::element_type::ARRAY) throw Bad("metadata source list is not an array");
        for (dom::element item : dom::array(sv)) {
          std::string kind, name;
          for (auto [ek, ev] : get_obj(item, "metadata source")) {
            if (ek == "kind") kind = get_str(ev);
            else if (ek == "name") name = get_str(ev);
          }
          // Keep the first item of each list (dwarf2json lists dwarf, symtab, system-map).
          if (sk == "symbols" && m.symbols_kind.empty()) m.symbols_kind = kind, m.symbols_name = name;
          if (sk == "types" && m.types_kind.empty()) m.types_kind = kind, m.types_name = name;
        }
      }
    } else if (k == "windows") {
      m.os = "windows";
      for (auto [wk, wv] : get_obj(val, "metadata.windows")) {
        if (wk != "pdb") continue;
        for (auto [pk, pv] : get_obj(wv, "metadata.windows.pdb")) {
          if (pk == "GUID") {
            std::string g;
            for (char c : get_str(pv))
              if (c != '-' && c != '{' && c != '}') g += char(std::toupper(uint8_t(c)));
            m.pdb_guid = g;
          } else if (pk == "age") {
            m.pdb_age = get_u32(pv);
          } else if (pk == "database") {
            m.pdb_name = get_str(pv);
          } else if (pk == "machine_type") {
            m.pdb_machine_type = get_u32(pv);
          }
        }
      }
    }
  }
}

void parse_base_types(dom::element v, Profile& p, Where& w) {
  for (auto [name, e] : get_obj(v, "base_types")) {
    w.item = name;
    BaseType b;
    for (auto [k, val] : get_obj(e, "base type")) {
      if (k == "kind") b.kind = get_str(val);
      else if (k == "size") b.size = get_u32(val);
      else if (k == "signed") b.is_signed = get_bool(val);
      else if (k == "endian") b.endian = get_str(val);
    }
    p.base_types.insert_or_assign(std::string(name), std::move(b));
  }
}

void parse_user_types(dom::element v, Profile& p, Where& w) {
  for (auto [name, e] : get_obj(v, "user_types")) {
    w.item = name;
    UserType u;
    bool have_fields = false;
    for (auto [k, val] : get_obj(e, "user type")) {
      if (k == "kind") {
        u.kind = get_str(val);
      } else if (k == "size") {
        u.size = get_u64(val);
      } else if (k == "fields") {
        have_fields = true;
        for (auto [fname, fv] : get_obj(val, "fields")) {
          Field fld;
          bool have_type = false;
          for (auto [ak, av] : get_obj(fv, "field")) {
            if (ak == "type") fld.type = parse_type(av, 0), have_type = true;
            else if (ak == "offset") fld.offset = get_u64(av);
            else if (ak == "anonymous") fld.anonymous = get_bool(av);
          }
          if (!have_type) throw Bad("field \"" + std::string(fname) + "\" has no type");
          u.fields.insert_or_assign(std::string(fname), std::move(fld));
        }
      }
    }
    if (u.kind.empty() || !have_fields) throw Bad("user type without kind or fields");
    p.user_types.insert_or_assign(std::string(name), std::move(u));
  }
}

void parse_enums(dom::element v, Profile& p, Where& w) {
  for (auto [name, e] : get_obj(v, "enums")) {
    w.item = name;
    EnumType en;
    for (auto [k, val] : get_obj(e, "enum")) {
      if (k == "size") en.size = get_u32(val);
      else if (k == "base") en.base = get_str(val);
      else if (k == "constants")
        for (auto [cn, cv] : get_obj(val, "constants")) en.constants.insert_or_assign(std::string(cn), get_i64(cv));
    }
    p.enums.insert_or_assign(std::string(name), std::move(en));
  }
}

void parse_symbols(dom::element v, Profile& p, Where& w) {
  dom::object all = get_obj(v, "symbols");
  p.symbols.reserve(all.size());
  for (auto [name, e] : all) {
    w.item = name;
    Symbol s;
    bool have_address = false;
    for (auto [k, val] : get_obj(e, "symbol")) {
      if (k == "address") {
        s.address = get_u64(val);
        have_address = true;
      } else if (k == "type") {
        s.type = parse_type(val, 0);
      } else if (k == "constant_data") {
        auto d = base64_decode(get_str(val));
        if (!d) throw Bad("constant_data is not base64");
        s.constant_data = std::move(*d);
      }
    }
    if (!have_address) throw Bad("symbol without address");
    p.symbols.insert_or_assign(std::string(name), std::move(s));
  }
}

Profile parse_padded(const uint8_t* data, size_t len, const std::string& what) {
  Profile p;
  dom::parser parser;  // outlives the catch blocks: `w` holds views into its strings
  Where w;
  try {
    dom::element root = parser.parse(data, len, false);  // caller guarantees the padding
    if (root.type() != dom::element_type::OBJECT) throw Error(what, "not an ISF file (not a JSON object)");
    unsigned seen = 0;
    for (auto [k, val] : dom::object(root)) {
      w.section = k;
      w.item = {};
      if (k == "metadata") parse_metadata(val, p.metadata), seen |= 1;
      else if (k == "base_types") parse_base_types(val, p, w), seen |= 2;
      else if (k == "user_types") parse_user_types(val, p, w), seen |= 4;
      else if (k == "enums") parse_enums(val, p, w), seen |= 8;
      else if (k == "symbols") parse_symbols(val, p, w), seen |= 16;
    }
    if (!(seen & 1)) throw Error(what, "not an ISF file (no \"metadata\")");
    static const char* const kNames[] = {"metadata", "base_types", "user_types", "enums", "symbols"};
    for (unsigned i = 1; i < 5; ++i)
      if (!(seen & (1u << i))) throw Error(what, std::string("not an ISF file (no \"") + kNames[i] + "\")");
  } catch (const simdjson::simdjson_error& e) {
    throw Error(what, std::string("invalid JSON (truncated or corrupt?): ") + e.what());
  } catch (const Bad& e) {
    throw Error(what, "bad ISF at " + w.str() + ": " + e.what());
  }
  if (auto it = p.base_types.find("pointer"); it != p.base_types.end() && it->second.size)
    p.metadata.pointer_size = it->second.size;
  if (auto it = p.symbols.find("linux_banner"); it != p.symbols.end() && it->second.constant_data) {
    const std::string& d = *it->second.constant_data;
    p.metadata.banner = d.substr(0, d.find('\0'));
  }
  if (p.metadata.architecture.empty() && p.metadata.os == "linux") p.metadata.architecture = infer_architecture(p);
  return p;
}

simdjson::padded_string read_padded(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
    ::close(fd);
    // Directories and pipes: the generic reader gives the right message / handles them.
    std::vector<uint8_t> v = read_file(path);
    return simdjson::padded_string(reinterpret_cast<const char*>(v.data()), v.size());
  }
  simdjson::padded_string buf(size_t(st.st_size));
  size_t used = 0;
  while (used < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + used, buf.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(path, std::strerror(err));
    }
    if (n == 0) break;  // shrank while reading: parse what is there
    used += size_t(n);
  }
  ::close(fd);
  if (used < buf.size()) return simdjson::padded_string(buf.data(), used);
  return buf;
}

}  // namespace

Profile Profile::parse(std::string_view json, const std::string& what) {
  simdjson::padded_string copy(json);
  return parse_padded(reinterpret_cast<const uint8_t*>(copy.data()), copy.size(), what);
}

Profile Profile::load(const std::string& path) {
  // Read straight into simdjson's padded buffer: no zero-fill, no copy. On these
  // machines touching fresh memory is a large part of the load time.
  simdjson::padded_string buf = read_padded(path);
  const auto* data = reinterpret_cast<const uint8_t*>(buf.data());
  if (buf.size() == 0) throw Error(path, "empty file (not an ISF profile)");
  if (Compression c = sniff_compression(data, buf.size()); c != Compression::none) {
    std::vector<uint8_t> bytes = decompress(data, buf.size(), c, path, 2ull << 30);
    if (bytes.empty()) throw Error(path, "empty file (not an ISF profile)");
    if (bytes.capacity() - bytes.size() < simdjson::SIMDJSON_PADDING)
      bytes.reserve(bytes.size() + simdjson::SIMDJSON_PADDING);
    return parse_padded(bytes.data(), bytes.size(), path);
  }
  return parse_padded(data, buf.size(), path);
}

}  // namespace vmitrace::profile

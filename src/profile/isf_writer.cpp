// ISF writer: schema 6.x JSON that Volatility3 and Profile::load accept. Output is
// deterministic (sorted keys) so two runs on one image give identical files.
#include <algorithm>
#include <cstdio>

#include "profile/base64.hpp"
#include "profile/profile.hpp"

namespace vmitrace::profile {

namespace {

bool needs_escape(uint8_t c) { return c < 0x20 || c >= 0x7F || c == '"' || c == '\\'; }

void put_string(std::string& o, std::string_view s) {
  o += '"';
  // Fast path: identifiers never need escaping; append them in one go.
  size_t clean = 0;
  while (clean < s.size() && !needs_escape(uint8_t(s[clean]))) ++clean;
  o.append(s.data(), clean);
  s.remove_prefix(clean);
  for (char ch : s) {
    uint8_t c = uint8_t(ch);
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7F) {
          // Names come from the image: anything non-ASCII is escaped byte by byte
          // (keeps the output valid UTF-8 whatever the input holds).
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += ch;
        }
    }
  }
  o += '"';
}

void put_u64(std::string& o, uint64_t v) { o += std::to_string(v); }

void put_type(std::string& o, const TypeRef& t) {
  o += "{\"kind\": ";
  put_string(o, t.kind);
  if (t.kind == "pointer" || t.kind == "array") {
    if (t.kind == "array") {
      o += ", \"count\": ";
      put_u64(o, t.count);
    }
    o += ", \"subtype\": ";
    if (t.subtype) put_type(o, *t.subtype);
    else o += "{\"kind\": \"base\", \"name\": \"void\"}";
  } else if (t.kind == "bitfield") {
    o += ", \"bit_position\": ";
    put_u64(o, t.bit_position);
    o += ", \"bit_length\": ";
    put_u64(o, t.bit_length);
    o += ", \"type\": ";
    if (t.subtype) put_type(o, *t.subtype);
    else o += "{\"kind\": \"base\", \"name\": \"int\"}";
  } else if (t.kind != "function") {
    o += ", \"name\": ";
    put_string(o, t.name);
  }
  o += '}';
}

void put_metadata(std::string& o, const Metadata& m) {
  o += "  \"metadata\": {\n    \"format\": ";
  put_string(o, m.format.empty() ? "6.2.0" : m.format);
  o += ",\n    \"producer\": {\"name\": ";
  put_string(o, m.producer_name.empty() ? "vmitrace" : m.producer_name);
  o += ", \"version\": ";
  put_string(o, m.producer_version.empty() ? "0.1.0" : m.producer_version);
  if (!m.architecture.empty()) {
    o += ", \"architecture\": ";
    put_string(o, m.architecture);
  }
  o += "}";
  if (m.os == "windows") {
    o += ",\n    \"windows\": {\"pdb\": {\"GUID\": ";
    put_string(o, m.pdb_guid);
    o += ", \"age\": ";
    put_u64(o, m.pdb_age);
    o += ", \"database\": ";
    put_string(o, m.pdb_name.empty() ? "ntkrnlmp.pdb" : m.pdb_name);
    o += ", \"machine_type\": ";
    put_u64(o, m.pdb_machine_type ? m.pdb_machine_type : (m.pointer_size == 4 ? 332 : 34404));
    o += "}}";
  } else if (m.os == "linux" || m.os == "mac" || m.os.empty()) {
    auto item = [&](const std::string& kind, const std::string& name) {
      if (kind.empty()) return;
      o += "{\"kind\": ";
      put_string(o, kind);
      o += ", \"name\": ";
      put_string(o, name);
      o += '}';
    };
    o += ",\n    \"";
    o += m.os == "mac" ? "mac" : "linux";
    o += "\": {\"symbols\": [";
    item(m.symbols_kind, m.symbols_name);
    o += "], \"types\": [";
    item(m.types_kind, m.types_name);
    o += "]}";
  }
  o += "\n  }";
}

template <class Map>
std::vector<const typename Map::value_type*> sorted(const Map& m) {
  std::vector<const typename Map::value_type*> v;
  v.reserve(m.size());
  for (const auto& e : m) v.push_back(&e);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->first < b->first; });
  return v;
}

}  // namespace

std::string to_isf_json(const Profile& p) {
  std::string o;
  // Rough size of the output (about 1.5 KiB per type, 60 bytes per symbol): one allocation.
  o.reserve(4096 + p.user_types.size() * 1536 + p.symbols.size() * 64 + p.enums.size() * 256);
  o += "{\n";
  put_metadata(o, p.metadata);

  o += ",\n  \"base_types\": {";
  bool first = true;
  for (const auto& [name, b] : p.base_types) {
    o += first ? "\n    " : ",\n    ";
    first = false;
    put_string(o, name);
    o += ": {\"kind\": ";
    put_string(o, b.kind);
    o += ", \"size\": ";
    put_u64(o, b.size);
    o += ", \"signed\": ";
    o += b.is_signed ? "true" : "false";
    o += ", \"endian\": ";
    put_string(o, b.endian.empty() ? "little" : b.endian);
    o += '}';
  }
  o += "\n  },\n  \"user_types\": {";
  first = true;
  for (const auto& [name, u] : p.user_types) {
    o += first ? "\n    " : ",\n    ";
    first = false;
    put_string(o, name);
    o += ": {\"kind\": ";
    put_string(o, u.kind);
    o += ", \"size\": ";
    put_u64(o, u.size);
    o += ", \"fields\": {";
    bool ff = true;
    for (const auto& [fname, f] : u.fields) {
      o += ff ? "\n      " : ",\n      ";
      ff = false;
      put_string(o, fname);
      o += ": {\"offset\": ";
      put_u64(o, f.offset);
      if (f.anonymous) o += ", \"anonymous\": true";
      o += ", \"type\": ";
      put_type(o, f.type);
      o += '}';
    }
    o += ff ? "}}" : "\n    }}";
  }
  o += "\n  },\n  \"enums\": {";
  first = true;
  for (const auto& [name, e] : p.enums) {
    o += first ? "\n    " : ",\n    ";
    first = false;
    put_string(o, name);
    o += ": {\"size\": ";
    put_u64(o, e.size);
    o += ", \"base\": ";
    put_string(o, e.base);
    o += ", \"constants\": {";
    bool cf = true;
    for (const auto& [cname, v] : e.constants) {
      if (!cf) o += ", ";
      cf = false;
      put_string(o, cname);
      o += ": ";
      o += std::to_string(v);
    }
    o += "}}";
  }
  o += "\n  },\n  \"symbols\": {";
  first = true;
  for (const auto* e : sorted(p.symbols)) {
    const Symbol& s = e->second;
    o += first ? "\n    " : ",\n    ";
    first = false;
    put_string(o, e->first);
    o += ": {\"address\": ";
    put_u64(o, s.address);
    if (s.type) {
      o += ", \"type\": ";
      put_type(o, *s.type);
    }
    if (s.constant_data) {
      o += ", \"constant_data\": ";
      put_string(o, base64_encode(*s.constant_data));
    }
    o += '}';
  }
  o += "\n  }\n}\n";
  return o;
}

}  // namespace vmitrace::profile

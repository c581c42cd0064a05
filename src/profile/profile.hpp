// Symbols and types of a guest kernel, as Volatility3's ISF holds them. One
// in-memory model, loaded from any ISF file (ours, dwarf2json Linux profiles,
// Volatility3 Windows profiles; plain, .xz or .gz) or built from a kernel image.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vmitrace::profile {

// A type reference as ISF writes it: {"kind": "pointer", "subtype": {...}} etc.
struct TypeRef {
  std::string kind;                  // base, struct, union, class, enum, pointer, array, bitfield, function, void
  std::string name;                  // for base/struct/union/class/enum
  std::shared_ptr<TypeRef> subtype;  // pointer target, array element, bitfield base
  uint32_t count = 0;                // array element count
  uint32_t bit_position = 0, bit_length = 0;  // bitfield
};

struct Field {
  uint64_t offset = 0;
  TypeRef type;
  bool anonymous = false;
};

struct UserType {
  std::string kind;  // struct, union, class
  uint64_t size = 0;
  std::map<std::string, Field, std::less<>> fields;
};

struct BaseType {
  std::string kind;  // int, float, char, bool, void
  uint32_t size = 0;
  bool is_signed = false;
  std::string endian = "little";
};

struct EnumType {
  uint32_t size = 0;
  std::string base;  // base type name
  std::map<std::string, int64_t, std::less<>> constants;
};

struct Symbol {
  uint64_t address = 0;               // link-time address (Linux) or RVA (Windows), as in the file
  std::optional<TypeRef> type;
  std::optional<std::string> constant_data;  // decoded bytes (ISF stores base64), e.g. linux_banner
};

struct Metadata {
  std::string format = "6.2.0";
  std::string os;                 // "linux" or "windows" (from metadata keys)
  std::string producer_name, producer_version;
  std::string banner;             // Linux: linux_banner text when known
  std::string pdb_guid;           // Windows: GUID without dashes, upper-case
  uint32_t pdb_age = 0;
  std::string pdb_name;
  uint32_t pointer_size = 8;      // from the "pointer" base type
  // Linux: where symbols/types came from, written as metadata.linux items
  // ({"kind": "symtab"|"system-map"|"dwarf", "name": ...}); empty kind = not written.
  std::string symbols_kind, symbols_name;
  std::string types_kind, types_name;
  uint32_t pdb_machine_type = 0;  // Windows: IMAGE_FILE_MACHINE_* (34404 = AMD64)
  // Linux: the kernel's architecture, "x86_64", "i386" or "arm64" ("" = unknown).
  // vmitrace writes it as metadata.producer.architecture (the one metadata object
  // Volatility3's ISF schema leaves open); a profile without it (dwarf2json's, an
  // older vmitrace's) gets it from its struct pt_regs on load (infer_architecture).
  std::string architecture;
};

class Profile {
 public:
  Metadata metadata;
  std::map<std::string, BaseType, std::less<>> base_types;
  std::map<std::string, UserType, std::less<>> user_types;
  std::map<std::string, EnumType, std::less<>> enums;
  std::unordered_map<std::string, Symbol> symbols;

  // Loads an ISF file (plain JSON, .xz or .gz by content). Throws vmitrace::Error
  // "PATH: problem" on anything missing, truncated, corrupt or not an ISF.
  static Profile load(const std::string& path);
  // Parses ISF JSON text; `what` names the source in errors.
  static Profile parse(std::string_view json, const std::string& what);

  std::optional<uint64_t> symbol(std::string_view name) const;
  const UserType* type(std::string_view name) const;
  std::optional<uint64_t> struct_size(std::string_view name) const;
  // Offset of a field; dotted paths walk nested embedded structs/unions
  // ("pcpu_hot.current_task", "thread_info.flags"); anonymous members are searched.
  std::optional<uint64_t> field_offset(std::string_view type, std::string_view field) const;
  const Field* field(std::string_view type, std::string_view field) const;
  std::optional<int64_t> enum_value(std::string_view enum_name, std::string_view constant) const;
};

// The architecture a Linux profile's struct pt_regs shows: x86's has orig_ax ("x86_64"
// with 8-byte pointers, "i386" with 4), arm64's has syscallno and pstate; "" otherwise.
std::string infer_architecture(const Profile& p);

// When a profile for one architecture meets a guest kernel of another: the reason,
// "the profile is for an arm64 kernel, the guest runs an x86_64 kernel"; nullopt
// when they agree or the profile's architecture is unknown. `guest`: "x86_64",
// "i386", "arm64", or "x86" for either x86 width (told apart elsewhere).
std::optional<std::string> architecture_mismatch(const Profile& p, std::string_view guest);

// Serialises to ISF JSON (schema 6.x) that Volatility3 and Profile::load read.
std::string to_isf_json(const Profile& p);

}  // namespace vmitrace::profile

// Named constants as data (data/const/*.tbl, generated into C++ at build time):
// errno names, prctl options, arch_prctl codes, PROT_* bits... Enum sets map one
// value to one name; flag sets split a value into named bits plus a remainder.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace vmitrace::syscalls {

struct NamedValue {
  uint64_t value;
  const char* name;  // "ENOENT"
  const char* text;  // "No such file or directory" ("" when the set has no texts)
};

struct ConstSet {
  const char* id;      // file name without .tbl
  bool flags;          // bit set (else: enum)
  const char* zero;    // flag sets: name of 0 ("PROT_NONE"), or nullptr
  std::span<const NamedValue> values;  // enums: sorted by value
};

// nullptr when v has no name (enum sets only).
const NamedValue* find_value(const ConstSet& set, uint64_t v);
// nullptr when no entry has that name.
const NamedValue* find_name(const ConstSet& set, std::string_view name);

namespace consts {
extern const ConstSet errno_names;      // 1..133 and the kernel-internal 512..531
extern const ConstSet prctl_option;
extern const ConstSet arch_prctl_code;
extern const ConstSet prot;             // flags
}  // namespace consts

// "ENOENT" for ret in -4095..-1 when the errno has a name; "" otherwise.
std::string_view errno_name(int64_t ret);

}  // namespace vmitrace::syscalls

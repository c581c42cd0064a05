// Kernel types from a raw .BTF section, parsed by libbpf, turned into the ISF
// model (base types, structs/unions with bitfields, enums), named as dwarf2json
// names them: qualifiers and typedefs of base types and pointers are resolved away,
// a typedef'd struct/union keeps the typedef's name (a copy under that name).
#pragma once
#include <cstdint>
#include <string>

#include "profile/profile.hpp"

namespace vmitrace::profile {

// Adds base_types, user_types and enums from BTF bytes to `p`; also returns the
// BTF types of global variables (VAR) by name in `var_types` when non-null.
// Throws Error(what, problem) when libbpf rejects the data.
void load_btf_types(const uint8_t* data, size_t size, const std::string& what, Profile& p,
                    std::unordered_map<std::string, TypeRef>* var_types = nullptr);

}  // namespace vmitrace::profile

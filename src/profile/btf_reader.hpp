// Kernel types from a raw .BTF section, parsed by libbpf, turned into the ISF
// model (base types, structs/unions with bitfields, enums). Typedefs and
// qualifiers are resolved away, as dwarf2json does.
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

// Lookups over the generated constant sets (data/const/*.tbl).
#include "syscalls/tables/constants.hpp"

#include <algorithm>

namespace vmitrace::syscalls {

const NamedValue* find_value(const ConstSet& set, uint64_t v) {
  if (set.flags) {
    for (const NamedValue& nv : set.values)
      if (nv.value == v) return &nv;
    return nullptr;
  }
  auto it = std::lower_bound(set.values.begin(), set.values.end(), v,
                             [](const NamedValue& nv, uint64_t x) { return nv.value < x; });
  return it != set.values.end() && it->value == v ? &*it : nullptr;
}

const NamedValue* find_name(const ConstSet& set, std::string_view name) {
  for (const NamedValue& nv : set.values)
    if (name == nv.name) return &nv;
  return nullptr;
}

const NamedValue* errno_entry(int64_t ret) {
  if (ret >= 0 || ret < -4095) return nullptr;
  return find_value(consts::errno_names, static_cast<uint64_t>(-ret));
}

std::string_view errno_name(int64_t ret) {
  const NamedValue* nv = errno_entry(ret);
  return nv ? std::string_view(nv->name) : std::string_view();
}

}  // namespace vmitrace::syscalls

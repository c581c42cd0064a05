// libFuzzer target: a raw .BTF section through libbpf into the ISF model.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/error.hpp"
#include "profile/btf_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vmitrace::profile::Profile p;
    std::unordered_map<std::string, vmitrace::profile::TypeRef> vars;
    vmitrace::profile::load_btf_types(data, size, "fuzz.BTF", p, &vars);
    (void)vmitrace::profile::to_isf_json(p);
  } catch (const vmitrace::Error&) {
  }
  return 0;
}

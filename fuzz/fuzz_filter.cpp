// libFuzzer target: the syscalls filter-file parser and the check against the tables.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.hpp"
#include "syscalls/core/filter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto names = vmitrace::syscalls::parse_filter(text);
    auto f = vmitrace::syscalls::check_linux_filter(names);
    (void)vmitrace::syscalls::unknown_names_warning("fuzz-filter", f);
  } catch (const vmitrace::Error&) {
  }
  return 0;
}

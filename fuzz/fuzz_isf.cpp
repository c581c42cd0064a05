// libFuzzer target: the ISF loader (Profile::parse) and the lookups a tracer does
// on a loaded profile. Any exception other than vmitrace::Error is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.hpp"
#include "profile/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto p = vmitrace::profile::Profile::parse(text, "fuzz.json");
    (void)p.symbol("linux_banner");
    (void)p.struct_size("task_struct");
    (void)p.field_offset("task_struct", "pid");
    (void)p.field_offset("pcpu_hot", "current_task");
    (void)p.enum_value("pid_type", "PIDTYPE_PID");
    // The writer must accept whatever the loader accepted.
    (void)vmitrace::profile::to_isf_json(p);
  } catch (const vmitrace::Error&) {
  }
  return 0;
}

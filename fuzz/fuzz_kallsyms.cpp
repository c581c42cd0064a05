// libFuzzer target: the ELF reader and the kallsyms table finder over an arbitrary
// "vmlinux" (both the 6.1 and the 6.2+ layouts are searched).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "profile/elf.hpp"
#include "profile/kernel_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vmitrace::profile::ElfImage elf(data, size, "fuzz-vmlinux");
    for (const auto& s : elf.sections()) (void)elf.offset_of(s.addr);
    (void)elf.section(".BTF");
    (void)elf.section_at(0xffffffff81000000ull);
  } catch (const vmitrace::Error&) {
  }
  try {
    std::vector<uint8_t> v(data, data + size);
    (void)vmitrace::profile::extract_kallsyms(v, "fuzz-vmlinux");
  } catch (const vmitrace::Error&) {
  }
  return 0;
}

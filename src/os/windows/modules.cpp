// Code address -> module: user addresses through the process's VAD tree (the file
// mapped by the VAD that covers the address), kernel addresses through the loaded
// module list. Trees and lists come from the guest: every walk has a step bound, so
// a loop ends as "unknown" rather than a hang.
#include <cstring>

#include "os/windows/kernel.hpp"

namespace vmitrace::oswin {
namespace {

constexpr unsigned kMaxVadSteps = 64;    // a balanced tree of 2^64 nodes is deep enough
constexpr unsigned kMaxModules = 1024;

}  // namespace

bool WindowsKernel::vad_file(vmi::Vcpu& cpu, uint64_t process, uint64_t addr, WideText& out) const {
  if (L_.proc_vad_root == kNone || L_.vad_left == kNone || L_.vad_right == kNone ||
      L_.vad_start == kNone || L_.vad_end == kNone)
    return false;
  uint64_t node = 0;
  if (!read_ptr(cpu, process + L_.proc_vad_root, node)) return false;
  const uint64_t vpn = addr >> 12;
  for (unsigned step = 0; step < kMaxVadSteps && is_kernel_pointer(node); ++step) {
    uint64_t start = 0, end = 0;
    if (L_.vad_vpn_size == 8) {
      if (!cpu.read_u64(node + L_.vad_start, start) || !cpu.read_u64(node + L_.vad_end, end)) return false;
    } else {
      uint32_t s = 0, e = 0;
      if (!cpu.read_u32(node + L_.vad_start, s) || !cpu.read_u32(node + L_.vad_end, e)) return false;
      uint8_t sh = 0, eh = 0;
      if (L_.vad_start_high != kNone) cpu.read_virt(node + L_.vad_start_high, &sh, 1);
      if (L_.vad_end_high != kNone) cpu.read_virt(node + L_.vad_end_high, &eh, 1);
      start = uint64_t{sh} << 32 | s;
      end = uint64_t{eh} << 32 | e;
    }
    uint64_t next = 0;
    if (vpn < start) {
      if (!read_ptr(cpu, node + L_.vad_left, next)) return false;
    } else if (vpn > end) {
      if (!read_ptr(cpu, node + L_.vad_right, next)) return false;
    } else {
      // MMVAD.Subsection -> CONTROL_AREA -> FilePointer (EX_FAST_REF) -> FileName.
      uint64_t sub = 0, ca = 0, file = 0;
      if (L_.vad_subsection == kNone || L_.subsection_control_area == kNone ||
          L_.control_area_file == kNone || L_.file_name == kNone)
        return false;
      if (!read_ptr(cpu, node + L_.vad_subsection, sub) || !is_kernel_pointer(sub)) return false;
      if (!read_ptr(cpu, sub + L_.subsection_control_area, ca) || !is_kernel_pointer(ca)) return false;
      if (!read_ptr(cpu, ca + L_.control_area_file, file)) return false;
      file &= L_.ptr == 8 ? ~uint64_t{0xf} : ~uint64_t{0x7};
      if (!is_kernel_pointer(file)) return false;
      return read_unicode_string(cpu, file + L_.file_name, out);
    }
    node = next;
  }
  return false;
}

bool WindowsKernel::kernel_module(vmi::Vcpu& cpu, uint64_t addr, WideText& out) const {
  if (!L_.rva_loaded_modules || L_.ldr_base == kNone || L_.ldr_size == kNone || L_.ldr_full_name == kNone)
    return false;
  const uint64_t head = runtime(L_.rva_loaded_modules);
  uint64_t entry = 0;
  if (!read_ptr(cpu, head, entry)) return false;
  for (unsigned i = 0; i < kMaxModules && entry != head && is_kernel_pointer(entry); ++i) {
    uint64_t base = 0;
    uint32_t size = 0;
    if (read_ptr(cpu, entry + L_.ldr_base, base) && cpu.read_u32(entry + L_.ldr_size, size) &&
        addr >= base && addr - base < size)
      return read_unicode_string(cpu, entry + L_.ldr_full_name, out);
    if (!read_ptr(cpu, entry, entry)) return false;  // InLoadOrderLinks.Flink at offset 0
  }
  return false;
}

bool WindowsKernel::module_of(vmi::Vcpu& cpu, uint64_t process, uint64_t addr, WideText& out) const {
  if (is_kernel_pointer(addr)) return kernel_module(cpu, addr, out);
  if (!is_user_pointer(addr) || !is_kernel_pointer(process)) return false;
  return vad_file(cpu, process, addr, out);
}

}  // namespace vmitrace::oswin

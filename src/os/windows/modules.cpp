// Code address -> module: user addresses through the process's VAD tree (the file
// mapped by the VAD that covers the address), kernel addresses through the loaded
// module list. Trees and lists come from the guest: every walk has a step bound, so
// a loop ends as "unknown" rather than a hang.
#include <cstring>

#include "os/windows/kernel.hpp"
#include "vmi/field_windows.hpp"

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
  const unsigned ptr = L_.ptr;
  for (unsigned step = 0; step < kMaxVadSteps && is_kernel_pointer(node); ++step) {
    vmi::WindowedRead n(cpu, node, vad_win_);  // the node's fields in one read
    uint64_t start = 0, end = 0, sh = 0, eh = 0;
    if (!n.get_uint(L_.vad_start, L_.vad_vpn_size, start) || !n.get_uint(L_.vad_end, L_.vad_vpn_size, end))
      return false;
    if (L_.vad_vpn_size == 4) {  // Windows 8+: 8 more bits of each VPN in a byte of their own
      if (L_.vad_start_high != kNone) n.get_uint(L_.vad_start_high, 1, sh);
      if (L_.vad_end_high != kNone) n.get_uint(L_.vad_end_high, 1, eh);
      start |= sh << 32;
      end |= eh << 32;
    }
    uint64_t next = 0;
    if (vpn < start) {
      if (!n.get_uint(L_.vad_left, ptr, next)) return false;
    } else if (vpn > end) {
      if (!n.get_uint(L_.vad_right, ptr, next)) return false;
    } else {
      // MMVAD.Subsection -> CONTROL_AREA -> FilePointer (EX_FAST_REF) -> FileName.
      uint64_t sub = 0, ca = 0, file = 0;
      if (L_.vad_subsection == kNone || L_.subsection_control_area == kNone ||
          L_.control_area_file == kNone || L_.file_name == kNone)
        return false;
      if (!n.get_uint(L_.vad_subsection, ptr, sub) || !is_kernel_pointer(sub)) return false;
      if (!read_ptr(cpu, sub + L_.subsection_control_area, ca) || !is_kernel_pointer(ca)) return false;
      if (!read_ptr(cpu, ca + L_.control_area_file, file)) return false;
      file &= ptr == 8 ? ~uint64_t{0xf} : ~uint64_t{0x7};
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
    vmi::WindowedRead e(cpu, entry, ldr_win_);  // link, base and size in one read
    uint64_t base = 0, size = 0;
    if (e.get_uint(L_.ldr_base, L_.ptr, base) && e.get_uint(L_.ldr_size, 4, size) && addr >= base &&
        addr - base < size)
      return read_unicode_string(cpu, entry + L_.ldr_full_name, out);
    if (!e.get_uint(0, L_.ptr, entry)) return false;  // InLoadOrderLinks.Flink at offset 0
  }
  return false;
}

bool WindowsKernel::module_of(vmi::Vcpu& cpu, uint64_t process, uint64_t addr, WideText& out) const {
  if (is_kernel_pointer(addr)) return kernel_module(cpu, addr, out);
  if (!is_user_pointer(addr) || !is_kernel_pointer(process)) return false;
  return vad_file(cpu, process, addr, out);
}

}  // namespace vmitrace::oswin

// Handle -> object -> name: the process's handle table (1 to 3 levels), the object
// header before the body, its optional NAME_INFO header (with the directory chain),
// and the FILE_OBJECT's own file name. Garbage tables give "no name", never a loop:
// every level is a bounded index, every directory walk a bounded depth.
#include <cstring>

#include "os/windows/kernel.hpp"

namespace vmitrace::oswin {
namespace {

constexpr uint64_t kPage = 4096;
constexpr unsigned kMaxDirDepth = 8;
constexpr uint64_t kMaxHandleIndex = 1u << 24;  // Windows' own limit on handle values

}  // namespace

uint64_t WindowsKernel::handle_object(vmi::Vcpu& cpu, uint64_t process, uint64_t handle) const {
  if (L_.proc_object_table == kNone || L_.table_code == kNone || L_.header_body == kNone) return 0;
  handle &= 0xffffffffull;
  const uint64_t index = handle >> 2;
  if (index == 0 || index >= kMaxHandleIndex) return 0;
  uint64_t table = 0, code = 0;
  if (!read_ptr(cpu, process + L_.proc_object_table, table) || !is_kernel_pointer(table)) return 0;
  if (!read_ptr(cpu, table + L_.table_code, code)) return 0;
  const uint64_t per_page = kPage / L_.handle_entry_size, ptrs_per_page = kPage / L_.ptr;
  const unsigned levels = code & 3;
  uint64_t page = code & ~uint64_t{3};
  // Index of the pointer to follow at each upper level, outermost first.
  uint64_t rest = index / per_page;
  uint64_t idx[2] = {0, 0};
  if (levels == 0 && rest != 0) return 0;
  if (levels == 1) {
    if (rest >= ptrs_per_page) return 0;
    idx[0] = rest;
  } else if (levels == 2) {
    if (rest >= ptrs_per_page * ptrs_per_page) return 0;
    idx[0] = rest / ptrs_per_page;
    idx[1] = rest % ptrs_per_page;
  } else if (levels > 2) {
    return 0;
  }
  for (unsigned l = 0; l < levels; ++l) {
    if (!is_kernel_pointer(page) || !read_ptr(cpu, page + idx[l] * L_.ptr, page)) return 0;
  }
  if (!is_kernel_pointer(page)) return 0;
  uint64_t entry = 0;
  if (!read_ptr(cpu, page + (index % per_page) * L_.handle_entry_size, entry) || entry == 0) return 0;
  uint64_t header = 0;
  if (L_.handle_pointer_bits) {
    const uint64_t mask = L_.handle_bits_len >= 64 ? ~uint64_t{0} : (uint64_t{1} << L_.handle_bits_len) - 1;
    // x64 keeps bits 4..47 of the header address (16-byte aligned, canonical upper
    // half); x86 keeps the address above its low flag bits in place.
    if (L_.ptr == 8) header = ((entry >> L_.handle_bits_pos) & mask) << 4 | 0xffff000000000000ull;
    else header = ((entry >> L_.handle_bits_pos) & mask) << L_.handle_bits_pos;
  } else {
    header = entry & ~uint64_t{7};
  }
  if (!is_kernel_pointer(header)) return 0;
  return header + L_.header_body;
}

int WindowsKernel::type_index(vmi::Vcpu& cpu, uint64_t header) const {
  uint8_t t = 0;
  if (L_.header_type_index == kNone || cpu.read_virt(header + L_.header_type_index, &t, 1) != 1) return -1;
  // Windows 10+: the stored index is xor-ed with a boot cookie and a header address byte.
  if (have_cookie_) t ^= header_cookie_ ^ static_cast<uint8_t>(header >> 8);
  return t;
}

bool WindowsKernel::object_name(vmi::Vcpu& cpu, uint64_t body, WideText& out) const {
  if (!is_kernel_pointer(body) || L_.header_body == kNone || L_.header_info_mask == kNone) return false;
  uint64_t chain[kMaxDirDepth];  // NAME_INFO addresses, innermost first
  unsigned depth = 0;
  uint64_t cur = body;
  while (depth < kMaxDirDepth && is_kernel_pointer(cur)) {
    const uint64_t header = cur - L_.header_body;
    uint8_t mask = 0;
    if (cpu.read_virt(header + L_.header_info_mask, &mask, 1) != 1 || !(mask & 0x2)) break;
    const uint64_t ni = header - L_.name_info_size - ((mask & 0x1) ? L_.creator_info_size : 0);
    chain[depth++] = ni;
    uint64_t dir = 0;
    if (L_.name_info_directory == kNone || !read_ptr(cpu, ni + L_.name_info_directory, dir) || dir == cur)
      break;
    cur = dir;
  }
  if (depth > 0 && L_.name_info_name != kNone) {
    const size_t start = out.len;
    for (unsigned i = depth; i-- > 0;) {
      WideText part;
      if (!read_unicode_string(cpu, chain[i] + L_.name_info_name, part)) continue;
      if (part.len == 0 || (part.len == 2 && part.bytes[0] == '\\' && part.bytes[1] == 0)) continue;
      out.append_ascii("\\");  // every level, so the result is a full path
      out.append(part.bytes, part.len);
    }
    if (out.len > start) {
      out.state = event::Capture::ok;
      return true;
    }
  }
  // Unnamed: a FILE_OBJECT carries its path relative to its device.
  const int file = file_type_.load(std::memory_order_relaxed);
  if (file >= 0 && L_.file_name != kNone && type_index(cpu, body - L_.header_body) == file)
    return read_unicode_string(cpu, body + L_.file_name, out);
  return false;
}

bool WindowsKernel::handle_name(vmi::Vcpu& cpu, uint64_t process, uint64_t handle, WideText& out) const {
  if (!is_kernel_pointer(process)) return false;
  const uint64_t body = handle_object(cpu, process, handle);
  return body && object_name(cpu, body, out);
}

}  // namespace vmitrace::oswin

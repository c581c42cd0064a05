#include "vmi/vmi.hpp"

namespace vmitrace::vmi {

const char* reg_name(Reg r) {
  static const char* const names[] = {
      "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
      "r12", "r13", "r14", "r15", "rip", "eflags", "cr0", "cr3", "cr4", "fs_base",
      "gs_base", "k_gs_base"};
  static_assert(sizeof(names) / sizeof(names[0]) == static_cast<size_t>(Reg::count));
  auto i = static_cast<size_t>(r);
  return i < static_cast<size_t>(Reg::count) ? names[i] : "?";
}

}  // namespace vmitrace::vmi

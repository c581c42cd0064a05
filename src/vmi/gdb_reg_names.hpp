// The names QEMU gives the registers of vmi::Reg in its gdb target descriptions, per
// target: x86_64, i386 and aarch64 (core x0..x30 sp pc cpsr, and the system registers
// of its "org.qemu.gdb.arm.sys.regs" feature, where VBAR_EL1 is "VBAR"). Both backends
// find registers by these names: the gdbstub in target.xml, the QEMU module in
// qemu_plugin_get_registers (which lists the same descriptions).
#pragma once
#include <cstddef>

#include "vmi/vmi.hpp"

namespace vmitrace::vmi {

enum class GdbTarget : unsigned char { x86_64, i386, aarch64 };

struct GdbRegNames {
  const char* x86_64;
  const char* i386;
  const char* aarch64;
};

inline constexpr GdbRegNames kGdbRegNames[] = {
    {"rax", "eax", nullptr}, {"rbx", "ebx", nullptr}, {"rcx", "ecx", nullptr}, {"rdx", "edx", nullptr},
    {"rsi", "esi", nullptr}, {"rdi", "edi", nullptr}, {"rbp", "ebp", nullptr}, {"rsp", "esp", "sp"},
    {"r8", nullptr, nullptr}, {"r9", nullptr, nullptr}, {"r10", nullptr, nullptr}, {"r11", nullptr, nullptr},
    {"r12", nullptr, nullptr}, {"r13", nullptr, nullptr}, {"r14", nullptr, nullptr}, {"r15", nullptr, nullptr},
    {"rip", "eip", "pc"}, {"eflags", "eflags", nullptr}, {"cr0", "cr0", nullptr}, {"cr3", "cr3", nullptr},
    {"cr4", "cr4", nullptr}, {"fs_base", "fs_base", nullptr}, {"gs_base", "gs_base", nullptr},
    {"k_gs_base", "k_gs_base", nullptr},
    {nullptr, nullptr, "x0"}, {nullptr, nullptr, "x1"}, {nullptr, nullptr, "x2"}, {nullptr, nullptr, "x3"},
    {nullptr, nullptr, "x4"}, {nullptr, nullptr, "x5"}, {nullptr, nullptr, "x6"}, {nullptr, nullptr, "x7"},
    {nullptr, nullptr, "x8"}, {nullptr, nullptr, "x9"}, {nullptr, nullptr, "x10"}, {nullptr, nullptr, "x11"},
    {nullptr, nullptr, "x12"}, {nullptr, nullptr, "x13"}, {nullptr, nullptr, "x14"}, {nullptr, nullptr, "x15"},
    {nullptr, nullptr, "x16"}, {nullptr, nullptr, "x17"}, {nullptr, nullptr, "x18"}, {nullptr, nullptr, "x19"},
    {nullptr, nullptr, "x20"}, {nullptr, nullptr, "x21"}, {nullptr, nullptr, "x22"}, {nullptr, nullptr, "x23"},
    {nullptr, nullptr, "x24"}, {nullptr, nullptr, "x25"}, {nullptr, nullptr, "x26"}, {nullptr, nullptr, "x27"},
    {nullptr, nullptr, "x28"}, {nullptr, nullptr, "x29"}, {nullptr, nullptr, "x30"},
    {nullptr, nullptr, "cpsr"}, {nullptr, nullptr, "SP_EL0"}, {nullptr, nullptr, "TTBR0_EL1"},
    {nullptr, nullptr, "TTBR1_EL1"}, {nullptr, nullptr, "TCR_EL1"}, {nullptr, nullptr, "VBAR"}};
static_assert(sizeof(kGdbRegNames) / sizeof(kGdbRegNames[0]) == static_cast<size_t>(Reg::count));

// The name of r on target t, or nullptr when that target has no such register.
constexpr const char* gdb_reg_name(Reg r, GdbTarget t) {
  const GdbRegNames& n = kGdbRegNames[static_cast<size_t>(r)];
  return t == GdbTarget::x86_64 ? n.x86_64 : t == GdbTarget::i386 ? n.i386 : n.aarch64;
}

}  // namespace vmitrace::vmi

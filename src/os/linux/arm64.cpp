// arm64 Linux: what differs from x86 once the task lists, files and contexts are
// shared (kernel.hpp): the architecture test, pt_regs, and where KASLR put the image.
#include "os/linux/arm64.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "vmi/arm64_paging.hpp"

namespace vmitrace::oslinux {

Arch arch_of(const profile::Profile& p) {
  const std::string a = p.metadata.architecture.empty() ? profile::infer_architecture(p) : p.metadata.architecture;
  if (a == "arm64") return Arch::arm64;
  if (a == "i386" || p.metadata.pointer_size == 4) return Arch::i386;
  if (a.empty() && (p.symbol("__arm64_sys_read") || p.symbol("invoke_syscall"))) return Arch::arm64;
  return Arch::x86_64;
}

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::x86_64: return "x86_64";
    case Arch::i386: return "i386";
    case Arch::arm64: return "arm64";
  }
  return "?";
}

PtRegsLayout arm64_pt_regs(const profile::Profile& p, const std::string& what) {
  if (!p.type("pt_regs"))
    throw Error(what, "no pt_regs type in the profile: the arguments of an arm64 syscall cannot be read");
  const auto size = p.struct_size("pt_regs").value_or(0);
  auto need = [&](const char* field, uint32_t len) {
    const auto off = p.field_offset("pt_regs", field);
    if (!off) throw Error(what, std::string("the profile's pt_regs has no field ") + field + " (arm64)");
    if (*off + len > 512 || (size && *off + len > size))
      throw Error(what, std::string("pt_regs.") + field + " (offset " + std::to_string(*off) +
                            ") lies outside pt_regs (" + std::to_string(size) + " bytes)");
    return static_cast<uint32_t>(*off);
  };
  PtRegsLayout r;
  const uint32_t regs = need("regs", 31 * 8);
  r.ax = regs;  // x0: the first argument at entry, the return value at exit
  for (unsigned i = 0; i < 6; ++i) r.arg[i] = r.compat_arg[i] = regs + 8 * i;
  r.sp = need("sp", 8);
  r.ip = need("pc", 8);
  r.pstate = need("pstate", 8);
  // An s32 followed by padding: the plugin reads 8 bytes and keeps the low 32 bits.
  r.orig_ax = need("syscallno", 8);
  return r;
}

// The slides an arm64 kernel may have. KASLR moves the image anywhere in the middle of
// the vmalloc area (a 2^46-byte range with 48-bit addresses), so no window scan: first
// VBAR_EL1, which holds the run-time address of the exception vectors, minus their
// link address; then each 64 KiB step (the image's alignment) that keeps the vCPU's pc
// inside the kernel text. Every candidate is proven by the full banner.
bool LinuxKernel::scan_arm64(vmi::Vcpu& cpu, BannerScan& scan, uint64_t& slide) {
  auto try_slide = [&](uint64_t s) {
    if (!banner_at(cpu, s, scan)) return false;
    slide = s;
    return true;
  };
  uint64_t vbar = 0;
  if (cpu.read_reg(vmi::Reg::vbar_el1, vbar) && is_kernel_pointer(vbar)) {
    for (const char* v : {"vectors", "__bp_harden_el1_vectors"})
      if (auto link = prof_.symbol(v); link && try_slide(vbar - *link)) return true;
  }
  uint64_t pc = 0;
  if (!cpu.read_reg(vmi::Reg::pc, pc) || !is_kernel_pointer(pc)) return false;
  const uint64_t hi = kernel_text_range(prof_).second;
  constexpr uint64_t kStep = 64 * 1024;
  constexpr uint64_t kMaxText = 256ull << 20;  // a profile is input too: bound the scan
  const uint64_t text = hi > text_link_ ? std::min(hi - text_link_, kMaxText) : kMaxText;
  // The text starts at most `text` bytes below pc: slide = start - text_link_.
  const uint64_t first = (pc - text_link_) & ~(kStep - 1);
  for (uint64_t back = 0; back <= text + kStep; back += kStep)
    if (try_slide(first - back)) return true;
  return false;
}

std::string LinuxKernel::arm64_space_problem(vmi::Vcpu& cpu) const {
  // Judged only while the vCPU runs kernel code (the MMU on, TCR_EL1 the kernel's):
  // firmware and early boot have their own settings. 0 is no kernel's TCR_EL1 (T0SZ
  // 0 is invalid): a backend that does not know the register.
  uint64_t pc = 0, tcr = 0;
  if (!cpu.read_reg(vmi::Reg::pc, pc) || !is_kernel_pointer(pc) || !cpu.read_reg(vmi::Reg::tcr_el1, tcr) || !tcr)
    return {};
  const std::string why = vmi::arm64_paging_unsupported({0, 0, tcr}, vmi::Arm64Half::upper);
  if (why.empty()) return {};
  return "the kernel's address space is not supported: " + why + " (QEMU: -cpu max,lpa2=off; docs/ARM64.md)";
}

bool LinuxKernel::arm64_linear_offset(vmi::Vcpu& cpu, uint64_t pgd_pa, uint64_t& out) const {
  if (const uint64_t known = linear_offset_.load(std::memory_order_relaxed)) {
    out = known;
    return true;
  }
  if (mm_pgd_ == kNoOffset || task_.mm == kNoOffset || pgd_pa == 0) return false;
  uint64_t mm = 0, pgd = 0;
  const uint64_t task = current_task(cpu);
  if (!task || !read_pointer(cpu, task + task_.mm, mm) || !is_kernel_pointer(mm) ||
      !read_pointer(cpu, mm + mm_pgd_, pgd) || !is_kernel_pointer(pgd) || (pgd & 0x3f))
    return false;
  // The linear map's offset is page-aligned whatever the granule: a pgd whose low bits
  // differ from TTBR0's is not this table.
  if ((pgd - pgd_pa) & 0xfff) return false;
  out = pgd - pgd_pa;
  linear_offset_.store(out, std::memory_order_relaxed);
  return true;
}

}  // namespace vmitrace::oslinux

// Resolves, once, the offsets and symbols the hot path needs from the profile.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "os/linux/arm64.hpp"
#include "os/linux/kernel.hpp"

namespace vmitrace::oslinux {
namespace {

uint32_t offset_or(const profile::Profile& p, std::string_view type, std::string_view field,
                   uint32_t fallback) {
  auto off = p.field_offset(type, field);
  return off && *off < (1u << 20) ? static_cast<uint32_t>(*off) : fallback;
}

// struct pt_regs is part of the user ABI (ptrace) and has not moved in decades, so
// when a profile lacks the type we use the known layout rather than give up.
PtRegsLayout known_pt_regs(unsigned ptr_size) {
  PtRegsLayout r;
  if (ptr_size == 8) {
    r.bp = 32; r.bx = 40; r.r10 = 56; r.r9 = 64; r.r8 = 72; r.ax = 80; r.cx = 88;
    r.dx = 96; r.si = 104; r.di = 112; r.orig_ax = 120; r.ip = 128; r.sp = 152;
    r.size = 168;
  } else {
    r.bx = 0; r.cx = 4; r.dx = 8; r.si = 12; r.di = 16; r.bp = 20; r.ax = 24;
    r.orig_ax = 44; r.ip = 48; r.sp = 60;
    r.size = 68;
  }
  return r;
}

PtRegsLayout pt_regs_from(const profile::Profile& p, unsigned ptr_size) {
  PtRegsLayout k = known_pt_regs(ptr_size);
  if (!p.type("pt_regs")) return k;
  PtRegsLayout r;
  r.di = offset_or(p, "pt_regs", "di", k.di);
  r.si = offset_or(p, "pt_regs", "si", k.si);
  r.dx = offset_or(p, "pt_regs", "dx", k.dx);
  r.r10 = offset_or(p, "pt_regs", "r10", k.r10);
  r.r8 = offset_or(p, "pt_regs", "r8", k.r8);
  r.r9 = offset_or(p, "pt_regs", "r9", k.r9);
  r.bx = offset_or(p, "pt_regs", "bx", k.bx);
  r.cx = offset_or(p, "pt_regs", "cx", k.cx);
  r.bp = offset_or(p, "pt_regs", "bp", k.bp);
  r.ax = offset_or(p, "pt_regs", "ax", k.ax);
  r.orig_ax = offset_or(p, "pt_regs", "orig_ax", k.orig_ax);
  r.sp = offset_or(p, "pt_regs", "sp", k.sp);
  r.ip = offset_or(p, "pt_regs", "ip", k.ip);
  return r;
}

// The argument lists, then the size of the one read that covers every field.
void finish_pt_regs(PtRegsLayout& r, Arch arch, unsigned ptr_size) {
  const uint32_t x86[6] = {r.di, r.si, r.dx, r.r10, r.r8, r.r9};
  const uint32_t ia32[6] = {r.bx, r.cx, r.dx, r.si, r.di, r.bp};
  if (arch == Arch::x86_64) std::copy(x86, x86 + 6, r.arg);
  else if (arch == Arch::i386) std::copy(ia32, ia32 + 6, r.arg);
  if (arch != Arch::arm64) std::copy(ia32, ia32 + 6, r.compat_arg);
  // Read enough to cover every field we use (bounded: a profile is input too).
  uint32_t end = 0;
  auto cover = [&](uint32_t o) {
    if (o != kNoOffset && o + ptr_size > end) end = o + ptr_size;
  };
  for (uint32_t o : {r.ax, r.orig_ax, r.sp, r.ip, r.pstate}) cover(o);
  for (unsigned i = 0; i < 6; ++i) {
    cover(r.arg[i]);
    cover(r.compat_arg[i]);
  }
  if (end > 512) throw Error("pt_regs", "implausible pt_regs layout in the profile");
  r.size = std::max(r.size, end);  // the known layouts read the whole user ABI struct
}

// Banner text without trailing NULs (ISF constant_data keeps the terminator).
std::string clean_banner(std::string s) {
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// Groups the per-event task_struct fields into windows: fields closer than 768
// bytes share one read (6.1 and 6.12: pid at ~2420, comm at ~2980: one 576-byte read).
TaskWindows plan_task_windows(const TaskLayout& t, unsigned ptr_size) {
  const vmi::FieldSpan f[] = {{t.pid, 4}, {t.tgid, 4}, {t.real_parent, ptr_size}, {t.group_leader, ptr_size},
                              {t.cred, ptr_size}, {t.comm, event::kCommLen}};
  return vmi::plan_field_windows(f, 768, TaskWindows::kMaxBytes);
}

// The task_struct and cred fields every event needs: a profile without one of them,
// or with one outside its structure, is refused here (no guest needed to see it).
TaskLayout task_layout_from(const profile::Profile& p, unsigned ptr_size, const std::string& what) {
  if (!p.type("task_struct"))
    throw Error(what, "no task_struct type in the profile: the process of an event cannot be read");
  TaskLayout t;
  const auto size = p.struct_size("task_struct");
  auto need = [&](std::string_view type, std::string_view field, uint32_t len,
                  std::optional<uint64_t> type_size) {
    const auto off = p.field_offset(type, field);
    if (!off)
      throw Error(what, "the profile's " + std::string(type) + " has no field " + std::string(field));
    if (*off >= (1u << 20) || (type_size && *type_size && *off + len > *type_size))
      throw Error(what, std::string(type) + "." + std::string(field) + " (offset " + std::to_string(*off) +
                            ", " + std::to_string(len) + " bytes) lies outside " + std::string(type) +
                            " (" + std::to_string(type_size.value_or(0)) + " bytes)");
    return static_cast<uint32_t>(*off);
  };
  t.pid = need("task_struct", "pid", 4, size);
  t.tgid = need("task_struct", "tgid", 4, size);
  t.comm = need("task_struct", "comm", event::kCommLen, size);
  t.real_parent = need("task_struct", "real_parent", ptr_size, size);
  t.group_leader = need("task_struct", "group_leader", ptr_size, size);
  t.cred = need("task_struct", "cred", ptr_size, size);
  if (!p.type("cred")) throw Error(what, "no cred type in the profile: the user of an event cannot be read");
  t.cred_uid = need("cred", "uid", 4, p.struct_size("cred"));
  t.mm = offset_or(p, "task_struct", "mm", kNoOffset);
  if (p.field_offset("task_struct", "tasks")) t.tasks = need("task_struct", "tasks", 2 * ptr_size, size);
  return t;
}

}  // namespace

LinuxKernel::LinuxKernel(const profile::Profile& p, std::string what)
    : prof_(p), what_(std::move(what)) {
  static std::atomic<uint32_t> instances{0};
  instance_ = instances.fetch_add(1, std::memory_order_relaxed) + 1;
  ptr_size_ = p.metadata.pointer_size == 4 ? 4 : 8;
  arch_ = arch_of(p);
  space_ = kernel_space(arch_);
  regs_ = arch_ == Arch::arm64 ? arm64_pt_regs(p, what_) : pt_regs_from(p, ptr_size_);
  finish_pt_regs(regs_, arch_, ptr_size_);

  task_ = task_layout_from(p, ptr_size_, what_);
  if (arch_ == Arch::arm64) mm_pgd_ = offset_or(p, "mm_struct", "pgd", kNoOffset);
  windows_ = plan_task_windows(task_, ptr_size_);
  files_ = file_layout_from(p, ptr_size_);

  // Current task: arm64 keeps it in SP_EL0 while in the kernel; x86 6.2 .. 6.14 in
  // pcpu_hot; before and after, in the per-CPU variable current_task.
  if (arch_ == Arch::arm64) {
    current_.in_sp_el0 = true;
    current_.known = true;
    current_.source = "SP_EL0";
  } else if (auto hot = p.symbol("pcpu_hot")) {
    if (auto off = p.field_offset("pcpu_hot", "current_task")) {
      current_ = {false, true, false, *hot + *off, true, "pcpu_hot.current_task"};
    }
  }
  if (!current_.known) {
    if (auto ct = p.symbol("current_task")) current_ = {false, true, false, *ct, true, "current_task"};
  }
  if (!current_.known)
    throw Error(what_, "no current_task or pcpu_hot.current_task symbol in the profile: the "
                       "running task cannot be found");
  // x86-64: a per-CPU symbol's value is an offset from the per-CPU base; a value
  // that is itself a kernel address is an ordinary variable (uniprocessor builds).
  // i386 per-CPU symbols are kernel addresses anyway (not zero-based): still
  // per-CPU on SMP builds, which is what every distribution kernel is.
  if (current_.known && !current_.in_sp_el0 && is_kernel_pointer(current_.where)) {
    current_.slid = true;
    current_.per_cpu = ptr_size_ == 4;
  }

  auto banner = p.symbol("linux_banner");
  if (!banner)
    throw Error(what_, "no linux_banner symbol in the profile: cannot locate the kernel (KASLR)");
  banner_link_ = *banner;
  auto it = p.symbols.find("linux_banner");
  if (it != p.symbols.end() && it->second.constant_data)
    banner_ = clean_banner(*it->second.constant_data);
  if (banner_.empty()) banner_ = clean_banner(p.metadata.banner);
  if (!banner_.empty() && banner_.rfind("Linux version ", 0) != 0)
    throw Error(what_, "the profile's banner does not start with \"Linux version \"");
  if (banner_.size() > 1024) banner_.resize(1024);

  if (auto t = p.symbol("_text")) text_link_ = *t;
  else if (auto s = p.symbol("_stext")) text_link_ = *s;
  else if (arch_ == Arch::arm64) throw Error(what_, "no _text or _stext symbol in the profile: cannot locate the arm64 kernel (KASLR)");
  else text_link_ = ptr_size_ == 8 ? 0xffffffff81000000ull : 0xc1000000ull;
}

std::pair<uint64_t, uint64_t> kernel_text_range(const profile::Profile& p) {
  const unsigned ptr_size = p.metadata.pointer_size == 4 ? 4 : 8;
  const vmi::KernelSpace& space = kernel_space(arch_of(p));
  uint64_t lo = UINT64_MAX;
  if (auto s = p.symbol("_stext")) lo = *s;
  else if (auto t = p.symbol("_text")) lo = *t;
  else
    for (const auto& [name, sym] : p.symbols)
      if (space.contains(sym.address, ptr_size) && sym.address < lo) lo = sym.address;
  if (auto e = p.symbol("_etext"); e && *e > lo) return {lo, *e};
  uint64_t hi = UINT64_MAX;
  for (const char* n : {"__start_rodata", "linux_banner", "_sdata", "__end_rodata", "_edata", "_end"})
    if (auto a = p.symbol(n); a && *a > lo && *a < hi) hi = *a;
  return {lo, hi};
}

void check_code_sites(const profile::Profile& p, std::span<const CodeSite> sites, const std::string& what) {
  const auto [lo, hi] = kernel_text_range(p);
  auto hex = [](uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return std::string(b);
  };
  for (const CodeSite& s : sites)
    if (s.link < lo || s.link >= hi)
      throw Error(what, std::string(s.symbol) + " at " + hex(s.link) + " lies outside the kernel text (" + hex(lo) +
                            " .. " + hex(hi) + "): the profile does not fit its own kernel");
}

bool LinuxKernel::is_kernel_pointer(uint64_t p) const {
  return space_.contains(p, ptr_size_);
}

bool LinuxKernel::read_pointer(vmi::Vcpu& cpu, uint64_t va, uint64_t& out) const {
  if (ptr_size_ == 8) return cpu.read_u64(va, out);
  uint32_t v = 0;
  if (!cpu.read_u32(va, v)) return false;
  out = v;
  return true;
}

}  // namespace vmitrace::oslinux

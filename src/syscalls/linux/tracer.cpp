// The Linux tracer: wiring of hook plan, capture and return pairing. The
// callbacks (on_entry / on_exit_regs / on_return_site) run on vCPU threads, several
// at once under MTTCG: they touch only immutable state, atomics and the sharded
// pending table, and build records in a thread-local buffer (no allocation).
#include "syscalls/linux/tracer.hpp"

#include <algorithm>
#include <bitset>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "event/record.hpp"
#include "os/linux/arm64_user.hpp"
#include "os/linux/kernel.hpp"
#include "profile/profile.hpp"
#include "syscalls/core/filter.hpp"
#include "syscalls/linux/capture.hpp"
#include "syscalls/linux/context_health.hpp"
#include "syscalls/linux/hook_plan.hpp"
#include "syscalls/linux/pending_entry.hpp"
#include "syscalls/linux/socketcall.hpp"
#include "syscalls/core/return_sites.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::syscalls {
namespace {

using event::Abi;
using vmi::Reg;

constexpr unsigned kMaxNr = 2048;         // filter bitset size; tables end far below
constexpr unsigned kMaxReturnSites = 32;  // distinct return addresses we hook
// The start-up self-check: a failing verdict must repeat on this many samples (other
// moments, maybe other vCPUs) before tracing stops, so that a task list changing
// under the walk on another vCPU is not taken for a profile that does not fit.
constexpr unsigned kSelfCheckConfirm = 3;
// How long vCPUs without a per-CPU base (early boot: on i386 until the per-CPU areas
// are set up, late in start_kernel; a kernel entry before swapgs) may be seen before
// the check gives up: a kernel reaches a usable state within a second or two.
constexpr auto kSelfCheckMaxNotReady = std::chrono::seconds(60);

// Where the profile's kernel runs, for the backend's probe: its architecture's 64-bit
// range and i386's, whatever the profile's width, so that a profile of the other width
// still meets the running kernel and is refused with one line (word_size_matches).
vmi::KernelSpace kernel_space_of(const profile::Profile& p) {
  return {oslinux::kernel_space(oslinux::arch_of(p)).range64, oslinux::kKernelSpace.range32};
}

// Native ABI 0, the 32-bit compat ABI (ia32, AArch32) 1.
unsigned abi_index(Abi a) { return event::is_compat32(a) ? 1 : 0; }

// Argument i of the hooked function, by the kernel's C calling convention.
uint64_t call_arg(vmi::Vcpu& cpu, oslinux::Arch arch, unsigned i) {
  static constexpr Reg k64[] = {Reg::rdi, Reg::rsi, Reg::rdx, Reg::rcx, Reg::r8, Reg::r9};
  static constexpr Reg k32[] = {Reg::rax, Reg::rdx, Reg::rcx};  // i386 regparm(3)
  uint64_t v = 0;
  if (arch == oslinux::Arch::arm64) {
    if (i < 8) cpu.read_reg(vmi::arm64_x(i), v);
  } else if (arch == oslinux::Arch::x86_64) {
    if (i < 6) cpu.read_reg(k64[i], v);
  } else if (i < 3) {
    cpu.read_reg(k32[i], v);
    v &= 0xffffffffu;
  }
  return v;
}

void copy_name(char* dst, size_t cap, std::string_view s) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), std::min(cap, s.size()));
}

}  // namespace

// The Linux guest's tracer.
struct LinuxTracer final : Tracer {
  vmi::EventSink& sink;
  profile::Profile prof;
  std::string what;
  std::unique_ptr<oslinux::LinuxKernel> kernel;
  HookPlan plan;
  unsigned ptr_size = 8;
  oslinux::Arch arch = oslinux::Arch::x86_64;
  Abi native_abi = Abi::linux_x64, compat_abi = Abi::linux_ia32;  // i386: ia32 both
  Reg ret_reg = Reg::rax;     // a function's return value
  Reg space_reg = Reg::cr3;   // the events' CR3 field (arm64: TTBR0_EL1, see docs/ARM64.md)
  CaptureLimits limits;

  bool filtered = false;
  std::bitset<kMaxNr> allow[2];
  uint32_t no_return[2][2] = {{UINT32_MAX, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}};
  uint32_t exec_nr[2][2] = {{UINT32_MAX, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}};
  std::bitset<kMaxNr> new_creds[2];  // syscalls that may install new credentials
  std::bitset<kMaxNr> renames[2];    // syscalls after which the names are read again
  uint32_t socketcall_nr = ~0u;      // ia32's socketcall: reported as its call

  // Where new tasks first reach syscall_exit_to_user_mode (ret_from_fork, and
  // ret_from_fork_asm since 6.8), as [start, end): link-time, then run-time once the
  // kernel is located. Knowing them lets the
  // exit hook key pending entries by pt_regs alone and find the return value, the
  // return address and so the thread's identity in one guest read.
  struct Range { uint64_t start = 0, end = 0; };
  Range fork_returns[2];
  bool regs_keyed = false;

  PendingTable pending;
  std::unique_ptr<ContextHealth> health;  // warns when context reads keep failing

  std::mutex locate_mu;  // the KASLR scan
  ReturnSites ret_sites{kMaxReturnSites};  // added to under mu
  // The hooked functions (entries and the return hook), for the self-check.
  std::vector<oslinux::CodeSite> code_sites;
  unsigned self_check_failures = 0;  // under locate_mu
  std::optional<std::chrono::steady_clock::time_point> first_not_ready;  // under locate_mu

  LinuxTracer(const TracerConfig& c, profile::Profile p, vmi::Backend& b, vmi::EventSink& s)
      : Tracer(c, b, kernel_space_of(p)), sink(s), prof(std::move(p)) {
    what = cfg.profile_path.empty() ? std::string("profile") : cfg.profile_path;
    kernel = std::make_unique<oslinux::LinuxKernel>(prof, what);
    ptr_size = kernel->pointer_size();
    arch = kernel->arch();
    // What start() compares with the guest machine (profiles built in code have none).
    if (prof.metadata.architecture.empty()) prof.metadata.architecture = oslinux::arch_name(arch);
    if (arch == oslinux::Arch::arm64) {
      native_abi = Abi::linux_arm64;
      compat_abi = Abi::linux_arm32;
      ret_reg = Reg::x0;
      space_reg = Reg::ttbr0_el1;
    } else if (arch == oslinux::Arch::i386) {
      native_abi = Abi::linux_ia32;
    }
    const Abi abis[2] = {native_abi, compat_abi};
    limits.string_limit = std::min(cfg.string_limit, kMaxStringLimit);
    limits.buffer_limit = std::min(cfg.capture_buffers, kMaxBufferCapture);

    std::optional<LinuxFilter> filter;
    if (!cfg.filter_file.empty()) {
      filter = load_linux_filter(cfg.filter_file, cfg.warn_unknown_filter_names);
      check_filter_for_guest(cfg.filter_file, *filter, {native_abi, compat_abi},
                             std::string(oslinux::arch_name(arch)) + " Linux", cfg.warn_unknown_filter_names);
      filtered = true;
      for (const auto& n : filter->names)
        for (Abi a : abis)
          if (const SyscallInfo* s = lookup(a, n); s && s->nr < kMaxNr) allow[abi_index(a)].set(s->nr);
    }
    plan = choose_hook_plan(prof, filter ? &filter->names : nullptr, cfg.disable_sysret, what);
    if (plan.entries.size() > UINT16_MAX) throw Error(what, "too many hook points");
    code_sites = plan.code_sites();
    std::array<std::string, oslinux::kContextReads> reads;
    for (unsigned i = 0; i < oslinux::kContextReads; ++i)
      reads[i] = kernel->describe_read(static_cast<oslinux::ContextRead>(1u << i));
    health = std::make_unique<ContextHealth>(what, std::move(reads));

    // exit and exit_group never return: no pending state for them.
    for (Abi a : abis) {
      if (const SyscallInfo* s = lookup(a, "exit")) no_return[abi_index(a)][0] = s->nr;
      if (const SyscallInfo* s = lookup(a, "exit_group")) no_return[abi_index(a)][1] = s->nr;
      if (const SyscallInfo* s = lookup(a, "execve")) exec_nr[abi_index(a)][0] = s->nr;
      if (const SyscallInfo* s = lookup(a, "execveat")) exec_nr[abi_index(a)][1] = s->nr;
    }
    if (const SyscallInfo* s = lookup(Abi::linux_ia32, "socketcall")) socketcall_nr = s->nr;
    static constexpr const char* kNewCreds[] = {
        "execve", "execveat", "setuid", "setgid", "setreuid", "setregid", "setresuid",
        "setresgid", "setfsuid", "setfsgid", "setuid32", "setgid32", "setreuid32",
        "setregid32", "setresuid32", "setresgid32", "setfsuid32", "setfsgid32", "capset",
        "setgroups", "setgroups32", "keyctl", "unshare", "setns"};
    for (Abi a : abis)
      for (const char* n : kNewCreds)
        if (const SyscallInfo* s = lookup(a, n); s && s->nr < kMaxNr) new_creds[abi_index(a)].set(s->nr);
    for (Abi a : abis)
      for (const char* n : {"execve", "execveat", "prctl"})  // prctl: PR_SET_NAME
        if (const SyscallInfo* s = lookup(a, n); s && s->nr < kMaxNr) renames[abi_index(a)].set(s->nr);
    if (plan.ret == ReturnKind::exit_to_user_mode) find_fork_returns();
  }

  // [start, end) of each fork-return symbol: end = the next symbol up.
  void find_fork_returns() {
    const char* names[2] = {"ret_from_fork", "ret_from_fork_asm"};
    unsigned found = 0;
    for (unsigned i = 0; i < 2; ++i) {
      auto start = prof.symbol(names[i]);
      if (!start) continue;
      uint64_t end = UINT64_MAX;
      for (const auto& [name, sym] : prof.symbols)
        if (sym.address > *start && sym.address < end) end = sym.address;
      if (end == UINT64_MAX || end - *start > 4096) continue;  // implausible extent
      fork_returns[found++] = {*start, end};
    }
    // The keyed return reads the caller's return address on the stack: x86 only.
    regs_keyed = found > 0 && kernel->pt_regs().ax != oslinux::kNoOffset && arch != oslinux::Arch::arm64;
  }
  // After the kernel is located (place_hooks): the ranges at their run-time addresses.
  void slide_fork_returns() {
    for (Range& r : fork_returns)
      if (r.end) r = {kernel->runtime(r.start), kernel->runtime(r.end)};
  }
  bool is_fork_return(uint64_t addr) const {
    for (const Range& r : fork_returns)
      if (r.end && addr >= r.start && addr < r.end) return true;
    return false;
  }

  bool allowed(Abi abi, uint32_t nr) const {
    if (!filtered) return true;
    return nr < kMaxNr && allow[abi_index(abi)].test(nr);
  }
  bool never_returns(Abi abi, uint32_t nr) const {
    const auto& nr2 = no_return[abi_index(abi)];
    return nr == nr2[0] || nr == nr2[1];
  }
  bool is_exec(Abi abi, uint32_t nr) const {
    const auto& nr2 = exec_nr[abi_index(abi)];
    return nr == nr2[0] || nr == nr2[1];
  }

  // --- start-up -----------------------------------------------------------
  bool on_kernel(vmi::Vcpu& cpu) override {
    saw_kernel_code();
    if (failed.load() || tracing()) return true;
    // One vCPU at a time scans; another one just tries again later.
    std::unique_lock busy(locate_mu, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    if (failed.load() || tracing()) return true;
    std::string err;
    if (!word_size_matches(cpu, &err)) {
      fatal(err);
      return true;
    }
    switch (kernel->locate(cpu, &err)) {
      case oslinux::LinuxKernel::Locate::retry: return false;
      case oslinux::LinuxKernel::Locate::mismatch: fatal(err); return true;
      case oslinux::LinuxKernel::Locate::found: break;
    }
    if (!profile_fits(cpu)) return failed.load();
    place_hooks();
    return true;
  }

  // The start-up self-check (LinuxKernel::self_check) on this vCPU: true when the
  // profile fits; false to wait for another sample, or after a fatal error.
  bool profile_fits(vmi::Vcpu& cpu) {
    const oslinux::SelfCheck c = kernel->self_check(cpu, code_sites);
    switch (c.verdict) {
      case oslinux::SelfCheck::Verdict::pass:
        std::fprintf(stderr, "vmitrace: self-check: %s\n", c.message.c_str());
        return true;
      case oslinux::SelfCheck::Verdict::not_ready: {
        const auto now = std::chrono::steady_clock::now();
        if (!first_not_ready) first_not_ready = now;
        if (now - *first_not_ready >= kSelfCheckMaxNotReady) fatal(c.message);
        return false;
      }
      case oslinux::SelfCheck::Verdict::fail:
        if (++self_check_failures >= kSelfCheckConfirm) fatal(c.message);
        return false;
    }
    return false;
  }

  // A 64-bit kernel runs in the upper half; a 32-bit one at 0xc0000000.. with paging on
  // and no long mode (the BIOS at 0xfffffff0 has paging off, so it proves nothing). A
  // profile of the other width would never find its banner, so say why.
  bool word_size_matches(vmi::Vcpu& cpu, std::string* err) {
    uint64_t ip = 0, cr0 = 0;
    if (!cpu.read_reg(Reg::rip, ip)) return true;  // cannot tell: locate() decides
    const bool paging = cpu.read_reg(Reg::cr0, cr0) && (cr0 & 0x80000000u) != 0;
    const bool guest64 = oslinux::kKernelSpace.range64.contains(ip);
    const bool guest32 = oslinux::kKernelSpace.range32.contains(ip) && paging && cpu.pointer_size() == 4;
    if (!guest64 && !guest32) return true;  // no proof either way: locate() decides
    if (guest64 == (ptr_size == 8)) return true;
    *err = what + ": profile does not match the running kernel: the profile is for a " +
           (ptr_size == 8 ? "64-bit (x86-64)" : "32-bit (i386)") + " kernel, the guest runs a " +
           (guest64 ? "64-bit" : "32-bit") + " kernel";
    return false;
  }

  void place_hooks() {
    std::lock_guard lock(mu);
    slide_fork_returns();  // before any hook can fire
    for (size_t i = 0; i < plan.entries.size(); ++i) {
      const uint16_t idx = static_cast<uint16_t>(i);
      hooks.push_back(backend.add_hook(kernel->runtime(plan.entries[i].link),
                                       [this, idx](vmi::Vcpu& c, uint64_t) { on_entry(c, idx); }));
    }
    // Return hooks are gated: they fire only while some entry waits for its
    // return. With a filter most syscalls are never entered as far as we know, so
    // their returns then cost a compare in translated code instead of a callback.
    pending.set_watcher([this](bool nonempty) { backend.set_gate(nonempty); });
    if (plan.ret == ReturnKind::exit_to_user_mode)
      hooks.push_back(backend.add_gated_hook(kernel->runtime(plan.ret_link),
                                             [this](vmi::Vcpu& c, uint64_t) { on_exit_regs(c); }));
    now_tracing();
  }

  // Return-address fallback: hook each distinct return site once (few exist).
  void ensure_return_site(uint64_t addr) {
    if (!kernel->is_kernel_pointer(addr)) return;
    hook_return_site(ret_sites, addr, true, [this](vmi::Vcpu& c, uint64_t) { on_return_site(c); });
  }

  // --- records --------------------------------------------------------------
  static uint8_t* record_buffer() {
    alignas(8) static thread_local uint8_t buf[event::kMaxRecord];
    return buf;
  }
  static char* scratch_buffer() {
    static thread_local char buf[kScratchBytes];
    return buf;
  }

  void fill_common(event::Record& r, vmi::Vcpu& cpu, const oslinux::ProcessContext& ctx,
                   Abi abi, uint32_t nr, const std::string& module) {
    r.os = event::Os::linux;
    r.abi = abi;
    r.nr = nr;
    r.vcpu = cpu.index();
    r.time_ns = cpu.timestamp_ns();
    cpu.read_reg(space_reg, r.cr3);
    r.pid = ctx.pid;
    r.tid = ctx.tid;
    r.ppid = ctx.ppid;
    r.uid = ctx.uid;
    r.flags |= ctx.flags;
    std::memcpy(r.process_name, ctx.process_name, event::kCommLen);
    std::memcpy(r.thread_name, ctx.thread_name, event::kCommLen);
    copy_name(r.module, event::kModuleLen, module);
    if (ctx.uid == 0) copy_name(r.user_name, sizeof(r.user_name), "root");
  }

  // arm64: user memory through the task's own tables while PAN is set
  // (os/linux/arm64_user.hpp); other architectures read through the vCPU as it is.
  template <typename F>
  void with_user_access(vmi::Vcpu& cpu, F&& f) {
    if (arch != oslinux::Arch::arm64) return f(cpu);
    oslinux::Arm64UserVcpu user(cpu, *kernel);
    f(user);
  }

  // --- entry ----------------------------------------------------------------
  void on_entry(vmi::Vcpu& raw, uint16_t idx) {
    with_user_access(raw, [&](vmi::Vcpu& cpu) { capture_entry(cpu, idx); });
  }
  void capture_entry(vmi::Vcpu& cpu, uint16_t idx) {
    if (failed.load(std::memory_order_relaxed)) return;
    const HookPoint& h = plan.entries[idx];
    const auto& L = kernel->pt_regs();
    const bool arm64 = arch == oslinux::Arch::arm64;
    Abi abi = h.abi;
    uint64_t regs = 0;
    uint32_t nr = h.nr;
    bool nr_from_regs = false;
    switch (h.kind) {
      case EntryKind::dispatcher:
        regs = call_arg(cpu, arch, 0);
        nr = static_cast<uint32_t>(call_arg(cpu, arch, 1));
        break;
      case EntryKind::do_syscall_64: {
        // (regs, nr) since 5.11, (nr, regs) before: the pointer is the kernel address.
        uint64_t a0 = call_arg(cpu, arch, 0), a1 = call_arg(cpu, arch, 1);
        bool first = kernel->is_kernel_pointer(a0);
        regs = first ? a0 : a1;
        nr = static_cast<uint32_t>(first ? a1 : a0);
        break;
      }
      case EntryKind::regs_orig_ax:
      case EntryKind::fast_32:
        regs = call_arg(cpu, arch, 0);
        nr_from_regs = true;
        break;
      case EntryKind::per_syscall_regs:
        regs = call_arg(cpu, arch, 0);
        nr_from_regs = arm64;  // the function may serve an arm64 and an AArch32 number
        break;
      case EntryKind::per_syscall_args:
        break;
    }
    // arm64 learns the ABI from pt_regs: before the read, either may be meant.
    if (!nr_from_regs && !allowed(abi, nr) && !(arm64 && allowed(compat_abi, nr))) return;

    // The whole pt_regs in one read (168 bytes on x86-64).
    alignas(8) uint8_t rb[512];
    size_t got = 0;
    if (regs && kernel->is_kernel_pointer(regs)) got = cpu.read_virt(regs, rb, L.size);
    auto field = [&](uint32_t off, uint64_t& v) {
      v = 0;
      if (off == oslinux::kNoOffset || off + ptr_size > got) return false;
      std::memcpy(&v, rb + off, ptr_size);
      return true;
    };
    bool args_ok = true;
    if (arm64) {
      uint64_t pstate = 0;
      if (!field(L.pstate, pstate)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;  // neither the ABI nor the arguments: nothing to report
      }
      abi = (pstate & oslinux::kPsrMode32) ? compat_abi : native_abi;
    }
    if (nr_from_regs) {
      uint64_t orig = 0;
      if (!field(L.orig_ax, orig)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;  // neither the number nor the arguments: nothing to report
      }
      nr = static_cast<uint32_t>(orig);
    }
    if (!allowed(abi, nr)) return;

    uint8_t* buf = record_buffer();
    event::Builder b(buf, event::kMaxRecord);
    event::Record& r = b.rec();
    r.kind = event::Kind::syscall;
    const SyscallInfo* info = lookup(abi, nr);
    const bool compat = event::is_compat32(abi);

    if (h.kind == EntryKind::per_syscall_args) {
      for (unsigned i = 0; i < 6; ++i) r.args[i] = call_arg(cpu, arch, i);
    } else {
      // x86-64: pt_regs->r10, not cx (the syscall instruction clobbers rcx).
      const uint32_t* offs = compat ? L.compat_arg : L.arg;
      for (unsigned i = 0; i < 6; ++i) {
        args_ok &= field(offs[i], r.args[i]);
        if (compat) r.args[i] &= 0xffffffffu;
      }
      if (h.kind == EntryKind::fast_32) {
        // SYSENTER/SYSCALL from 32-bit: the vDSO stashed ebp (6th argument) at [esp];
        // the kernel fetches it only later, inside this function.
        uint64_t sp = 0;
        uint32_t v = 0;
        if (field(L.sp, sp) && cpu.read_u32(sp & 0xffffffffu, v)) r.args[5] = v;
      }
    }
    if (!args_ok) {
      r.flags |= event::kFlagArgsUnknown;
      n_read_fail.fetch_add(1, std::memory_order_relaxed);
    }
    // i386's socketcall: reported as the call it makes (socket, connect...), as strace does.
    if (cfg.socket_calls && abi == Abi::linux_ia32 && nr == socketcall_nr && args_ok)
      if (const SyscallInfo* sub = socketcall_subcall(cpu, r.args, r.args)) info = sub, nr = sub->nr;
    r.nargs = info ? info->nargs : 6;  // unknown number: all six raw values

    const uint64_t task = kernel->current_task(cpu);
    oslinux::ProcessContext ctx;
    kernel->read_context(cpu, task, ctx);
    // After this entry's own read, which remembered the credentials as they are now.
    if (nr < kMaxNr && new_creds[abi_index(abi)].test(nr)) kernel->forget_contexts();
    if (ctx.failed) n_read_fail.fetch_add(1, std::memory_order_relaxed);
    health->note(ctx.failed);
    // Over the process's rate limit: no record and no string capture; the pending
    // entry below still marks it so that its return is dropped (and counted) too.
    const bool limited = !limiter.allow(ctx.pid, ctx.process_name, cpu.timestamp_ns());
    if (!limited) {
      fill_common(r, cpu, ctx, abi, nr, h.symbol);
      if (info && args_ok) {
        CaptureLimits lim = limits;
        if (compat) lim.user_ptr = 4;
        if (unsigned f = capture_entry_args(cpu, b, *info, lim, scratch_buffer()))
          n_read_fail.fetch_add(f, std::memory_order_relaxed);
        add_fd_paths(cpu, b, *info, task);
      }
      const uint32_t size = b.finish();
      sink.emit(buf, size);
      n_syscalls.fetch_add(1, std::memory_order_relaxed);
    }

    if (plan.ret == ReturnKind::none || never_returns(abi, nr) || task == 0) return;
    PendingEntry e;
    e.regs = regs;
    e.tid = ctx.tid;
    e.nr = nr;
    e.hook = idx;
    e.abi = abi;
    e.ctx = ctx;
    e.rate_limited = limited;
    std::memcpy(e.args, r.args, sizeof e.args);
    if (plan.ret == ReturnKind::exit_to_user_mode) {
      if (!regs) return;  // cannot be matched at syscall_exit_to_user_mode
      e.key = {regs_keyed ? 0 : task, regs};
    } else if (arm64) {
      // The return address is in the link register and `ret` leaves sp as it was at
      // entry: the return site sees this very stack pointer.
      uint64_t sp = 0, ret_addr = 0;
      if (!cpu.read_reg(Reg::sp, sp) || !cpu.read_reg(Reg::x30, ret_addr)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      ensure_return_site(ret_addr);
      e.key = ReturnSites::site_key(task, sp, ptr_size);
    } else {
      uint64_t sp = 0, ret_addr = 0;
      if (!cpu.read_reg(Reg::rsp, sp) || !kernel->read_pointer(cpu, sp, ret_addr)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      ensure_return_site(ret_addr);
      e.key = ReturnSites::entry_key(task, sp, ptr_size);
    }
    if (!pending.put(e)) n_lost.fetch_add(1, std::memory_order_relaxed);
  }

  // `<arg>_path` extras: the path of each fd argument that is open in the task.
  void add_fd_paths(vmi::Vcpu& cpu, event::Builder& b, const SyscallInfo& info, uint64_t task) {
    if (!cfg.fd_paths || !task || !kernel->file_layout().usable) return;
    const unsigned n = std::min<unsigned>(info.nargs, 6);
    for (unsigned i = 0; i < n; ++i) {
      const ArgKind k = info.args[i].kind;
      if (k != ArgKind::fd && k != ArgKind::dirfd) continue;
      // The kernel takes every fd as an int (mmap's unsigned long fd too).
      const int64_t fd = static_cast<int32_t>(b.rec().args[i]);
      constexpr int64_t kAtFdCwd = -100;
      const bool cwd = k == ArgKind::dirfd && fd == kAtFdCwd;  // strace -y shows the cwd
      if (fd < 0 && !cwd) continue;  // -1 for anonymous mmap
      add_path_extra(cpu, b, task, fd, cwd, event::Extra::fd_path, static_cast<uint8_t>(i));
    }
  }

  // One fd's path (or the working directory's) as an extra; nothing when not open.
  void add_path_extra(vmi::Vcpu& cpu, event::Builder& b, uint64_t task, int64_t fd, bool cwd,
                      event::Extra tag, uint8_t arg) {
    char* scratch = scratch_buffer();
    size_t len = 0;
    const event::Capture c = cwd ? kernel->cwd_path(cpu, task, scratch, &len)
                                 : kernel->fd_path(cpu, task, fd, scratch, &len);
    if (c == event::Capture::none) return;  // not open
    if (c == event::Capture::unreadable) n_read_fail.fetch_add(1, std::memory_order_relaxed);
    b.add_extra(tag, arg, scratch, len, c);
  }

  // --- return -----------------------------------------------------------------
  // Matched entry + its return value -> sysret record. The task's id must be the
  // entry's, so a recycled task_struct never inherits a stale entry.
  // `task` (0 when not known) is read again only where the entry's context may be
  // stale: after an exec or a prctl (new names; an exec by a non-leader thread takes
  // over the leader's PID), or to check the thread when the pending key had no
  // pt_regs to tell it.
  void emit_return(vmi::Vcpu& cpu, uint64_t task, const PendingEntry& e, int64_t ret,
                   bool check_thread) {
    if (e.rate_limited) {
      static constexpr char kNoName[event::kCommLen] = {};
      limiter.count_drop(e.ctx.pid, kNoName);
      return;
    }
    oslinux::ProcessContext ctx = e.ctx;
    const bool exec = is_exec(e.abi, e.nr);
    if (check_thread || (e.nr < kMaxNr && renames[abi_index(e.abi)].test(e.nr))) {
      if (task == 0) task = kernel->current_task(cpu);
      kernel->read_context(cpu, task, ctx);
      // A recycled task_struct must not inherit a stale entry.
      if (ctx.tid != e.tid && !exec) {
        n_lost.fetch_add(1, std::memory_order_relaxed);
        n_unpaired.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    uint8_t* buf = record_buffer();
    event::Builder b(buf, event::kMaxRecord);
    event::Record& r = b.rec();
    r.kind = event::Kind::sysret;
    r.ret = ret;
    fill_common(r, cpu, ctx, e.abi, e.nr, plan.entries[e.hook].symbol);
    // The entry's argument values ride along: the writer names and renders the out
    // arguments with them.
    std::memcpy(r.args, e.args, sizeof e.args);
    if (const SyscallInfo* info = lookup(e.abi, e.nr)) {
      r.nargs = info->nargs;
      CaptureLimits lim = limits;
      if (event::is_compat32(e.abi)) lim.user_ptr = 4;
      const int64_t sret = event::is_compat32(e.abi) ? static_cast<int32_t>(ret) : ret;
      if (unsigned f = capture_return_args(cpu, b, *info, e.args, sret, lim, scratch_buffer()))
        n_read_fail.fetch_add(f, std::memory_order_relaxed);
      // Ret_path: the new fd of a successful open/socket/dup... (the task is current).
      if (cfg.fd_paths && kernel->file_layout().usable && returns_fd(*info, e.args, sret)) {
        if (task == 0) task = kernel->current_task(cpu);
        if (task) add_path_extra(cpu, b, task, sret, false, event::Extra::ret_path, 0);
      }
    }
    const uint32_t size = b.finish();
    sink.emit(buf, size);
    n_sysrets.fetch_add(1, std::memory_order_relaxed);
  }

  bool read_ret_from_regs(vmi::Vcpu& cpu, uint64_t regs, int64_t& ret) {
    uint64_t v = 0;
    const uint32_t off = kernel->pt_regs().ax;
    if (!regs || off == oslinux::kNoOffset || !kernel->read_pointer(cpu, regs + off, v)) {
      n_read_fail.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ret = ptr_size == 8 ? static_cast<int64_t>(v) : static_cast<int32_t>(v);
    return true;
  }

  // syscall_exit_to_user_mode(regs): after every syscall, and for new tasks from
  // ret_from_fork (no pending entry there: ignored).
  void on_exit_regs(vmi::Vcpu& raw) {
    with_user_access(raw, [&](vmi::Vcpu& cpu) { exit_regs(cpu); });
  }
  void exit_regs(vmi::Vcpu& cpu) {
    if (failed.load(std::memory_order_relaxed)) return;
    if (pending.empty()) {  // nothing in flight: no need to read anything
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const uint64_t regs = call_arg(cpu, arch, 0);
    if (regs_keyed) {
      on_exit_regs_keyed(cpu, regs);
      return;
    }
    const uint64_t task = kernel->current_task(cpu);
    PendingEntry e;
    if (task == 0 || !pending.take({task, regs}, e)) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int64_t ret = 0;
    if (!read_ret_from_regs(cpu, regs, ret)) return;
    emit_return(cpu, task, e, ret, true);
  }

  // Pending entries keyed by pt_regs alone: a kernel stack belongs to one live
  // thread. One read covers [rsp, regs->ax]: the return address tells a new task's
  // first exit (ret_from_fork: any entry under this key belongs to a thread that
  // died inside its syscall, on a stack now reused) from a syscall's return.
  void on_exit_regs_keyed(vmi::Vcpu& cpu, uint64_t regs) {
    const uint32_t ax = kernel->pt_regs().ax;
    uint64_t sp = 0, ret_addr = 0, ax_val = 0;
    bool ok = kernel->is_kernel_pointer(regs) && cpu.read_reg(Reg::rsp, sp);
    if (ok && regs > sp && regs - sp + ax + ptr_size <= 1024) {
      alignas(8) uint8_t buf[1024];
      const size_t len = regs - sp + ax + ptr_size;
      ok = cpu.read_virt(sp, buf, len) == len;
      std::memcpy(&ret_addr, buf, ptr_size);
      std::memcpy(&ax_val, buf + (regs - sp) + ax, ptr_size);
    } else if (ok) {
      ok = kernel->read_pointer(cpu, sp, ret_addr) && kernel->read_pointer(cpu, regs + ax, ax_val);
    }
    PendingEntry e;
    if (!ok) {
      n_read_fail.fetch_add(1, std::memory_order_relaxed);
      if (pending.take({0, regs}, e)) n_lost.fetch_add(1, std::memory_order_relaxed);
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (is_fork_return(ret_addr)) {
      if (pending.take({0, regs}, e)) n_lost.fetch_add(1, std::memory_order_relaxed);
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!pending.take({0, regs}, e)) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const int64_t ret = ptr_size == 8 ? static_cast<int64_t>(ax_val) : static_cast<int32_t>(ax_val);
    emit_return(cpu, 0, e, ret, false);
  }

  void on_return_site(vmi::Vcpu& raw) {
    with_user_access(raw, [&](vmi::Vcpu& cpu) { return_site(cpu); });
  }
  void return_site(vmi::Vcpu& cpu) {
    if (failed.load(std::memory_order_relaxed)) return;
    if (pending.empty()) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    uint64_t sp = 0;
    const uint64_t task = kernel->current_task(cpu);
    PendingEntry e;
    if (task == 0 || !cpu.read_reg(Reg::rsp, sp) || !pending.take(ReturnSites::site_key(task, sp, ptr_size), e)) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int64_t ret = 0;
    if (plan.entries[e.hook].returns_value) {
      uint64_t rax = 0;
      if (!cpu.read_reg(ret_reg, rax)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      ret = ptr_size == 8 ? static_cast<int64_t>(rax) : static_cast<int32_t>(rax);
    } else if (!read_ret_from_regs(cpu, e.regs, ret)) {
      return;
    }
    emit_return(cpu, task, e, ret, true);
  }

  // --- Tracer ------------------------------------------------------------------
  ~LinuxTracer() override { remove_hooks(); }
  // A profile of another architecture would never find its kernel (x86-64 and i386
  // are told apart later, by word_size_matches): refused before anything waits.
  std::string start_refusal() const override {
    if (auto why = profile::architecture_mismatch(prof, backend.machine()))
      return what + ": profile does not match the running kernel: " + *why;
    return {};
  }
  std::string hook_plan() const override { return plan.describe(); }
  size_t pending_entries() const override { return pending.size(); }
};

std::unique_ptr<Tracer> make_linux_tracer(const TracerConfig& cfg, profile::Profile prof,
                                          vmi::Backend& backend, vmi::EventSink& sink) {
  return std::make_unique<LinuxTracer>(cfg, std::move(prof), backend, sink);
}

}  // namespace vmitrace::syscalls

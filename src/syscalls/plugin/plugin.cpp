// The syscalls plugin: wiring of hook plan, capture and return pairing. The
// callbacks (on_entry / on_exit_regs / on_return_site) run on vCPU threads, several
// at once under MTTCG: they touch only immutable state, atomics and the sharded
// pending table, and build records in a thread-local buffer (no allocation).
#include "syscalls/plugin/plugin.hpp"

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "event/record.hpp"
#include "os/linux/kernel.hpp"
#include "profile/profile.hpp"
#include "syscalls/filter.hpp"
#include "syscalls/plugin/capture.hpp"
#include "syscalls/plugin/hook_plan.hpp"
#include "syscalls/plugin/pending.hpp"
#include "syscalls/table.hpp"
#include "syscalls/windows/tracer.hpp"

namespace vmitrace::syscalls {
namespace {

using event::Abi;
using vmi::Reg;

constexpr unsigned kMaxNr = 2048;         // filter bitset size; tables end far below
constexpr unsigned kMaxReturnSites = 32;  // distinct return addresses we hook
constexpr unsigned kMaxArrayItems = 32;   // argv/envp entries captured

unsigned abi_index(Abi a) { return a == Abi::linux_ia32 ? 1 : 0; }

// Argument i of the hooked function, by the kernel's C calling convention.
uint64_t call_arg(vmi::Vcpu& cpu, unsigned ptr_size, unsigned i) {
  static constexpr Reg k64[] = {Reg::rdi, Reg::rsi, Reg::rdx, Reg::rcx, Reg::r8, Reg::r9};
  static constexpr Reg k32[] = {Reg::rax, Reg::rdx, Reg::rcx};  // i386 regparm(3)
  uint64_t v = 0;
  if (ptr_size == 8) {
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

struct Plugin::Impl {
  PluginConfig cfg;
  vmi::Backend& backend;
  vmi::EventSink& sink;
  profile::Profile prof;
  std::string what;
  std::unique_ptr<oslinux::LinuxKernel> kernel;
  HookPlan plan;
  unsigned ptr_size = 8;
  uint32_t string_limit = 256;

  bool filtered = false;
  std::bitset<kMaxNr> allow[2];
  uint32_t no_return[2][2] = {{UINT32_MAX, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}};
  uint32_t exec_nr[2][2] = {{UINT32_MAX, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}};

  PendingTable pending;
  std::atomic<uint64_t> n_syscalls{0}, n_sysrets{0}, n_unpaired{0}, n_lost{0}, n_read_fail{0};

  std::mutex locate_mu;  // the KASLR scan
  std::mutex hooks_mu;  // hooks, return sites, error text
  std::vector<vmi::HookId> hooks;
  std::atomic<uint64_t> ret_sites[kMaxReturnSites] = {};
  std::atomic<unsigned> n_ret_sites{0};
  std::atomic<bool> started{false}, tracing{false}, failed{false};
  std::string error_text;

  Impl(const PluginConfig& c, profile::Profile p, vmi::Backend& b, vmi::EventSink& s)
      : cfg(c), backend(b), sink(s), prof(std::move(p)) {
    what = cfg.profile_path.empty() ? std::string("profile") : cfg.profile_path;
    kernel = std::make_unique<oslinux::LinuxKernel>(prof, what);
    ptr_size = kernel->pointer_size();
    string_limit = std::min(cfg.string_limit, kMaxStringLimit);

    std::optional<LinuxFilter> filter;
    if (!cfg.filter_file.empty()) {
      filter = load_linux_filter(cfg.filter_file, cfg.warn_unknown_filter_names);
      filtered = true;
      for (const auto& n : filter->names)
        for (Abi a : {Abi::linux_x64, Abi::linux_ia32})
          if (const SyscallInfo* s = lookup(a, n); s && s->nr < kMaxNr) allow[abi_index(a)].set(s->nr);
    }
    plan = choose_hook_plan(prof, filter ? &filter->names : nullptr, cfg.disable_sysret, what);
    if (plan.entries.size() > UINT16_MAX) throw Error(what, "too many hook points");

    // exit and exit_group never return: no pending state for them.
    for (Abi a : {Abi::linux_x64, Abi::linux_ia32}) {
      if (const SyscallInfo* s = lookup(a, "exit")) no_return[abi_index(a)][0] = s->nr;
      if (const SyscallInfo* s = lookup(a, "exit_group")) no_return[abi_index(a)][1] = s->nr;
      if (const SyscallInfo* s = lookup(a, "execve")) exec_nr[abi_index(a)][0] = s->nr;
      if (const SyscallInfo* s = lookup(a, "execveat")) exec_nr[abi_index(a)][1] = s->nr;
    }
    if (!kernel->current_task_location().known)
      std::fprintf(stderr,
                   "vmitrace: warning: %s: no current_task / pcpu_hot symbol: process context "
                   "and sysret pairing unavailable\n",
                   what.c_str());
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

  void fatal(const std::string& msg) {
    {
      std::lock_guard lock(hooks_mu);
      if (failed.exchange(true)) return;
      error_text = msg;
    }
    std::fprintf(stderr, "vmitrace: error: %s\n", msg.c_str());
    if (cfg.on_fatal) cfg.on_fatal(msg);
  }

  // --- start-up -----------------------------------------------------------
  bool on_kernel(vmi::Vcpu& cpu) {
    if (failed.load() || tracing.load()) return true;
    // One vCPU at a time scans; another one just tries again later.
    std::unique_lock busy(locate_mu, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    if (failed.load() || tracing.load()) return true;
    std::string err;
    switch (kernel->locate(cpu, &err)) {
      case oslinux::LinuxKernel::Locate::retry: return false;
      case oslinux::LinuxKernel::Locate::mismatch: fatal(err); return true;
      case oslinux::LinuxKernel::Locate::found: break;
    }
    place_hooks();
    return true;
  }

  void place_hooks() {
    std::lock_guard lock(hooks_mu);
    for (size_t i = 0; i < plan.entries.size(); ++i) {
      const uint16_t idx = static_cast<uint16_t>(i);
      hooks.push_back(backend.add_hook(kernel->runtime(plan.entries[i].link),
                                       [this, idx](vmi::Vcpu& c, uint64_t) { on_entry(c, idx); }));
    }
    if (plan.ret == ReturnKind::exit_to_user_mode)
      hooks.push_back(backend.add_hook(kernel->runtime(plan.ret_link),
                                       [this](vmi::Vcpu& c, uint64_t) { on_exit_regs(c); }));
    tracing.store(true);
  }

  // Return-address fallback: hook each distinct return site once (few exist).
  void ensure_return_site(uint64_t addr) {
    if (!kernel->is_kernel_pointer(addr)) return;
    unsigned n = n_ret_sites.load(std::memory_order_acquire);
    for (unsigned i = 0; i < n; ++i)
      if (ret_sites[i].load(std::memory_order_relaxed) == addr) return;
    std::lock_guard lock(hooks_mu);
    n = n_ret_sites.load(std::memory_order_relaxed);
    for (unsigned i = 0; i < n; ++i)
      if (ret_sites[i].load(std::memory_order_relaxed) == addr) return;
    if (n >= kMaxReturnSites || failed.load()) return;
    ret_sites[n].store(addr, std::memory_order_relaxed);
    n_ret_sites.store(n + 1, std::memory_order_release);
    hooks.push_back(backend.add_hook(addr, [this](vmi::Vcpu& c, uint64_t) { on_return_site(c); }));
  }

  // --- records --------------------------------------------------------------
  static uint8_t* record_buffer() {
    alignas(8) static thread_local uint8_t buf[event::kMaxRecord];
    return buf;
  }
  static char* scratch_buffer() {
    static thread_local char buf[kMaxStringLimit + 1];
    return buf;
  }

  void fill_common(event::Record& r, vmi::Vcpu& cpu, const oslinux::ProcessContext& ctx,
                   Abi abi, uint32_t nr, const std::string& module) {
    r.os = event::Os::linux;
    r.abi = abi;
    r.nr = nr;
    r.vcpu = cpu.index();
    r.time_ns = cpu.timestamp_ns();
    cpu.read_reg(Reg::cr3, r.cr3);
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

  // --- entry ----------------------------------------------------------------
  void on_entry(vmi::Vcpu& cpu, uint16_t idx) {
    if (failed.load(std::memory_order_relaxed)) return;
    const HookPoint& h = plan.entries[idx];
    const auto& L = kernel->pt_regs();
    uint64_t regs = 0;
    uint32_t nr = h.nr;
    bool nr_from_regs = false;
    switch (h.kind) {
      case EntryKind::dispatcher:
        regs = call_arg(cpu, ptr_size, 0);
        nr = static_cast<uint32_t>(call_arg(cpu, ptr_size, 1));
        break;
      case EntryKind::do_syscall_64: {
        // (regs, nr) since 5.11, (nr, regs) before: the pointer is the kernel address.
        uint64_t a0 = call_arg(cpu, ptr_size, 0), a1 = call_arg(cpu, ptr_size, 1);
        bool first = kernel->is_kernel_pointer(a0);
        regs = first ? a0 : a1;
        nr = static_cast<uint32_t>(first ? a1 : a0);
        break;
      }
      case EntryKind::regs_orig_ax:
      case EntryKind::fast_32:
        regs = call_arg(cpu, ptr_size, 0);
        nr_from_regs = true;
        break;
      case EntryKind::per_syscall_regs:
        regs = call_arg(cpu, ptr_size, 0);
        break;
      case EntryKind::per_syscall_args:
        break;
    }
    if (!nr_from_regs && !allowed(h.abi, nr)) return;

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
    if (nr_from_regs) {
      uint64_t orig = 0;
      if (!field(L.orig_ax, orig)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;  // neither the number nor the arguments: nothing to report
      }
      nr = static_cast<uint32_t>(orig);
      if (!allowed(h.abi, nr)) return;
    }

    uint8_t* buf = record_buffer();
    event::Builder b(buf, event::kMaxRecord);
    event::Record& r = b.rec();
    r.kind = event::Kind::syscall;
    const SyscallInfo* info = lookup(h.abi, nr);
    r.nargs = info ? info->nargs : 6;  // unknown number: all six raw values

    if (h.kind == EntryKind::per_syscall_args) {
      for (unsigned i = 0; i < 6; ++i) r.args[i] = call_arg(cpu, ptr_size, i);
    } else if (h.abi == Abi::linux_x64) {
      // pt_regs->r10, not cx: the syscall instruction clobbers rcx.
      const uint32_t offs[6] = {L.di, L.si, L.dx, L.r10, L.r8, L.r9};
      for (unsigned i = 0; i < 6; ++i) args_ok &= field(offs[i], r.args[i]);
    } else {
      const uint32_t offs[6] = {L.bx, L.cx, L.dx, L.si, L.di, L.bp};
      for (unsigned i = 0; i < 6; ++i) {
        args_ok &= field(offs[i], r.args[i]);
        r.args[i] &= 0xffffffffu;
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

    const uint64_t task = kernel->current_task(cpu);
    oslinux::ProcessContext ctx;
    kernel->read_context(cpu, task, ctx);
    if (ctx.flags) n_read_fail.fetch_add(1, std::memory_order_relaxed);
    fill_common(r, cpu, ctx, h.abi, nr, h.symbol);

    if (info && args_ok) capture_pointed(cpu, b, *info, h.abi);
    const uint32_t size = b.finish();
    sink.emit(buf, size);
    n_syscalls.fetch_add(1, std::memory_order_relaxed);

    if (plan.ret == ReturnKind::none || never_returns(h.abi, nr) || task == 0) return;
    PendingEntry e;
    e.regs = regs;
    e.tid = ctx.tid;
    e.nr = nr;
    e.hook = idx;
    e.abi = h.abi;
    if (plan.ret == ReturnKind::exit_to_user_mode) {
      if (!regs) return;  // cannot be matched at syscall_exit_to_user_mode
      e.key = {task, regs};
    } else {
      uint64_t sp = 0, ret_addr = 0;
      if (!cpu.read_reg(Reg::rsp, sp) || !kernel->read_pointer(cpu, sp, ret_addr)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      ensure_return_site(ret_addr);
      e.key = {task, sp + ptr_size};  // rsp once `ret` popped the return address
    }
    if (!pending.put(e)) n_lost.fetch_add(1, std::memory_order_relaxed);
  }

  void capture_pointed(vmi::Vcpu& cpu, event::Builder& b, const SyscallInfo& info, Abi abi) {
    char* scratch = scratch_buffer();
    const unsigned n = std::min<unsigned>(info.nargs, 6);
    const unsigned user_ptr = abi == Abi::linux_ia32 ? 4 : ptr_size;
    for (unsigned i = 0; i < n; ++i) {
      const ArgKind k = info.args[i].kind;
      if (k != ArgKind::string && k != ArgKind::string_array) continue;
      uint64_t va = b.rec().args[i];
      size_t len = 0;
      event::Capture c = k == ArgKind::string
                             ? read_string(cpu, va, string_limit, scratch, &len)
                             : read_string_array(cpu, va, user_ptr, kMaxArrayItems,
                                                 string_limit, scratch, &len);
      // A NULL pointer is a value (e.g. execve's envp), not a failed read.
      if (c == event::Capture::unreadable && va != 0)
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
      b.add_blob(i, scratch, len, c);
    }
  }

  // --- return -----------------------------------------------------------------
  // Matched entry + its return value -> sysret record. The task's id must be the
  // entry's, so a recycled task_struct never inherits a stale entry.
  void emit_return(vmi::Vcpu& cpu, uint64_t task, const PendingEntry& e, int64_t ret) {
    oslinux::ProcessContext ctx;
    kernel->read_context(cpu, task, ctx);
    // A non-leader thread that execs takes over the leader's PID: same task, new tid.
    if (ctx.tid != e.tid && !is_exec(e.abi, e.nr)) {
      n_lost.fetch_add(1, std::memory_order_relaxed);
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    uint8_t* buf = record_buffer();
    event::Builder b(buf, event::kMaxRecord);
    event::Record& r = b.rec();
    r.kind = event::Kind::sysret;
    r.ret = ret;
    fill_common(r, cpu, ctx, e.abi, e.nr, plan.entries[e.hook].symbol);
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
  void on_exit_regs(vmi::Vcpu& cpu) {
    if (failed.load(std::memory_order_relaxed)) return;
    if (pending.empty()) {  // nothing in flight: no need to read anything
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const uint64_t regs = call_arg(cpu, ptr_size, 0);
    const uint64_t task = kernel->current_task(cpu);
    PendingEntry e;
    if (task == 0 || !pending.take({task, regs}, e)) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int64_t ret = 0;
    if (!read_ret_from_regs(cpu, regs, ret)) return;
    emit_return(cpu, task, e, ret);
  }

  void on_return_site(vmi::Vcpu& cpu) {
    if (failed.load(std::memory_order_relaxed)) return;
    if (pending.empty()) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    uint64_t sp = 0;
    const uint64_t task = kernel->current_task(cpu);
    PendingEntry e;
    if (task == 0 || !cpu.read_reg(Reg::rsp, sp) || !pending.take({task, sp}, e)) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int64_t ret = 0;
    if (plan.entries[e.hook].returns_value) {
      uint64_t rax = 0;
      if (!cpu.read_reg(Reg::rax, rax)) {
        n_read_fail.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      ret = ptr_size == 8 ? static_cast<int64_t>(rax) : static_cast<int32_t>(rax);
    } else if (!read_ret_from_regs(cpu, e.regs, ret)) {
      return;
    }
    emit_return(cpu, task, e, ret);
  }
};

Plugin::Plugin(const PluginConfig& cfg, vmi::Backend& backend, vmi::EventSink& sink)
    : Plugin(cfg, profile::Profile::load(cfg.profile_path), backend, sink) {}

Plugin::Plugin(const PluginConfig& cfg, profile::Profile prof, vmi::Backend& backend,
               vmi::EventSink& sink) {
  // Windows guests have their own tracer (src/syscalls/windows/).
  if (prof.metadata.os == "windows")
    win_ = std::make_unique<windows::Tracer>(cfg, std::move(prof), backend, sink);
  else
    impl_ = std::make_unique<Impl>(cfg, std::move(prof), backend, sink);
}

Plugin::~Plugin() {
  if (win_) return;
  std::vector<vmi::HookId> ids;
  {
    std::lock_guard lock(impl_->hooks_mu);
    impl_->failed.store(true);  // callbacks still in flight return at once
    ids.swap(impl_->hooks);
  }
  for (vmi::HookId id : ids) impl_->backend.remove_hook(id);
}

void Plugin::start() {
  if (win_) return win_->start();
  if (impl_->started.exchange(true)) return;
  std::fprintf(stderr, "vmitrace: hooks: %s\n", impl_->plan.describe().c_str());
  impl_->backend.when_in_kernel([impl = impl_.get()](vmi::Vcpu& c) { return impl->on_kernel(c); });
}

PluginStats Plugin::stats() const {
  if (win_) return win_->stats();
  PluginStats s;
  s.syscalls = impl_->n_syscalls.load();
  s.sysrets = impl_->n_sysrets.load();
  s.returns_unpaired = impl_->n_unpaired.load();
  s.entries_lost = impl_->n_lost.load();
  s.read_failures = impl_->n_read_fail.load();
  s.pending = impl_->pending.size();
  return s;
}

std::string Plugin::hook_plan() const { return win_ ? win_->hook_plan() : impl_->plan.describe(); }
bool Plugin::tracing() const { return win_ ? win_->tracing() : impl_->tracing.load(); }
std::string Plugin::error() const {
  if (win_) return win_->error();
  std::lock_guard lock(impl_->hooks_mu);
  return impl_->error_text;
}

}  // namespace vmitrace::syscalls

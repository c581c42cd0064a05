// The Windows tracer: start-up (find ntoskrnl, read the service tables, place one
// hook per routine), entry capture and return pairing. Callbacks run on vCPU threads,
// several at once: they touch only immutable Service slots, atomics and the sharded
// pending table, and build records in a thread-local buffer.
#include "syscalls/windows/tracer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "os/windows/kernel.hpp"
#include "os/windows/pe.hpp"
#include "os/windows/ssdt.hpp"
#include "profile/profile.hpp"
#include "syscalls/core/filter.hpp"
#include "syscalls/core/pending.hpp"
#include "syscalls/core/return_sites.hpp"
#include "syscalls/windows/capture.hpp"

namespace vmitrace::syscalls::windows {
namespace {

using event::Abi;
using vmi::Reg;

constexpr unsigned kMaxReturnSites = 64;   // distinct return addresses hooked
// win32k's table is tried at most every millisecond, for ten minutes of guest time
// (a session process may only start well after boot).
constexpr uint64_t kWin32kRetryNs = 1000000, kWin32kGiveUpNs = 600ull * 1000000000;

void copy_name(char* dst, size_t cap, std::string_view s) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), std::min(cap, s.size()));
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// A syscall waiting for its return. The sysret repeats the entry's identity: the
// return belongs to the same thread (its thread pointer, stack pointer and Cid are
// checked), so the context read at the entry is the truthful one for the pair, even
// if the process's memory changed meanwhile; the return reads nothing else.
struct WinPending {
  PendingKey key;
  bool used = false;
  const Service* service = nullptr;  // immutable while hooks live
  oswin::WinIdentity who;            // who.tid refuses a recycled thread object
  bool rate_limited = false;         // entry dropped by the rate limit: drop its return too
};

// win32k routines live in win32kfull.sys (Windows 10+) or win32k.sys.
struct Win32k {
  profile::Profile prof;
  std::string what;
  std::unique_ptr<oswin::RoutineNames> names;
  uint64_t table_rva = 0;  // W32pServiceTable
};

}  // namespace

struct WindowsTracer final : syscalls::Tracer {
  vmi::EventSink& sink;
  profile::Profile prof;
  std::string what;
  oswin::WindowsKernel kernel;
  oswin::RoutineNames nt_names;
  std::optional<Win32k> w32;
  CaptureLimits limits;
  bool filtered = false;
  std::unordered_set<std::string> filter;

  std::deque<Service> services;  // stable addresses: hooks point into it
  std::unordered_set<uint64_t> hooked;  // routine addresses already hooked
  std::unordered_set<std::string> seen;   // every service name read from the tables
  bool names_checked = false;
  BasicPendingTable<WinPending> pending;

  // Tracer::mu also guards the start-up (on_kernel holds it while it places hooks).
  ReturnSites ret_sites{kMaxReturnSites};
  std::atomic<bool> w32_done{false};
  uint64_t w32_first_ns = 0, w32_last_ns = 0;
  std::string plan_text;

  WindowsTracer(const TracerConfig& c, profile::Profile p, vmi::Backend& b, vmi::EventSink& s)
      : Tracer(c, b, oswin::kKernelSpace), sink(s), prof(std::move(p)),
        what(cfg.profile_path.empty() ? std::string("profile") : cfg.profile_path),
        kernel(prof, what), nt_names(prof) {
    limits.text_bytes = std::min<uint32_t>(cfg.string_limit, 1024) * 2;
    if (!cfg.filter_file.empty()) {
      for (auto& n : read_filter_file(cfg.filter_file)) filter.insert(n);
      if (filter.empty()) throw Error(cfg.filter_file, "no service names in the filter file");
      filtered = true;
    }
    if (!cfg.win32k_profile.empty()) {
      Win32k w{profile::Profile::load(cfg.win32k_profile), cfg.win32k_profile, nullptr, 0};
      if (w.prof.metadata.os != "windows")
        throw Error(cfg.win32k_profile, "not a Windows profile (win32k profile expected)");
      w.table_rva = w.prof.symbol("W32pServiceTable").value_or(0);
      if (!w.table_rva) throw Error(cfg.win32k_profile, "no W32pServiceTable symbol: not a win32k profile");
      if (w.prof.metadata.pointer_size != prof.metadata.pointer_size)
        throw Error(cfg.win32k_profile, "pointer size differs from the kernel profile's");
      w.names = std::make_unique<oswin::RoutineNames>(w.prof);
      w32 = std::move(w);
    } else {
      w32_done = true;
    }
    plan_text = "windows: nt services from KeServiceDescriptorTable" +
                std::string(w32 ? ", win32k services from KeServiceDescriptorTableShadow" : "") +
                (cfg.disable_sysret ? "" : ", returns via the caller's return address");
  }

  void warn(const std::string& msg) { std::fprintf(stderr, "vmitrace: warning: %s\n", msg.c_str()); }

  // --- start-up -------------------------------------------------------------------
  bool on_kernel(vmi::Vcpu& cpu) override {
    saw_kernel_code();
    if (failed.load()) return true;
    std::unique_lock lock(mu, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    if (!tracing()) {
      std::string err;
      switch (kernel.locate(cpu, &err)) {
        case oswin::WindowsKernel::Locate::retry: return false;
        case oswin::WindowsKernel::Locate::mismatch: lock.unlock(); fatal(err); return true;
        case oswin::WindowsKernel::Locate::found: break;
      }
      kernel.find_file_type(cpu);
      oswin::ServiceTable t;
      if (!oswin::read_service_table(cpu, kernel.pointer_size(), kernel.runtime(kernel.layout().rva_service_table),
                                     kernel.base(), kernel.image_size(), nt_names, "nt", t, &err)) {
        lock.unlock();
        fatal(what + ": " + err);
        return true;
      }
      for (auto& w : t.warnings) warn(w);
      const size_t n = place(t, Abi::win_nt);
      std::fprintf(stderr, "vmitrace: windows kernel at %s (%zu bytes), nt: %zu of %zu services hooked\n",
                   hex(kernel.base()).c_str(), static_cast<size_t>(kernel.image_size()), n, t.services.size());
      now_tracing();
    }
    if (!w32_done.load()) try_win32k(cpu, lock);
    if (w32_done.load() && !names_checked) check_filter_names();
    return w32_done.load() || failed.load();
  }

  // Once every table is read: filter names no table has (the CLI cannot know them
  // before the guest's tables are read).
  void check_filter_names() {
    names_checked = true;
    if (!filtered || !cfg.warn_unknown_filter_names) return;
    std::vector<std::string> unknown;
    for (const auto& n : filter)
      if (!seen.count(n)) unknown.push_back(n);
    if (unknown.empty()) return;
    std::sort(unknown.begin(), unknown.end());
    std::string list;
    for (const auto& n : unknown) list += (list.empty() ? "" : ", ") + n;
    warn(cfg.filter_file + ": names not in the guest's service tables, ignored: " + list);
  }

  // win32k's table is in session space: readable only while a process of an
  // interactive session runs. Tried on each call until it works (bounded).
  void try_win32k(vmi::Vcpu& cpu, std::unique_lock<std::mutex>& lock) {
    const uint64_t now = cpu.timestamp_ns();
    if (w32_first_ns == 0) w32_first_ns = now;
    else if (now - w32_last_ns < kWin32kRetryNs) return;
    w32_last_ns = now;
    if (now - w32_first_ns > kWin32kGiveUpNs) {
      warn(w32->what + ": the win32k service table did not become readable in 10 minutes (no session process ran): win32k not traced");
      w32_done = true;
      return;
    }
    const unsigned ptr = kernel.pointer_size();
    const uint64_t shadow = kernel.layout().rva_shadow_table;
    if (!shadow) {
      warn(what + ": no KeServiceDescriptorTableShadow symbol: win32k not traced");
      w32_done = true;
      return;
    }
    uint64_t base = 0;
    if (!kernel.read_ptr(cpu, kernel.runtime(shadow) + 4 * ptr, base) || base == 0) return;
    const uint64_t module = base - w32->table_rva;
    oswin::PeIdentity id;
    if (!oswin::read_pe_identity(cpu, module, id) || id.pdb_guid.empty()) {
      if (!kernel.is_kernel_pointer(base)) {
        lock.unlock();
        fatal(w32->what + ": win32k service table at " + hex(base) + " is not in kernel space");
      }
      return;  // header not readable in this context: later
    }
    const auto& m = w32->prof.metadata;
    if (!m.pdb_guid.empty() && (id.pdb_guid != m.pdb_guid || id.pdb_age != m.pdb_age)) {
      lock.unlock();
      fatal(w32->what + ": win32k profile is for PDB " + m.pdb_guid + " age " + std::to_string(m.pdb_age) +
            ", the running win32k module at " + hex(module) + " is " + id.pdb_guid + " age " +
            std::to_string(id.pdb_age) + " (a win32k profile of another build?)");
      return;
    }
    oswin::ServiceTable t;
    std::string err;
    if (!oswin::read_service_table(cpu, ptr, kernel.runtime(shadow) + 4 * ptr, module, id.size_of_image,
                                   *w32->names, "win32k", t, &err)) {
      lock.unlock();
      fatal(w32->what + ": " + err);
      return;
    }
    for (auto& w : t.warnings) warn(w);
    const size_t n = place(t, Abi::win_win32k);
    std::fprintf(stderr, "vmitrace: win32k at %s: %zu of %zu services hooked\n", hex(module).c_str(), n,
                 t.services.size());
    w32_done = true;
  }

  // Hooks the services of one table (those in the filter when there is one).
  size_t place(const oswin::ServiceTable& t, Abi abi) {
    size_t placed = 0;
    const unsigned ptr = kernel.pointer_size();
    std::string disagree;  // prototypes whose count the table contradicts (another build's?)
    size_t n_disagree = 0;
    for (const oswin::Service& s : t.services) {
      seen.insert(s.name);
      if (filtered && !filter.count(s.name)) continue;
      // Stubs shared by several services (identical code folded by the linker) get
      // one hook, named by the preferred alias and the first index.
      if (!hooked.insert(s.routine).second) continue;
      Service sv;
      sv.routine = s.routine;
      sv.index = s.index;
      sv.abi = abi;
      sv.name = s.name.empty() ? (abi == Abi::win_nt ? "nt_" : "win32k_") + std::to_string(s.index) : s.name;
      sv.info = lookup_windows(sv.name);
      if (sv.info) sv.nargs = sv.info->nargs;
      else if (s.arg_bytes_known) sv.nargs = static_cast<uint8_t>(ptr == 8 ? 4 + s.arg_bytes / 8 : s.arg_bytes / 4);
      else sv.nargs = 4;
      // x64 entries count the stack arguments (those after the 4 in registers); x86
      // byte counts are not compared (a structure passed by value takes 8 bytes).
      if (sv.info && ptr == 8 && s.arg_bytes_known && s.arg_bytes / 8 != (sv.nargs > 4 ? sv.nargs - 4u : 0u) &&
          n_disagree++ < 5)
        disagree += (disagree.empty() ? "" : ", ") + sv.name + " (" + std::to_string(sv.nargs) + ", table " +
                    std::to_string(4 + s.arg_bytes / 8) + (s.arg_bytes ? ")" : " or fewer)");
      if (sv.nargs > event::kMaxArgs) sv.nargs = event::kMaxArgs;
      sv.ret_pop = ptr == 8 ? 0 : (s.arg_bytes_known ? s.arg_bytes : sv.nargs * 4u);
      sv.terminates = sv.name == "NtTerminateProcess" || sv.name == "NtTerminateThread";
      services.push_back(std::move(sv));
      const Service* slot = &services.back();
      hooks.push_back(backend.add_hook(slot->routine, [this, slot](vmi::Vcpu& c, uint64_t) { on_entry(c, *slot); }));
      ++placed;
    }
    if (n_disagree)
      warn(std::string(abi == Abi::win_nt ? "nt" : "win32k") + ": " + std::to_string(n_disagree) +
           (n_disagree == 1 ? " prototype disagrees" : " prototypes disagree") +
           " with the service table's argument count (" + disagree +
           (n_disagree > 5 ? ", ..." : "") + "): arguments shown as the prototype declares them");
    return placed;
  }

  // Hooks a return site once. Services return to the dispatcher (one or two sites);
  // kernel code calling Nt* routines directly adds a few more. False when the site
  // cannot be hooked (not kernel code, or the bound is reached): no sysret then.
  bool ensure_return_site(uint64_t addr) {
    if (!kernel.is_kernel_pointer(addr)) return false;
    return hook_return_site(ret_sites, addr, false, [this](vmi::Vcpu& c, uint64_t) { on_return_site(c); });
  }

  // --- records ---------------------------------------------------------------------
  static uint8_t* record_buffer() {
    alignas(8) static thread_local uint8_t buf[event::kMaxRecord];
    return buf;
  }

  void fill_common(event::Record& r, vmi::Vcpu& cpu, const oswin::WinIdentity& ctx, const Service& s) {
    r.os = event::Os::windows;
    r.abi = s.abi;
    r.nr = s.index;
    r.vcpu = cpu.index();
    r.time_ns = cpu.timestamp_ns();
    cpu.read_reg(Reg::cr3, r.cr3);
    r.pid = ctx.pid;
    r.ppid = ctx.ppid;
    r.tid = ctx.tid;
    r.uid = ctx.session;
    r.flags |= ctx.flags;
    std::memcpy(r.process_name, ctx.image_name, event::kCommLen);
    copy_name(r.module, event::kModuleLen, s.abi == Abi::win_nt ? "nt" : "win32k");
    std::memcpy(r.user_name, ctx.user_name, sizeof r.user_name);
  }

  void on_entry(vmi::Vcpu& cpu, const Service& s) {
    if (failed.load(std::memory_order_relaxed)) return;
    const unsigned ptr = kernel.pointer_size();
    uint8_t* buf = record_buffer();
    event::Builder b(buf, event::kMaxRecord);
    event::Record& r = b.rec();
    r.kind = event::Kind::syscall;
    r.nargs = s.nargs;
    if (!read_service_args(cpu, ptr, s.nargs, r.args)) {
      r.flags |= event::kFlagArgsUnknown;
      n_read_fail.fetch_add(1, std::memory_order_relaxed);
    }
    if (ptr == 4)
      for (auto& a : r.args) a &= 0xffffffffu;
    const uint64_t thread = kernel.current_thread(cpu);
    oswin::WinContext ctx;
    kernel.read_context(cpu, thread, ctx);
    if (ctx.flags) n_read_fail.fetch_add(1, std::memory_order_relaxed);
    // Over the process's rate limit: no record and no string capture; the pending
    // entry below still marks it so that its return is dropped (and counted) too.
    const bool limited = !limiter.allow(ctx.pid, ctx.image_name, cpu.timestamp_ns());
    if (!limited) {
      fill_common(r, cpu, ctx, s);
      add_entry_extras(cpu, kernel, s, ctx, b, limits);
      const uint32_t size = b.finish();
      sink.emit(buf, size);
      n_syscalls.fetch_add(1, std::memory_order_relaxed);
    }

    if (cfg.disable_sysret || thread == 0) return;
    // A process or thread ending itself never comes back.
    if (s.terminates) {
      const uint64_t h = ptr == 4 ? (r.args[0] & 0xffffffffu) : r.args[0];
      const uint64_t self = ptr == 4 ? 0xffffffffu : ~uint64_t{0};
      if (h == 0 || h == self || h == self - 1) return;
    }
    uint64_t sp = 0, ret_addr = 0;
    if (!cpu.read_reg(Reg::rsp, sp) || !kernel.read_ptr(cpu, ptr == 4 ? sp & 0xffffffffu : sp, ret_addr)) {
      n_read_fail.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!ensure_return_site(ret_addr)) return;
    WinPending e;
    e.key = ReturnSites::entry_key(thread, sp, ptr, s.ret_pop);
    e.service = &s;
    e.who = ctx;  // the identity part
    e.rate_limited = limited;
    if (!pending.put(e)) n_lost.fetch_add(1, std::memory_order_relaxed);
  }

  // Guest reads: the current thread pointer and the thread's Cid (2; see WinPending).
  void on_return_site(vmi::Vcpu& cpu) {
    if (failed.load(std::memory_order_relaxed)) return;
    if (pending.empty()) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const unsigned ptr = kernel.pointer_size();
    const uint64_t thread = kernel.current_thread(cpu);
    uint64_t sp = 0, rax = 0;
    WinPending e;
    if (thread == 0 || !cpu.read_reg(Reg::rsp, sp) ||
        !pending.take(ReturnSites::site_key(thread, sp, ptr), e)) {
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (e.rate_limited) {
      limiter.count_drop(e.who.pid, e.who.image_name);
      return;
    }
    if (!cpu.read_reg(Reg::rax, rax)) {
      n_read_fail.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (kernel.thread_id(cpu, thread) != e.who.tid) {  // a recycled thread object never inherits an entry
      n_unpaired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const Service& s = *e.service;
    uint8_t* buf = record_buffer();
    event::Builder b(buf, event::kMaxRecord);
    event::Record& r = b.rec();
    r.kind = event::Kind::sysret;
    // nt services return an NTSTATUS (32 bits); win32k ones a full register value.
    r.ret = s.abi == Abi::win_nt || ptr == 4 ? static_cast<int64_t>(static_cast<uint32_t>(rax))
                                             : static_cast<int64_t>(rax);
    fill_common(r, cpu, e.who, s);
    add_method(b, s);
    add_user_sid(b, e.who);
    const uint32_t size = b.finish();
    sink.emit(buf, size);
    n_sysrets.fetch_add(1, std::memory_order_relaxed);
  }

  // --- Tracer ----------------------------------------------------------------------
  ~WindowsTracer() override { remove_hooks(); }
  std::string hook_plan() const override { return plan_text; }
  size_t pending_entries() const override { return pending.size(); }
};

}  // namespace vmitrace::syscalls::windows

namespace vmitrace::syscalls {

std::unique_ptr<Tracer> make_windows_tracer(const TracerConfig& cfg, profile::Profile prof,
                                            vmi::Backend& backend, vmi::EventSink& sink) {
  return std::make_unique<windows::WindowsTracer>(cfg, std::move(prof), backend, sink);
}

}  // namespace vmitrace::syscalls

#include "syscalls/linux/hook_plan.hpp"

#include "common/error.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::syscalls {
namespace {

using event::Abi;

bool add_if(const profile::Profile& p, std::vector<HookPoint>& out, const char* sym,
            EntryKind kind, Abi abi, bool returns_value) {
  auto a = p.symbol(sym);
  if (!a) return false;
  out.push_back({sym, *a, kind, abi, 0, returns_value});
  return true;
}

// The per-syscall functions of one ABI, optionally only the filtered names. With
// pt_regs wrappers (4.17+) the table's symbol column names them; older kernels
// have sys_NAME taking the arguments directly (x64 only: i386 passes them on the stack).
size_t add_per_syscall(const profile::Profile& p, std::vector<HookPoint>& out, Abi abi,
                       const std::vector<std::string>* filter, bool allow_plain) {
  size_t added = 0;
  const bool native32 = p.metadata.pointer_size == 4;
  auto add_one = [&](const SyscallInfo& s) {
    const char* c = native32 ? s.symbol_native32 : s.symbol;
    if (!c || !*c) return;  // sys_ni_syscall: nothing to hook
    std::string_view sym = c;  // sys_ni_syscall: nothing to hook
    for (const auto& h : out)  // one function may serve several numbers: hook it once
      if (h.symbol == sym) return;
    if (auto a = p.symbol(sym)) {
      out.push_back({std::string(sym), *a, EntryKind::per_syscall_regs, abi, s.nr, true});
      ++added;
      return;
    }
    if (!allow_plain || native32) return;
    std::string plain = std::string("sys_") + s.name;
    if (auto a = p.symbol(plain)) {
      out.push_back({plain, *a, EntryKind::per_syscall_args, abi, s.nr, true});
      ++added;
    }
  };
  if (filter) {
    for (const auto& n : *filter)
      if (const SyscallInfo* s = lookup(abi, n)) add_one(*s);
  } else {
    for (const SyscallInfo& s : table(abi)) add_one(s);
  }
  return added;
}

std::string join_symbols(const std::vector<HookPoint>& e, Abi abi) {
  std::string s;
  size_t n = 0, per = 0;
  for (const auto& h : e) {
    if (h.abi != abi) continue;
    bool per_call = h.kind == EntryKind::per_syscall_regs || h.kind == EntryKind::per_syscall_args;
    if (per_call) { ++per; continue; }
    s += (n++ ? "+" : "") + h.symbol;
  }
  if (per) {
    std::string first;
    for (const auto& h : e)
      if (h.abi == abi) { first = h.symbol; break; }
    s += (n ? " and " : "") + std::to_string(per) +
         (per == 1 ? " per-syscall function" : " per-syscall functions") +
         (per == 1 ? " (" + first + ")" : " (" + first + ", ...)");
  }
  return s.empty() ? "none" : s;
}

}  // namespace

namespace {

// arm64: one dispatcher serves both ABIs (invoke_syscall since 5.10, el0_svc_common
// before); the ABI comes from pt_regs->pstate at run time, the number from its
// second argument (per-syscall functions: from pt_regs->syscallno).
void choose_arm64_entries(const profile::Profile& p, std::vector<HookPoint>& e,
                          const std::vector<std::string>* filter) {
  if (filter) {
    add_per_syscall(p, e, Abi::linux_arm64, filter, false);
    add_per_syscall(p, e, Abi::linux_arm32, filter, false);
  }
  if (filter && !e.empty()) return;
  if (!add_if(p, e, "invoke_syscall", EntryKind::dispatcher, Abi::linux_arm64, false) &&
      !add_if(p, e, "el0_svc_common", EntryKind::dispatcher, Abi::linux_arm64, false)) {
    add_per_syscall(p, e, Abi::linux_arm64, nullptr, false);
    add_per_syscall(p, e, Abi::linux_arm32, nullptr, false);
  }
}

}  // namespace

HookPlan choose_hook_plan(const profile::Profile& p, const std::vector<std::string>* filter,
                          bool disable_sysret, const std::string& what) {
  HookPlan plan;
  auto& e = plan.entries;
  const bool is64 = p.metadata.pointer_size != 4;
  plan.native32 = !is64;
  plan.arm64 = oslinux::arch_of(p) == oslinux::Arch::arm64;
  if (plan.arm64) {
    choose_arm64_entries(p, e, filter);
    if (e.empty())
      throw Error(what, "no syscall hook point in the profile (none of invoke_syscall, el0_svc_common, "
                        "__arm64_sys_*)");
    finish_returns(p, plan, disable_sysret, what);
    return plan;
  }

  if (filter) {
    // Only the listed syscalls' own functions: the others run unhooked, at no cost.
    if (is64) add_per_syscall(p, e, Abi::linux_x64, filter, true);
    add_per_syscall(p, e, Abi::linux_ia32, filter, false);
  }
  const bool have_x64 = [&] {
    for (const auto& h : e) if (h.abi == Abi::linux_x64) return true;
    return false;
  }();
  if (!filter || e.empty()) {
    // No filter, or no per-syscall function of the listed names: dispatchers (the
    // plugin still drops unlisted syscalls).
    if (is64 && !have_x64) {
      if (!add_if(p, e, "x64_sys_call", EntryKind::dispatcher, Abi::linux_x64, true) &&
          !add_if(p, e, "do_syscall_64", EntryKind::do_syscall_64, Abi::linux_x64, false))
        add_per_syscall(p, e, Abi::linux_x64, nullptr, true);
    }
    if (!add_if(p, e, "ia32_sys_call", EntryKind::dispatcher, Abi::linux_ia32, true)) {
      bool any = add_if(p, e, "int80_emulation", EntryKind::regs_orig_ax, Abi::linux_ia32, false);
      any |= add_if(p, e, "do_int80_syscall_32", EntryKind::regs_orig_ax, Abi::linux_ia32, false);
      any |= add_if(p, e, "do_fast_syscall_32", EntryKind::fast_32, Abi::linux_ia32, false);
      if (!any) add_per_syscall(p, e, Abi::linux_ia32, nullptr, false);
    }
  }

  bool primary = false;
  for (const auto& h : e)
    if (h.abi == (is64 ? Abi::linux_x64 : Abi::linux_ia32)) primary = true;
  if (!primary)
    throw Error(what, std::string("no syscall hook point in the profile (none of ") +
                          (is64 ? "x64_sys_call, do_syscall_64, __x64_sys_*, sys_*"
                                : "ia32_sys_call, do_int80_syscall_32, __ia32_sys_*") +
                          ")");

  finish_returns(p, plan, disable_sysret, what);
  return plan;
}

void finish_returns(const profile::Profile& p, HookPlan& plan, bool disable_sysret, const std::string& what) {
  if (!disable_sysret) {
    if (auto a = p.symbol("syscall_exit_to_user_mode")) {
      plan.ret = ReturnKind::exit_to_user_mode;
      plan.ret_symbol = "syscall_exit_to_user_mode";
      plan.ret_link = *a;
    } else {
      plan.ret = ReturnKind::return_address;
    }
  }
  oslinux::check_code_sites(p, plan.code_sites(), what);
}

std::vector<oslinux::CodeSite> HookPlan::code_sites() const {
  std::vector<oslinux::CodeSite> sites;
  for (const HookPoint& h : entries) sites.push_back({h.symbol, h.link});
  if (ret == ReturnKind::exit_to_user_mode) sites.push_back({ret_symbol, ret_link});
  return sites;
}

std::string HookPlan::describe() const {
  std::string s = arm64    ? "arm64 and arm32 (AArch32 tasks, told apart by pstate) via " +
                              join_symbols(entries, event::Abi::linux_arm64) +
                              (join_symbols(entries, event::Abi::linux_arm32) == "none"
                                   ? std::string()
                                   : " and " + join_symbols(entries, event::Abi::linux_arm32)) +
                              ", return via "
                  : native32 ? "ia32 (i386 kernel) via " + join_symbols(entries, event::Abi::linux_ia32) +
                                 ", return via "
                           : "x64 via " + join_symbols(entries, event::Abi::linux_x64) + ", ia32 via " +
                                 join_symbols(entries, event::Abi::linux_ia32) + ", return via ";
  switch (ret) {
    case ReturnKind::none: s += "none (disable_sysret)"; break;
    case ReturnKind::exit_to_user_mode: s += ret_symbol; break;
    case ReturnKind::return_address: s += "return addresses of the hooked functions"; break;
  }
  return s;
}

}  // namespace vmitrace::syscalls

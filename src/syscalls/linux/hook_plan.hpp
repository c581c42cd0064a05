// Which kernel functions to hook, chosen once from the profile's symbols: the best
// available entry point per ABI, and how returns are caught.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "event/record.hpp"
#include "os/linux/kernel.hpp"
#include "profile/profile.hpp"

namespace vmitrace::syscalls {

// How a hooked entry function gives the syscall number and its arguments.
enum class EntryKind : uint8_t {
  dispatcher,      // f(regs, nr): x64_sys_call, ia32_sys_call; arm64 invoke_syscall /
                   // el0_svc_common(regs, scno, sc_nr, table)
  do_syscall_64,   // (regs, nr) since 5.11, (nr, regs) before: told apart at run time
  regs_orig_ax,    // f(regs), nr = regs->orig_ax: int80_emulation, do_int80_syscall_32
  fast_32,         // do_fast_syscall_32(regs): like regs_orig_ax, 6th arg on the user stack
  per_syscall_regs,// __x64_sys_NAME(regs) / __ia32_sys_NAME(regs): nr known from the name
                   // (__arm64_sys_NAME(regs): from regs->syscallno, the function may
                   // serve an arm64 and an AArch32 number)
  per_syscall_args,// sys_NAME(a, b, ...) before 4.17: arguments in C-ABI registers
};

struct HookPoint {
  std::string symbol;     // also the Module of its events
  uint64_t link = 0;      // link-time address
  EntryKind kind = EntryKind::dispatcher;
  event::Abi abi = event::Abi::linux_x64;
  uint32_t nr = 0;        // per_syscall_*: the syscall this function implements
  bool returns_value = false;  // rax at its return address is the syscall result
};

enum class ReturnKind : uint8_t {
  none,              // disable_sysret
  exit_to_user_mode, // syscall_exit_to_user_mode(regs): ret = regs->ax
  return_address,    // hook the return address found at [rsp] on entry
};

struct HookPlan {
  std::vector<HookPoint> entries;
  ReturnKind ret = ReturnKind::none;
  std::string ret_symbol;
  uint64_t ret_link = 0;
  bool native32 = false;  // an i386 kernel: ia32 is its only ABI
  bool arm64 = false;     // an arm64 kernel: its hooks serve both arm64 and AArch32 tasks
  // "x64 via x64_sys_call, ia32 via ia32_sys_call, return via syscall_exit_to_user_mode"
  // (i386 kernels: "ia32 (i386 kernel) via ia32_sys_call, return via ...")
  std::string describe() const;
  // The functions hooked before any return address is known (entries and the
  // return hook), for the start-up self-check.
  std::vector<oslinux::CodeSite> code_sites() const;
};

// The return path of a plan whose entries are chosen (syscall_exit_to_user_mode, else
// return addresses), then the check that every hooked function lies in the profile's
// own kernel text.
void finish_returns(const profile::Profile& p, HookPlan& plan, bool disable_sysret, const std::string& what);

// filter: known syscall names, or nullptr for every syscall. Throws
// vmitrace::Error("WHAT: problem") when no x64 hook point exists, or when the
// profile puts a chosen one outside its own kernel text.
HookPlan choose_hook_plan(const profile::Profile& p, const std::vector<std::string>* filter,
                          bool disable_sysret, const std::string& what);

}  // namespace vmitrace::syscalls

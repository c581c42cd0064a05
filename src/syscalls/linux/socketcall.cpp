#include "syscalls/linux/socketcall.hpp"

#include "syscalls/tables/constants.hpp"

namespace vmitrace::syscalls {

const SyscallInfo* socketcall_subcall(vmi::Vcpu& cpu, const uint64_t a[6], uint64_t args[6]) {
  const NamedValue* call = find_value(consts::socketcall_call, a[0]);
  const SyscallInfo* sub = call ? lookup(event::Abi::linux_ia32, call->name) : nullptr;
  if (sub == nullptr || sub->nargs > 6) return nullptr;
  uint32_t words[6] = {};
  const size_t want = sizeof(uint32_t) * sub->nargs;
  if (cpu.read_virt(a[1] & 0xffffffffu, words, want) != want) return nullptr;
  for (unsigned i = 0; i < 6; ++i) args[i] = words[i];
  return sub;
}

}  // namespace vmitrace::syscalls

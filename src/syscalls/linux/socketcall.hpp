// i386's socketcall(call, args): 32-bit programs (glibc on i386) reach the socket calls
// through it. The tracer reports such an entry as the call it is (socket, connect,
// send...: data/const/socketcall_call.tbl), with that call's arguments read from the
// u32 array at args, as strace shows it. Runs on the vCPU thread: no allocation.
#pragma once
#include <cstdint>

#include "syscalls/tables/linux.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::syscalls {

// The ia32 table's row of the call socketcall's arguments a[0] (call) and a[1] (args)
// name, with its arguments read into args[0..nargs) (the rest zeroed); nullptr when
// the call number is unknown or the array is unreadable (the entry stays socketcall).
const SyscallInfo* socketcall_subcall(vmi::Vcpu& cpu, const uint64_t a[6], uint64_t args[6]);

}  // namespace vmitrace::syscalls

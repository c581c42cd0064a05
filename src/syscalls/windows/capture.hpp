// Building the record of one Windows service call on the vCPU thread: raw argument
// values by the calling convention, the process context, and the extras the
// formatter prints (method, PreviousMode, FromModule/FromParentModule, image path,
// decoded UNICODE_STRING / OBJECT_ATTRIBUTES arguments, handle names). Bounded guest
// reads into thread-local buffers: no allocation.
#pragma once
#include <cstdint>
#include <string>

#include "event/record.hpp"
#include "os/windows/kernel.hpp"
#include "syscalls/tables/windows.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::syscalls::windows {

// One hooked service routine (immutable once its hook is placed).
struct Service {
  uint64_t routine = 0;
  uint32_t index = 0;       // Syscall: index in its table (win32k without 0x1000)
  event::Abi abi = event::Abi::win_nt;
  uint8_t nargs = 0;
  uint32_t ret_pop = 0;     // x86 stdcall: bytes `ret N` pops after the return address
  const WinSyscallInfo* info = nullptr;  // prototype (nullptr: raw values only)
  bool terminates = false;  // NtTerminateProcess / NtTerminateThread (may not return)
  std::string name;         // method; "" when the routine has no symbol
};

// Raw argument i of a service routine at its first instruction: x64 RCX, RDX, R8,
// R9, then the caller's stack at RSP+0x28 (return address + 32 bytes home space);
// x86 stdcall on the stack at ESP+4. false when unreadable.
bool read_service_args(vmi::Vcpu& cpu, unsigned ptr_size, unsigned nargs, uint64_t* out);

// True when FromModule is a system DLL whose caller is more telling (FromParentModule).
bool is_system_dll(const uint8_t* utf16, size_t len);

struct CaptureLimits {
  uint32_t text_bytes = 512;  // UTF-16 bytes kept per text extra
};

// Appends the Windows extras of an entry record (everything but the raw values and
// the common header, which the caller fills).
void add_entry_extras(vmi::Vcpu& cpu, const oswin::WindowsKernel& k, const Service& s,
                      const oswin::WinContext& ctx, event::Builder& b, const CaptureLimits& lim);

// Method name as an extra (both entry and return records carry it).
void add_method(event::Builder& b, const Service& s);
// The user SID of the context when no name resolved (entry and return records).
void add_user_sid(event::Builder& b, const oswin::WinIdentity& who);

}  // namespace vmitrace::syscalls::windows

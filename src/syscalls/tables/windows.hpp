// Windows syscall knowledge as data: the prototypes of the NT (ntoskrnl) and win32k
// services, keyed by routine name (tables differ per build, names do not), and the
// NTSTATUS names. Generated at build time from data/windows/*.tbl by
// data/gen_windows.py (see data/README.md); this is how the rest of the code looks
// them up. nt and win32k routines share one namespace (Nt*, NtUser*, NtGdi*...).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace vmitrace::syscalls {
struct ConstSet;  // syscalls/tables/constants.hpp
}

namespace vmitrace::syscalls::windows {

// How an argument is captured and rendered; derived by the generator from the C
// type (and name), or given explicitly in the data file.
// (The numbers of the enumerators are not part of the contract.)
enum class WinArgKind : uint8_t {
  value,                  // integer of no particular meaning (ULONG_PTR, SIZE_T...): hex
  handle,                 // HANDLE: hex (+ the object's name when resolvable)
  pointer,                // any other pointer: hex
  unicode_string_ptr,     // PUNICODE_STRING (in): the string
  object_attributes_ptr,  // POBJECT_ATTRIBUTES: RootDirectory + ObjectName as a path
  access_mask,            // ACCESS_MASK: hex; rich: GENERIC_READ|SYNCHRONIZE|...
  ulong,                  // ULONG / USHORT / enumerations...: hex (raw), decimal (rich)
  flags,                  // bit set decoded with WinArgInfo::set in rich mode
  enum_,                  // enumeration (e.g. FILE_INFORMATION_CLASS) with ::set
  boolean,                // BOOLEAN / BOOL: rich TRUE / FALSE
  client_id_ptr,          // PCLIENT_ID: rich {pid, tid} when captured
  large_integer_ptr,      // PLARGE_INTEGER: rich the 64-bit value when captured
  handle_ptr,             // PHANDLE (usually out): pointer; the handle written at return
  io_status_block_ptr,    // PIO_STATUS_BLOCK (out): pointer
  ntstatus,               // NTSTATUS value passed in (NtRaiseHardError...): name
  slong,                  // LONG / INT: hex (raw), signed decimal (rich)
};

// Direction as the SAL annotations of the public headers say it.
enum WinArgDir : uint8_t {
  dir_in = 1,
  dir_out = 2,
  dir_inout = 3,
  dir_optional = 4,  // or'ed with the above (_In_opt_, _Out_opt_...)
};

struct WinArgInfo {
  const char* name;   // "ObjectAttributes"
  const char* ctype;  // "POBJECT_ATTRIBUTES"
  WinArgKind kind;
  uint8_t dir;        // WinArgDir bits
  const ConstSet* set;  // flags/enum_/access_mask: the names rich mode decodes with,
                        // else nullptr
  uint8_t bits;         // width of the value the kernel uses (ULONG: 32, BOOLEAN: 8,
                        // pointers/handles/SIZE_T: 64): raw values are masked to it
  bool in() const { return dir & dir_in; }
  bool out() const { return dir & dir_out; }
  bool optional() const { return dir & dir_optional; }
};

enum class WinModule : uint8_t { nt = 0, win32k = 1 };

struct WinSyscallInfo {
  const char* name;   // "NtCreateFile" (the routine / export name)
  WinModule module;   // which table the routine normally lives in
  uint8_t nargs;
  const WinArgInfo* args;  // [nargs]
  const char* ret;    // return type as declared: "NTSTATUS", "HWND", "BOOL"...
};

// nullptr when the routine is not in the table (the caller prints the raw args as
// Arg0..ArgN and uses the method name it has, or "sys_<nr>").
const WinSyscallInfo* lookup_windows(std::string_view routine);
// Every known prototype, sorted by name.
std::span<const WinSyscallInfo> windows_table();

// "STATUS_SUCCESS" for 0; empty when the code has no name in the table.
std::string_view ntstatus_name(uint32_t status);
// Name of the facility field (bits 16..27) of an NTSTATUS code: "NONE" for 0,
// "DEBUGGER" for 1...; empty when unnamed.
std::string_view ntstatus_facility_name(unsigned facility);

}  // namespace vmitrace::syscalls::windows

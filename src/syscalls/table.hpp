// Syscall knowledge as data: the tables in data/ are turned into C++ arrays at build
// time (data/gen_tables.py); this is how the rest of the code looks them up.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "event/record.hpp"

namespace vmitrace::syscalls {

struct ConstSet;  // syscalls/constants.hpp

// How an argument is captured and rendered. The generator derives it from the
// argument's C type and name in the data file (or an explicit override there).
enum class ArgKind : uint8_t {
  int_,        // signed integer
  uint_,       // unsigned integer / size
  ptr,         // opaque pointer: hex
  string,      // const char * read from guest memory (NUL-terminated, bounded)
  string_array,// char *const argv[] (execve)
  fd,          // file descriptor
  dirfd,       // *at dirfd (AT_FDCWD)
  mode,        // umode_t (octal)
  open_flags,
  prot,        // mmap/mprotect PROT_*
  mmap_flags,
  prctl_option,
  arch_prctl_code,
  signal,
  buffer,      // pointer to len bytes (read/write buffers)
  out_ptr,     // pointer the kernel writes to (captured at return)
  flags,       // generic bit set: {flags:SET} in the data file (ArgInfo::set)
  enum_,       // generic enumeration: {enum:SET}
  clone_flags, // clone flags + exit signal in the low byte
  socket_type, // SOCK_* type in the low 4 bits + SOCK_NONBLOCK/SOCK_CLOEXEC
  ioctl_cmd,   // ioctl request: a known name, else _IOC(dir, type, nr, size)
  hex,         // integer whose meaning depends on another argument (prctl's
               // arg2..5): hex, as strace prints an undecoded value
  // Structures read at entry (blob = the raw bytes, decoded by the rich style):
  sockaddr,    // struct sockaddr * with its length in argument len_arg
  timespec,    // struct __kernel_timespec * (two 64-bit fields)
  timespec32,  // struct old_timespec32 * (ia32: two 32-bit fields)
  iovec,       // struct iovec * with the count in len_arg: {base, len} pairs
  // Written by the kernel, captured at return (Extra::out_arg on the sysret):
  sockaddr_out,// struct sockaddr *, its length behind the int * of len_arg
  len_out,     // int * holding a length (accept's addrlen)
  stat_out,    // struct stat * (x86-64 layout)
  stat32_out,  // struct compat_stat * (ia32 / i386 struct stat)
  stat64_out,  // struct stat64 * (ia32)
  statx_out,   // struct statx *
  fd_pair_out, // int[2] of pipe/pipe2
  out_buffer,  // read/recv buffer: the first bytes of what the kernel wrote
               // (--capture-buffers), len_arg = its capacity
};

// True for kinds the kernel writes: captured at return, not at entry.
inline bool is_out_kind(ArgKind k) {
  return k >= ArgKind::sockaddr_out && k <= ArgKind::out_buffer;
}

struct ArgInfo {
  const char* name;   // "pathname"
  const char* ctype;  // "const char *"
  ArgKind kind;
  uint8_t bits;       // width of the value the kernel uses (16/32/64; ia32: at most 32):
                      // raw values are masked to it
  int8_t len_arg;     // buffer, out_buffer, sockaddr, iovec: index of the argument holding
                      // the length / count; sockaddr_out: of the int * length; else -1
  const ConstSet* set;  // named constants the rich style decodes the value with
                        // (flags/enum_ and the decoded kinds), else nullptr
};

struct SyscallInfo {
  uint32_t nr;
  const char* name;     // "openat" (the user-space name, as in <asm/unistd_64.h>)
  const char* symbol;   // "__x64_sys_openat" (entry point in a 64-bit kernel; ia32 table:
                        // the __ia32_compat_sys_* / __ia32_sys_* one); "" when the kernel
                        // does not implement the number (sys_ni_syscall)
  uint8_t nargs;
  ArgInfo args[6];
  const char* symbol_native32;  // ia32 table: entry point in a native 32-bit kernel
                                // ("" when absent there); x64 table: ""
};

// Blob conventions for captured arguments (event::Record blobs):
//   string:       the bytes before the NUL (Capture::truncated when the limit hit first)
//   string_array: the strings one after the other, each followed by a NUL
//   buffer:       the first bytes of the buffer (--capture-buffers)
//   sockaddr:     at most kMaxSockaddr bytes of the address (truncated when longer)
//   timespec(32): the 16 (8) bytes of the structure
//   iovec:        at most kMaxIovecs {base, len} pairs of the user's pointer size
// Out kinds travel as Extra::out_arg on the sysret: stat*: the structure's bytes;
// fd_pair_out: 8 bytes; len_out: 4 bytes; sockaddr_out: the address (length from
// *len_arg); out_buffer: the first min(ret, --capture-buffers) bytes.
inline constexpr uint32_t kMaxSockaddr = 128;  // sizeof(struct sockaddr_storage)
inline constexpr uint32_t kMaxIovecs = 16;

// nullptr when the number is not in the table (the caller prints "sys_<nr>").
const SyscallInfo* lookup(event::Abi abi, uint32_t nr);
const SyscallInfo* lookup(event::Abi abi, std::string_view name);
std::span<const SyscallInfo> table(event::Abi abi);
// "x64" / "x32" (ia32 and compat calls are "x32", as the specification says).
// Windows tables are not there yet: "nt" / "win32k".
const char* abi_type_name(event::Abi abi);

// Masks a raw argument value to the width the kernel uses (see ArgInfo::bits).
inline uint64_t mask_arg(uint64_t v, unsigned bits) {
  return bits >= 64 ? v : v & ((uint64_t{1} << bits) - 1);
}

}  // namespace vmitrace::syscalls

// Syscall knowledge as data: the tables in data/ are turned into C++ arrays at build
// time (data/gen_tables.py); this is how the rest of the code looks them up.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "event/record.hpp"

namespace vmitrace::syscalls {

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
};

struct ArgInfo {
  const char* name;   // "pathname"
  const char* ctype;  // "const char *"
  ArgKind kind;
};

struct SyscallInfo {
  uint32_t nr;
  const char* name;     // "openat"
  const char* symbol;   // "__x64_sys_openat" (entry point in the kernel)
  uint8_t nargs;
  ArgInfo args[6];
};

// nullptr when the number is not in the table (the caller prints "sys_<nr>").
const SyscallInfo* lookup(event::Abi abi, uint32_t nr);
const SyscallInfo* lookup(event::Abi abi, std::string_view name);
std::span<const SyscallInfo> table(event::Abi abi);
// "x64" / "x32" (ia32 and compat calls are "x32", as the specification says).
const char* abi_type_name(event::Abi abi);

}  // namespace vmitrace::syscalls

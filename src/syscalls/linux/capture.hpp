// Reading the guest memory a syscall argument points to: bounded, page by page,
// never past an unmapped page. Runs on the vCPU thread: no allocation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "event/record.hpp"
#include "options/capture_options.hpp"
#include "syscalls/tables/linux.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::syscalls {

inline constexpr uint32_t kMaxStringLimit = options::kMaxStringLimit;
inline constexpr uint32_t kMaxBufferCapture = options::kMaxBufferCapture;  // --capture-buffers
inline constexpr unsigned kMaxArrayItems = 32;       // argv/envp entries captured
inline constexpr size_t kMaxArrayBytes = 16384;      // argv/envp bytes in all
// Scratch space one capture may fill (the largest of the bounds above).
inline constexpr size_t kScratchBytes = kMaxArrayBytes;

// Reads the NUL-terminated string at va into buf (capacity >= limit + 1) and sets
// *len to the bytes before the NUL. ok: NUL found within limit; truncated: limit
// reached or an unmapped page hit after some bytes; unreadable: not even one byte.
event::Capture read_string(vmi::Vcpu& cpu, uint64_t va, size_t limit, char* buf, size_t* len);

// Reads an array of string pointers (argv/envp) at va: the strings one after the
// other, each followed by a NUL. `limit` applies per string: a longer one is kept
// as its first limit + 1 bytes, so that the writer (same --string-limit) shows it
// cut. At most max_items strings and kMaxArrayBytes in all; truncated when the
// array did not end within those bounds (or an element pointer was unreadable).
event::Capture read_string_array(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size,
                                 unsigned max_items, size_t limit, char* buf, size_t* len);

// Reads exactly n bytes at va (n <= kScratchBytes): ok when all were read,
// truncated when only some, unreadable when none (or va is NULL).
event::Capture read_bytes(vmi::Vcpu& cpu, uint64_t va, size_t n, char* buf, size_t* len);

// Reads a struct user_msghdr (compat_msghdr when ptr_size is 4) with its msg_name
// and msg_iov array into buf, in the blob layout of ArgKind::msghdr (tables/linux.hpp):
// unreadable when the header itself could not be read; truncated when msg_name or
// msg_iov was cut or unreadable. Bounded: at most kMaxSockaddr + kMaxIovecs pairs.
event::Capture read_msghdr(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size, char* buf,
                           size_t* len);

// The first struct mmsghdr at va: read_msghdr's blob, then its msg_len (4 bytes;
// left out and marked truncated when unreadable).
event::Capture read_mmsghdr(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size, char* buf,
                            size_t* len);

// What the syscall's arguments point to, per argument kind (see the blob
// conventions in syscalls/tables/linux.hpp).
struct CaptureLimits {
  uint32_t string_limit = 256;
  uint32_t buffer_limit = 0;  // --capture-buffers: 0 = buffers are not read
  unsigned user_ptr = 8;      // pointer size of the calling process (ia32: 4)
};

// An iovec array of count entries at va with the first bytes of each buffer, in the
// blob layout of ArgKind::iovec_data (table.hpp): unreadable when the array is;
// truncated when it has more than kMaxIovecs entries or a buffer could not be read.
event::Capture read_iovec_data(vmi::Vcpu& cpu, uint64_t va, uint64_t count,
                               const CaptureLimits& lim, char* buf, size_t* len);

// Entry: one blob per argument whose data is read at entry (strings, argv, sockaddr,
// timespec, iovec, and write buffers when buffer_limit). Returns the number of
// reads that failed. `scratch` holds kScratchBytes.
unsigned capture_entry_args(vmi::Vcpu& cpu, event::Builder& b, const SyscallInfo& info,
                            const CaptureLimits& lim, char* scratch);
// Return: one Extra::out_arg per argument the kernel wrote (stat, pipe fds,
// sockaddr + length, read buffers), from the entry's argument values and the return
// value (nothing is read when the call failed). Returns the failed reads.
unsigned capture_return_args(vmi::Vcpu& cpu, event::Builder& b, const SyscallInfo& info,
                             const uint64_t* args, int64_t ret, const CaptureLimits& lim,
                             char* scratch);

// Bytes the kernel writes for a structure out kind (0 for the others).
uint32_t out_struct_size(ArgKind k);

}  // namespace vmitrace::syscalls

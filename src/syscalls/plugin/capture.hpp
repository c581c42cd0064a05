// Reading the guest memory a syscall argument points to: bounded, page by page,
// never past an unmapped page. Runs on the vCPU thread: no allocation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "event/record.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::syscalls {

inline constexpr uint32_t kMaxStringLimit = 8192;

// Reads the NUL-terminated string at va into buf (capacity >= limit + 1) and sets
// *len to the bytes before the NUL. ok: NUL found within limit; truncated: limit
// reached or an unmapped page hit after some bytes; unreadable: not even one byte.
event::Capture read_string(vmi::Vcpu& cpu, uint64_t va, size_t limit, char* buf, size_t* len);

// Reads an array of string pointers (argv/envp) at va: the strings one after the
// other, each followed by a NUL, at most max_items and limit bytes in all.
event::Capture read_string_array(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size,
                                 unsigned max_items, size_t limit, char* buf, size_t* len);

}  // namespace vmitrace::syscalls

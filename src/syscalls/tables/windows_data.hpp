// Internal: the arrays data/gen_windows.py generates (included by the generated
// source and by windows.cpp only).
#pragma once
#include <cstddef>

#include "syscalls/tables/windows.hpp"

namespace vmitrace::syscalls::windows::data {

extern const WinSyscallInfo kEntries[];  // sorted by name
extern const size_t kCount;

}  // namespace vmitrace::syscalls::windows::data

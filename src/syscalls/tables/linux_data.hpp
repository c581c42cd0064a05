// Internal: the layout of the arrays data/gen_tables.py generates (included by the
// generated source and by linux.cpp only).
#pragma once
#include <cstddef>
#include <cstdint>

#include "syscalls/tables/constants.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::syscalls::data {

struct TableData {
  const SyscallInfo* entries;  // sorted by number
  size_t count;
  const int16_t* by_nr;        // [nr_limit]: index into entries, -1 for a hole
  uint32_t nr_limit;           // numbers above (0x0f0000 + n on arm): search entries
  const uint16_t* by_name;     // [count]: indices into entries, sorted by name
};

extern const TableData kLinuxX64;
extern const TableData kLinuxIa32;
extern const TableData kLinuxArm64;
extern const TableData kLinuxArm32;

}  // namespace vmitrace::syscalls::data

// The system service tables as they are in guest memory: KeServiceDescriptorTable
// (nt) and the second entry of KeServiceDescriptorTableShadow (win32k). x64 entries
// are 32-bit values, routine = table base + (entry >> 4) (arithmetic shift), the low
// 4 bits the count of stack arguments; x86 entries are absolute addresses with a
// separate byte table of argument sizes. Read once at start-up, not on the hot path.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "profile/profile.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::oswin {

class WindowsKernel;

// Routine RVA -> name from a profile. Several names can share an address (aliases,
// identical-code folding): an Nt* name wins, then the shortest, then the first in
// alphabetical order, so the choice never depends on hash order.
class RoutineNames {
 public:
  explicit RoutineNames(const profile::Profile& p);
  const std::string* find(uint64_t rva) const;
  size_t size() const { return names_.size(); }

 private:
  std::unordered_map<uint64_t, std::string> names_;
};

struct Service {
  uint32_t index = 0;
  uint64_t routine = 0;    // run-time address
  uint32_t arg_bytes = 0;  // bytes of stack arguments (x86: all; x64: beyond the 4th)
  bool arg_bytes_known = false;
  std::string name;        // "" when the address has no symbol
};

struct ServiceTable {
  uint64_t base = 0;
  std::vector<Service> services;   // routines inside the module, in index order
  std::vector<std::string> warnings;  // entries skipped (outside the module...)
};

// Reads the descriptor at `descriptor` (KSERVICE_TABLE_DESCRIPTOR: Base, Count,
// Limit, Number) and resolves each routine. Routines must lie in
// [module_base, module_base + module_size); others are skipped with a warning (an
// SSDT hook, or garbage). Returns false with *error when the descriptor itself is
// unreadable or implausible.
bool read_service_table(vmi::Vcpu& cpu, unsigned ptr_size, uint64_t descriptor,
                        uint64_t module_base, uint64_t module_size, const RoutineNames& names,
                        const char* module, ServiceTable& out, std::string* error);

}  // namespace vmitrace::oswin

// A win32k module for the synthetic Windows guests (x64 and x86): its profile (a
// win32kfull ISF naming W32pServiceTable and a few routines) and, in session space,
// its image (PE header with the PDB identity) and service table, with the second
// descriptor of KeServiceDescriptorTableShadow pointing at it. No gtest here: fuzz/
// uses it too.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "win_guest.hpp"

namespace vmitrace::testing::win32k {

constexpr const char* kGuid = "A1B2C3D4E5F60718293A4B5C6D7E8F90";
constexpr uint32_t kAge = 2;
constexpr uint64_t kTableRva = 0x40000, kArgRva = 0x41000;
constexpr uint64_t kBase = 0xffffd2c4a0e00000ull, kBase32 = 0x9a200000ull;
constexpr uint32_t kCount = 8;  // services in the table

inline uint64_t base(unsigned ptr) { return ptr == 8 ? kBase : kBase32; }

// Named routines: index, name, RVA, argument count (x64: the entry's low 4 bits are
// those beyond the 4 in registers; x86: the argument table holds 4 bytes each). The
// other indexes are distinct unnamed addresses in the image, without arguments.
struct Routine {
  uint32_t index;
  const char* name;
  uint64_t rva;
  uint8_t nargs;
};
inline const std::vector<Routine>& routines() {
  static const std::vector<Routine> r = {{6, "NtUserGetMessage", 0x30000, 4}, {2, "NtGdiBitBlt", 0x30100, 11},
                                         {0, "NtUserOpenDesktop", 0x30200, 3},
                                         {1, "NtUserFindWindowEx", 0x30300, 5},
                                         {3, "NtGdiDdDDICreateContext", 0x30400, 1},
                                         {4, "NtUserBuildHwndList", 0x30500, 8}};
  return r;
}

inline std::string isf(const char* guid = kGuid, unsigned ptr = 8) {
  std::string s = std::string("{\"metadata\": {\"format\": \"6.1.0\", \"producer\": {\"name\": \"t\", \"version\": \"1\"}, "
                              "\"windows\": {\"pdb\": {\"GUID\": \"") + guid + "\", \"age\": " + std::to_string(kAge) +
                  ", \"database\": \"win32kfull.pdb\", \"machine_type\": " + (ptr == 8 ? "34404" : "332") +
                  "}}}, \"base_types\": {\"pointer\": {\"kind\": \"int\", \"size\": " + std::to_string(ptr) +
                  ", \"signed\": false, \"endian\": \"little\"}}, \"user_types\": {}, "
                  "\"enums\": {}, \"symbols\": {\"W32pServiceTable\": {\"address\": " + std::to_string(kTableRva) + "}";
  for (const Routine& r : routines()) s += std::string(", \"") + r.name + "\": {\"address\": " + std::to_string(r.rva) + "}";
  return s + "}}";
}

// Shadow table: [0] = nt's descriptor (left as is), [1] = win32k's (Base, Count,
// Limit, Number: 4 pointers).
inline void descriptor(WinGuest& g, GuestMemory& m, uint32_t count = kCount) {
  const uint64_t d = g.a.kbase + g.L.rva_shadow_table + 4 * g.ptr, b = base(g.ptr);
  g.wptr(d, b + kTableRva);
  g.wptr(d + g.ptr, 0);
  m.write_u32(d + 2 * g.ptr, count);
  g.wptr(d + 3 * g.ptr, b + kArgRva);
}

// The image in session space, built for PDB `guid`, and its table.
inline void map_image(const profile::Profile& p, GuestMemory& m, const std::string& guid = kGuid) {
  WinGuest w(p, m);
  const uint64_t b = base(w.ptr), table = b + kTableRva;
  w.image(guid, kAge, b);
  for (uint32_t i = 0; i < kCount; ++i) {
    uint64_t rva = 0x50000 + i * 16;
    uint8_t nargs = 0;
    for (const Routine& r : routines())
      if (r.index == i) rva = r.rva, nargs = r.nargs;
    const uint8_t stack = w.ptr == 8 ? (nargs > 4 ? nargs - 4 : 0) : nargs;  // arguments on the stack
    if (w.ptr == 8)
      m.write_u32(table + i * 4, static_cast<uint32_t>(((b + rva - table) << 4) | stack));
    else
      m.write_u32(table + i * 4, static_cast<uint32_t>(b + rva));
    m.write_u8(b + kArgRva + i, static_cast<uint8_t>(stack * w.ptr));
  }
}

}  // namespace vmitrace::testing::win32k

// Reading a service table from guest memory and naming its routines.
#include "os/windows/ssdt.hpp"

#include <cstdio>
#include <cstring>

namespace vmitrace::oswin {
namespace {

constexpr uint32_t kMaxServices = 4096;  // win32k has ~1,500, nt ~500

bool better_name(const std::string& a, const std::string& b) {
  const bool an = a.rfind("Nt", 0) == 0, bn = b.rfind("Nt", 0) == 0;
  if (an != bn) return an;
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

RoutineNames::RoutineNames(const profile::Profile& p) {
  for (const auto& [name, sym] : p.symbols) {
    if (sym.address == 0 || name.empty()) continue;
    auto [it, fresh] = names_.try_emplace(sym.address, name);
    if (!fresh && better_name(name, it->second)) it->second = name;
  }
}

const std::string* RoutineNames::find(uint64_t rva) const {
  auto it = names_.find(rva);
  return it == names_.end() ? nullptr : &it->second;
}

bool read_service_table(vmi::Vcpu& cpu, unsigned ptr_size, uint64_t descriptor,
                        uint64_t module_base, uint64_t module_size, const RoutineNames& names,
                        const char* module, ServiceTable& out, std::string* error) {
  out = ServiceTable{};
  auto fail = [&](const std::string& why) {
    if (error) *error = std::string(module) + " service table at " + hex(descriptor) + ": " + why;
    return false;
  };
  // KSERVICE_TABLE_DESCRIPTOR: Base, Count, Limit (ULONG, pointer-aligned), Number.
  uint8_t d[32] = {};
  const size_t dsize = 4 * ptr_size;
  if (cpu.read_virt(descriptor, d, dsize) != dsize) return fail("unreadable");
  uint64_t base = 0, number = 0;
  uint32_t limit = 0;
  std::memcpy(&base, d, ptr_size);
  std::memcpy(&limit, d + 2 * ptr_size, 4);
  std::memcpy(&number, d + 3 * ptr_size, ptr_size);
  if (base == 0 || limit == 0) return fail("empty (base " + hex(base) + ", limit " + std::to_string(limit) + ")");
  if (limit > kMaxServices) return fail("implausible limit " + std::to_string(limit));
  if (base - module_base >= module_size) return fail("base " + hex(base) + " is outside the module");
  out.base = base;

  // Entries are 32-bit either way: x64 offsets, x86 absolute addresses.
  std::vector<uint8_t> raw(size_t{limit} * 4);
  if (cpu.read_virt(base, raw.data(), raw.size()) != raw.size()) return fail("entries unreadable");
  std::vector<uint8_t> args(limit);
  const bool args_known = number != 0 && cpu.read_virt(number, args.data(), limit) == limit;

  for (uint32_t i = 0; i < limit; ++i) {
    uint32_t e = 0;
    std::memcpy(&e, raw.data() + size_t{i} * 4, 4);
    Service s;
    s.index = i;
    if (ptr_size == 8) {
      s.routine = base + static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(e) >> 4));
      s.arg_bytes = (e & 0xf) * 8;
      s.arg_bytes_known = true;
    } else {
      s.routine = e;
      s.arg_bytes = args_known ? args[i] : 0;
      s.arg_bytes_known = args_known;
    }
    if (s.routine - module_base >= module_size) {
      out.warnings.push_back(std::string(module) + " service " + std::to_string(i) + " points outside the module (" +
                             hex(s.routine) + "): not hooked");
      continue;
    }
    if (const std::string* n = names.find(s.routine - module_base)) s.name = *n;
    out.services.push_back(std::move(s));
  }
  return true;
}

}  // namespace vmitrace::oswin

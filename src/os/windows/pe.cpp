// PE header -> debug directory -> CodeView RSDS record, from guest memory.
#include "os/windows/pe.hpp"

#include <cstring>

namespace vmitrace::oswin {
namespace {

constexpr uint32_t kMaxHeader = 4096;  // headers live in the first page
constexpr uint32_t kDebugTypeCodeView = 2;

uint16_t u16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint32_t u32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

}  // namespace

std::string format_guid(const uint8_t g[16]) {
  // Data1..Data3 are little-endian integers; Data4 is 8 bytes in order.
  static const char* hex = "0123456789ABCDEF";
  uint8_t ordered[16] = {g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]};
  std::memcpy(ordered + 8, g + 8, 8);
  std::string s;
  for (uint8_t b : ordered) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

bool read_pe_identity(vmi::Vcpu& cpu, uint64_t base, PeIdentity& out) {
  out = PeIdentity{};
  uint8_t h[kMaxHeader];
  if (cpu.read_virt(base, h, sizeof h) != sizeof h) return false;
  if (h[0] != 'M' || h[1] != 'Z') return false;
  const uint32_t pe = u32(h + 0x3c);
  if (pe > kMaxHeader - 24 || std::memcmp(h + pe, "PE\0\0", 4) != 0) return false;
  const uint32_t opt = pe + 24;
  if (opt + 2 > kMaxHeader) return false;
  const uint16_t magic = u16(h + opt);
  uint32_t dirs = 0;
  if (magic == 0x20b) dirs = opt + 112;       // PE32+
  else if (magic == 0x10b) dirs = opt + 96;   // PE32
  else return false;
  if (opt + 60 > kMaxHeader) return false;
  out.size_of_image = u32(h + opt + 56);
  const uint32_t dbg = dirs + 6 * 8;  // IMAGE_DIRECTORY_ENTRY_DEBUG
  if (dbg + 8 > kMaxHeader) return true;
  const uint32_t dbg_rva = u32(h + dbg), dbg_size = u32(h + dbg + 4);
  if (dbg_rva == 0 || dbg_rva >= out.size_of_image) return true;
  const uint32_t n = dbg_size / 28 > 16 ? 16 : dbg_size / 28;
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t e[28];
    if (cpu.read_virt(base + dbg_rva + i * 28, e, sizeof e) != sizeof e) return true;
    if (u32(e + 12) != kDebugTypeCodeView) continue;
    const uint32_t rva = u32(e + 20);
    if (rva == 0 || rva >= out.size_of_image) continue;
    uint8_t cv[24 + 64] = {};
    size_t got = cpu.read_virt(base + rva, cv, sizeof cv);
    if (got < 24 || std::memcmp(cv, "RSDS", 4) != 0) continue;
    out.pdb_guid = format_guid(cv + 4);
    out.pdb_age = u32(cv + 20);
    size_t len = strnlen(reinterpret_cast<const char*>(cv + 24), got - 24);
    out.pdb_name.assign(reinterpret_cast<const char*>(cv + 24), len);
    return true;
  }
  return true;
}

}  // namespace vmitrace::oswin

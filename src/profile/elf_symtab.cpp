// Symbols from an ELF .symtab (the -dbg package's vmlinux): what System.map lists,
// without needing the System.map file. Bounds: ElfImage checked every section
// against the file size; names are bounded by their string table.
#include <algorithm>
#include <cstring>

#include "profile/kernel_image.hpp"

namespace vmitrace::profile {
namespace {

constexpr uint32_t kShtSymtab = 2;
constexpr uint8_t kSttFunc = 2, kSttSection = 3, kSttFile = 4;
constexpr uint8_t kStbLocal = 0;
constexpr uint16_t kShnUndef = 0, kShnAbs = 0xfff1;

template <class T>
T rd(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// nm's letter, near enough for a profile (addresses are what matter).
char letter(uint8_t type, uint8_t bind, uint16_t shndx, const ElfImage& elf) {
  char c = 'D';
  if (shndx == kShnAbs) c = 'A';
  else if (type == kSttFunc) c = 'T';
  else if (shndx < elf.sections().size()) {
    const ElfSection& s = elf.sections()[shndx];
    if (s.flags & 4 /* SHF_EXECINSTR */) c = 'T';
    else if (s.type == 8 /* NOBITS */) c = 'B';
    else if (!(s.flags & 1 /* SHF_WRITE */)) c = 'R';
  }
  return bind == kStbLocal ? char(c - 'A' + 'a') : c;
}

}  // namespace

std::vector<KernelSymbol> elf_symtab(const uint8_t* data, const ElfImage& elf) {
  std::vector<KernelSymbol> out;
  const auto& secs = elf.sections();
  for (const auto& st : secs) {
    if (st.type != kShtSymtab || st.link >= secs.size()) continue;
    const ElfSection& str = secs[st.link];
    const size_t esz = elf.is_64bit() ? 24 : 16;
    const uint64_t n = st.size / esz;
    out.reserve(n);
    for (uint64_t i = 1; i < n; ++i) {
      const uint8_t* e = data + st.offset + i * esz;
      uint32_t name = rd<uint32_t>(e);
      uint64_t value;
      uint8_t info;
      uint16_t shndx;
      if (elf.is_64bit()) {
        info = e[4];
        shndx = rd<uint16_t>(e + 6);
        value = rd<uint64_t>(e + 8);
      } else {
        value = rd<uint32_t>(e + 4);
        info = e[12];
        shndx = rd<uint16_t>(e + 14);
      }
      const uint8_t type = info & 15, bind = info >> 4;
      if (type == kSttSection || type == kSttFile || shndx == kShnUndef || name == 0 || name >= str.size) continue;
      const char* s = reinterpret_cast<const char*>(data + str.offset + name);
      size_t len = strnlen(s, str.size - name);
      if (len == 0 || len == str.size - name) continue;  // empty or unterminated
      out.push_back(KernelSymbol{std::string(s, len), letter(type, bind, shndx, elf), value});
    }
    break;
  }
  std::stable_sort(out.begin(), out.end(), [](const KernelSymbol& a, const KernelSymbol& b) { return a.address < b.address; });
  return out;
}

}  // namespace vmitrace::profile

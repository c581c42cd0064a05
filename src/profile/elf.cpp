#include "profile/elf.hpp"

#include <cstring>

#include "common/error.hpp"

namespace vmitrace::profile {

namespace {

constexpr uint32_t kShtNobits = 8;

template <class T>
T rd(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // x86 hosts read little-endian ELF natively
  return v;
}

}  // namespace

bool ElfImage::looks_like_elf(const uint8_t* d, size_t n) {
  return n >= 52 && d[0] == 0x7F && d[1] == 'E' && d[2] == 'L' && d[3] == 'F';
}

ElfImage::ElfImage(const uint8_t* d, size_t n, const std::string& what) {
  if (!looks_like_elf(d, n)) throw Error(what, "not an ELF file");
  if (d[5] != 1) throw Error(what, "big-endian ELF is not supported");
  if (d[4] != 1 && d[4] != 2) throw Error(what, "bad ELF class");
  is64_ = d[4] == 2;
  size_t ehsize = is64_ ? 64 : 52;
  if (n < ehsize) throw Error(what, "truncated ELF header");
  machine_ = rd<uint16_t>(d + 18);
  uint64_t shoff = is64_ ? rd<uint64_t>(d + 0x28) : rd<uint32_t>(d + 0x20);
  uint16_t shentsize = rd<uint16_t>(d + (is64_ ? 0x3A : 0x2E));
  uint64_t shnum = rd<uint16_t>(d + (is64_ ? 0x3C : 0x30));
  uint16_t shstrndx = rd<uint16_t>(d + (is64_ ? 0x3E : 0x32));
  size_t want = is64_ ? 64 : 40;
  if (shoff == 0 || shnum == 0) throw Error(what, "ELF file has no section headers");
  if (shentsize < want) throw Error(what, "bad ELF section header size");
  if (shoff > n || shnum > (n - shoff) / shentsize) throw Error(what, "truncated ELF section headers");
  struct Raw {
    uint32_t name;
    ElfSection s;
  };
  std::vector<Raw> raw;
  raw.reserve(shnum);
  for (uint64_t i = 0; i < shnum; ++i) {
    const uint8_t* h = d + shoff + i * shentsize;
    Raw r;
    r.name = rd<uint32_t>(h);
    r.s.type = rd<uint32_t>(h + 4);
    if (is64_) {
      r.s.flags = rd<uint64_t>(h + 8);
      r.s.addr = rd<uint64_t>(h + 16);
      r.s.offset = rd<uint64_t>(h + 24);
      r.s.size = rd<uint64_t>(h + 32);
      r.s.link = rd<uint32_t>(h + 40);
    } else {
      r.s.flags = rd<uint32_t>(h + 8);
      r.s.addr = rd<uint32_t>(h + 12);
      r.s.offset = rd<uint32_t>(h + 16);
      r.s.size = rd<uint32_t>(h + 20);
      r.s.link = rd<uint32_t>(h + 24);
    }
    if (r.s.type == kShtNobits) {
      r.s.size = 0;
    } else if (r.s.offset > n || r.s.size > n - r.s.offset) {
      // A section running past the end: the image is truncated. Keep what is there
      // only for sections that start inside the file (sections we need are checked
      // for full size by their readers).
      throw Error(what, "truncated ELF image (a section extends past the end of the file)");
    }
    raw.push_back(std::move(r));
  }
  const ElfSection* strtab = shstrndx < raw.size() ? &raw[shstrndx].s : nullptr;
  for (auto& r : raw) {
    if (strtab && r.name < strtab->size) {
      const char* s = reinterpret_cast<const char*>(d + strtab->offset + r.name);
      r.s.name.assign(s, strnlen(s, strtab->size - r.name));
    }
    sections_.push_back(std::move(r.s));
  }
}

const ElfSection* ElfImage::section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

const ElfSection* ElfImage::section_at(uint64_t addr) const {
  for (const auto& s : sections_)
    if (s.type != kShtNobits && s.addr != 0 && addr >= s.addr && addr - s.addr < s.size) return &s;
  return nullptr;
}

std::optional<uint64_t> ElfImage::offset_of(uint64_t addr) const {
  const ElfSection* s = section_at(addr);
  if (!s) return std::nullopt;
  return s->offset + (addr - s->addr);
}

std::optional<std::string> gnu_build_id(const uint8_t* notes, size_t size) {
  constexpr uint32_t kNtGnuBuildId = 3;
  auto rd32 = [](const uint8_t* q) {
    uint32_t v;
    std::memcpy(&v, q, 4);
    return v;
  };
  const uint8_t* p = notes;
  uint64_t left = size;
  while (left >= 12) {
    uint32_t namesz = rd32(p), descsz = rd32(p + 4), type = rd32(p + 8);
    uint64_t name_al = (uint64_t(namesz) + 3) & ~3ull, desc_al = (uint64_t(descsz) + 3) & ~3ull;
    if (name_al > left - 12 || desc_al > left - 12 - name_al) break;
    const uint8_t* name = p + 12;
    const uint8_t* desc = name + name_al;
    if (type == kNtGnuBuildId && namesz == 4 && std::memcmp(name, "GNU", 4) == 0 && descsz > 0 && descsz <= 64) {
      static const char kHex[] = "0123456789abcdef";
      std::string id;
      for (uint32_t i = 0; i < descsz; ++i) id += {kHex[desc[i] >> 4], kHex[desc[i] & 15]};
      return id;
    }
    p = desc + desc_al;
    left -= 12 + name_al + desc_al;
  }
  return std::nullopt;
}

}  // namespace vmitrace::profile

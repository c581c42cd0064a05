// A tiny synthetic "running kernel" image for the memory route: kallsyms tables in
// the 6.2+ layout (identity tokens: token c is the byte c), linux_banner, a one-type
// BTF blob between __start_BTF and __stop_BTF, vmcoreinfo with KERNELOFFSET and the
// vmcoreinfo_data pointer to it. Used by the unit test and as the fuzz target's seed.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vmitrace::test {

struct SyntheticKernel {
  static constexpr uint64_t kBase64 = 0xffffffff9f000000ull;  // running _text
  static constexpr uint64_t kSlide64 = 0x1e000000;            // link _text 0xffffffff81000000
  static constexpr uint64_t kBase32 = 0xc1000000ull;
  static constexpr const char* kBanner = "Linux version 6.1.0-synthetic (seed@vmitrace) #1 SMP\n";
};

// The image bytes as mapped at `base` (pointer size 8 or 4).
inline std::vector<uint8_t> synthetic_kernel(unsigned ptr) {
  const uint64_t base = ptr == 8 ? SyntheticKernel::kBase64 : SyntheticKernel::kBase32;
  std::vector<uint8_t> m(0x800, 0);
  auto put = [&](size_t at, const void* d, size_t n) {
    if (m.size() < at + n) m.resize(at + n, 0);
    std::memcpy(&m[at], d, n);
  };
  auto u32 = [&](size_t at, uint32_t v) { put(at, &v, 4); };
  auto ptrv = [&](size_t at, uint64_t v) { put(at, &v, ptr); };
  auto align = [&](size_t& at, size_t a) { at = (at + a - 1) / a * a; };
  std::memset(m.data(), 0x90, 16);
  put(0x100, SyntheticKernel::kBanner, std::strlen(SyntheticKernel::kBanner) + 1);
  std::string note = "OSRELEASE=6.1.0-synthetic\nKERNELOFFSET=1e000000\n";
  put(0x200, note.c_str(), note.size() + 1);
  ptrv(0x300, base + 0x200);
  // BTF: header, one INT "int" (4 bytes, 32 bits), strings "\0int\0".
  const uint32_t btf[] = {0x0001eb9f, 24, 0, 16, 16, 5, 1, 1u << 24, 4, 32};
  put(0x400, btf, sizeof btf);
  put(0x400 + sizeof btf, "\0int\0", 5);
  const uint64_t btf_end = 0x400 + sizeof btf + 5;
  struct Sym {
    const char* name;
    uint64_t off;
  } syms[] = {{"T_text", 0}, {"Tdo_one_initcall", 0x10}, {"Dlinux_banner", 0x100}, {"Dvmcoreinfo_data", 0x300},
              {"R__start_BTF", 0x400}, {"R__stop_BTF", btf_end}};
  const uint32_t n = sizeof syms / sizeof *syms;
  size_t at = 0x800;
  u32(at, n);
  at += 4;
  align(at, ptr);
  for (const auto& s : syms) {
    uint8_t len = uint8_t(std::strlen(s.name));
    put(at, &len, 1);
    put(at + 1, s.name, len);
    at += 1 + len;
  }
  align(at, ptr);
  u32(at, 0);  // kallsyms_markers: entry 0 at names + 0
  at += 4;
  align(at, 8);
  const size_t table = at;
  uint16_t index[256];
  std::string tok0 = "\xff";
  for (int k = 0; k < 256; ++k) {
    index[k] = uint16_t(at - table);
    std::string t = k ? std::string(1, char(k)) : tok0;
    put(at, t.c_str(), t.size() + 1);
    at += t.size() + 1;
  }
  align(at, 8);
  put(at, index, sizeof index);
  at += sizeof index;
  align(at, ptr);
  for (const auto& s : syms) u32(at, uint32_t(s.off)), at += 4;  // kallsyms_offsets
  align(at, ptr);
  ptrv(at, base);  // kallsyms_relative_base: the running _text
  m.resize(at + ptr + 64, 0);
  return m;
}

}  // namespace vmitrace::test

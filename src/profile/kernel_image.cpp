// A Linux profile from a kernel image alone: vmlinux out of the bzImage, types
// from .BTF, symbols from kallsyms (or a System.map), linux_banner text.
#include "profile/kernel_image.hpp"

#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/btf_reader.hpp"
#include "profile/bzimage.hpp"
#include "profile/elf.hpp"

namespace vmitrace::profile {

namespace {

constexpr uint64_t kMaxVmlinux = 1ull << 30;
constexpr size_t kMaxBanner = 1024;

std::vector<uint8_t> load_vmlinux(const std::string& path) {
  std::vector<uint8_t> raw = read_file(path);
  if (raw.empty()) throw Error(path, "empty file (not a kernel image)");
  if (ElfImage::looks_like_elf(raw.data(), raw.size())) return raw;
  std::vector<uint8_t> out;
  if (looks_like_bzimage(raw.data(), raw.size())) {
    out = bzimage_payload(raw, path);
  } else if (Compression c = sniff_compression(raw.data(), raw.size()); c != Compression::none) {
    out = decompress(raw.data(), raw.size(), c, path, kMaxVmlinux);  // e.g. vmlinux.xz
  } else {
    throw Error(path, "not a kernel image (neither a bzImage nor an ELF vmlinux)");
  }
  if (!ElfImage::looks_like_elf(out.data(), out.size()))
    throw Error(path, "decompressed payload is not an ELF vmlinux");
  return out;
}

std::string find_banner(const std::vector<uint8_t>& v, const ElfImage& elf,
                        const std::vector<KernelSymbol>& syms) {
  auto read_cstr = [&](uint64_t off) {
    size_t len = 0;
    while (off + len < v.size() && len < kMaxBanner && v[off + len] != 0) ++len;
    return std::string(reinterpret_cast<const char*>(v.data() + off), len);
  };
  for (const auto& s : syms) {
    if (s.name != "linux_banner") continue;
    if (auto off = elf.offset_of(s.address)) {
      std::string b = read_cstr(*off);
      if (b.rfind("Linux version ", 0) == 0) return b;
    }
  }
  // No symbol (or it did not point at the text): the first "Linux version <digit>" in .rodata.
  const ElfSection* ro = elf.section(".rodata");
  uint64_t start = ro ? ro->offset : 0, size = ro ? ro->size : v.size();
  static const char kNeedle[] = "Linux version ";
  const uint8_t* p = v.data() + start;
  size_t left = size;
  while (left > sizeof kNeedle) {
    const void* hit = memmem(p, left, kNeedle, sizeof kNeedle - 1);
    if (!hit) break;
    uint64_t off = uint64_t(static_cast<const uint8_t*>(hit) - v.data());
    if (off + sizeof kNeedle - 1 < v.size() && std::isdigit(v[off + sizeof kNeedle - 1])) return read_cstr(off);
    p = static_cast<const uint8_t*>(hit) + 1;
    left = size - uint64_t(p - (v.data() + start));
  }
  return {};
}

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

KernelImage read_kernel_image(const std::string& path) {
  KernelImage img;
  img.vmlinux = load_vmlinux(path);
  ElfImage elf(img.vmlinux.data(), img.vmlinux.size(), path);
  img.is_64bit = elf.is_64bit();
  img.symbols = extract_kallsyms(img.vmlinux, path);
  img.banner = find_banner(img.vmlinux, elf, img.symbols);
  return img;
}

Profile build_linux_profile(const std::string& image_path, const BuildOptions& opt) {
  // Read the System.map first: a bad --system-map fails before the slow part.
  std::vector<KernelSymbol> map_syms;
  if (!opt.system_map.empty()) map_syms = read_system_map(opt.system_map);

  std::vector<uint8_t> vmlinux = load_vmlinux(image_path);
  ElfImage elf(vmlinux.data(), vmlinux.size(), image_path);
  const ElfSection* btf = elf.section(".BTF");
  if (!btf || btf->size == 0)
    throw Error(image_path, "no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF): no types to extract");

  Profile p;
  std::unordered_map<std::string, TypeRef> var_types;
  load_btf_types(vmlinux.data() + btf->offset, btf->size, image_path + " (.BTF)", p, &var_types);
  p.base_types["pointer"].size = elf.is_64bit() ? 8 : 4;
  p.metadata.pointer_size = elf.is_64bit() ? 8 : 4;

  std::vector<KernelSymbol> syms = map_syms.empty() ? extract_kallsyms(vmlinux, image_path) : std::move(map_syms);
  p.symbols.reserve(syms.size());
  for (const auto& s : syms) {
    Symbol sym;
    sym.address = s.address;
    if (auto it = var_types.find(s.name); it != var_types.end()) sym.type = it->second;
    p.symbols.try_emplace(s.name, std::move(sym));  // first (lowest address) of duplicate statics wins
  }

  std::string banner = find_banner(vmlinux, elf, syms);
  if (!banner.empty()) {
    p.metadata.banner = banner;
    if (auto it = p.symbols.find("linux_banner"); it != p.symbols.end()) {
      it->second.constant_data = banner + '\0';
      TypeRef arr;
      arr.kind = "array";
      arr.count = uint32_t(banner.size() + 1);
      arr.subtype = std::make_shared<TypeRef>(TypeRef{"base", "char", nullptr, 0, 0, 0});
      it->second.type = std::move(arr);
    }
  }
  p.metadata.os = "linux";
  p.metadata.format = "6.2.0";
  p.metadata.producer_name = "vmitrace";
  p.metadata.producer_version = "0.1.0";
  p.metadata.symbols_kind = opt.system_map.empty() ? "symtab" : "system-map";
  p.metadata.symbols_name = basename_of(opt.system_map.empty() ? image_path : opt.system_map);
  return p;
}

}  // namespace vmitrace::profile

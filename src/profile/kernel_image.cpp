// A Linux profile from a kernel image: vmlinux out of the bzImage, types from .BTF
// (or from the DWARF of a matching debug vmlinux), symbols from kallsyms (or a
// System.map), linux_banner text.
#include "profile/kernel_image.hpp"

#include <fmt/core.h>

#include <cstring>
#include <optional>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/btf_reader.hpp"
#include "profile/bzimage.hpp"
#include "profile/dwarf_btf.hpp"
#include "profile/elf.hpp"
#include "profile/global_types.hpp"

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
    throw Error(path, "not a Linux kernel image (neither a bzImage nor an ELF vmlinux)");
  }
  if (!ElfImage::looks_like_elf(out.data(), out.size()))
    throw Error(path, "decompressed payload is not an ELF vmlinux");
  return out;
}

std::string find_banner(const uint8_t* data, size_t size, const ElfImage& elf,
                        const std::vector<KernelSymbol>& syms) {
  auto read_cstr = [&](uint64_t off) {
    size_t len = 0;
    while (off + len < size && len < kMaxBanner && data[off + len] != 0) ++len;
    return std::string(reinterpret_cast<const char*>(data + off), len);
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
  uint64_t start = ro ? ro->offset : 0, len = ro ? ro->size : size;
  static const char kNeedle[] = "Linux version ";
  const uint8_t* p = data + start;
  size_t left = len;
  while (left > sizeof kNeedle) {
    const void* hit = memmem(p, left, kNeedle, sizeof kNeedle - 1);
    if (!hit) break;
    uint64_t off = uint64_t(static_cast<const uint8_t*>(hit) - data);
    if (off + sizeof kNeedle - 1 < size && std::isdigit(data[off + sizeof kNeedle - 1])) return read_cstr(off);
    p = static_cast<const uint8_t*>(hit) + 1;
    left = len - uint64_t(p - (data + start));
  }
  return {};
}

std::string find_banner(const std::vector<uint8_t>& v, const ElfImage& elf, const std::vector<KernelSymbol>& syms) {
  return find_banner(v.data(), v.size(), elf, syms);
}

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

// The debug file must describe the very kernel of the image: same ELF class and
// machine, then the same build id when both have one, else the same banner.
void check_debug_matches(const std::string& image_path, const std::vector<uint8_t>& vmlinux, const ElfImage& elf,
                         const std::string& debug_path, const MappedFile& dbg, const ElfImage& delf) {
  if (delf.is_64bit() != elf.is_64bit() || delf.machine() != elf.machine())
    throw Error(debug_path, std::string("does not match ") + image_path + ": a " +
                                (delf.is_64bit() ? "64" : "32") + "-bit ELF for a " + (elf.is_64bit() ? "64" : "32") +
                                "-bit kernel image");
  auto id_image = elf_build_id(vmlinux.data(), elf);
  auto id_debug = elf_build_id(dbg.data(), delf);
  if (id_image && id_debug) {
    if (*id_image != *id_debug)
      throw Error(debug_path, "does not match " + image_path + ": build id " + *id_debug + ", the image's is " +
                                  *id_image);
    return;
  }
  std::string image_banner = find_banner(vmlinux, elf, {});
  std::string debug_banner = find_banner(dbg.data(), dbg.size(), delf, {});
  if (image_banner.empty() || debug_banner.empty())
    throw Error(debug_path, "cannot check that it matches " + image_path + " (no build id and no linux_banner in " +
                                (image_banner.empty() ? "the image" : "the debug file") + ")");
  if (one_line(debug_banner) != one_line(image_banner))
    throw Error(debug_path, "does not match " + image_path + ": its banner is \"" + one_line(debug_banner) +
                                "\", the image's is \"" + one_line(image_banner) + "\"");
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
  std::string debug = opt.debug_file;
  // A vmlinux ELF with DWARF and no .BTF given as IMAGE is its own debug file (pahole
  // reads the file, so only when IMAGE is that ELF, not a bzImage around it).
  if (debug.empty() && (!btf || btf->size == 0) && elf.section(".debug_info")) {
    MappedFile m(image_path);
    if (ElfImage::looks_like_elf(m.data(), m.size())) debug = image_path;
  }
  // An ELF without .BTF and without the kernel's banner (/bin/ls, a module) is no
  // kernel at all: say so rather than blame the kernel's configuration.
  if (debug.empty() && (!btf || btf->size == 0) && find_banner(vmlinux, elf, {}).empty())
    throw Error(image_path, "not a Linux kernel image (an ELF file without the kernel's \"Linux version\" banner)");
  if (debug.empty() && (!btf || btf->size == 0))
    throw Error(image_path, "no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF): give its DWARF with "
                            "--debug-file (the vmlinux of the linux-image-*-dbg package)");

  // The debug file, when there is one, is checked first: a mismatch fails early.
  std::optional<MappedFile> dbg;
  std::optional<ElfImage> delf;
  if (!debug.empty()) {
    dbg.emplace(debug);
    delf.emplace(dbg->data(), dbg->size(), debug);
    if (debug != image_path) check_debug_matches(image_path, vmlinux, elf, debug, *dbg, *delf);
  }

  // Symbols: a System.map, else the debug file's full .symtab (kallsyms of kernels
  // without CONFIG_KALLSYMS_ALL lack the data symbols: current_task, linux_banner),
  // else the image's kallsyms.
  std::vector<KernelSymbol> syms = std::move(map_syms);
  std::string symbols_from = opt.system_map;
  if (syms.empty() && delf) {
    syms = elf_symtab(dbg->data(), *delf);
    symbols_from = debug;
    // Before the slow DWARF conversion: is this a kernel at all?
    bool has_text = false;
    for (const auto& s : syms) has_text = has_text || s.name == "_text" || s.name == "_stext";
    if (!syms.empty() && !has_text)
      throw Error(debug, "not a Linux kernel: no _text/_stext symbol in its symbol table");
  }
  if (syms.empty()) {
    syms = extract_kallsyms(vmlinux, image_path);
    symbols_from = image_path;
  }
  ProfileParts parts;
  parts.banner = find_banner(vmlinux, elf, syms);
  parts.symbols = std::move(syms);
  parts.is_64bit = elf.is_64bit();
  parts.symbols_kind = opt.system_map.empty() ? "symtab" : "system-map";
  parts.symbols_name = basename_of(symbols_from);
  parts.source = image_path;
  parts.note = opt.note;
  std::vector<uint8_t> raw;
  if (delf) {
    raw = btf_from_dwarf(debug, *delf);
    parts.btf = raw.data();
    parts.btf_size = raw.size();
    parts.btf_what = debug + " (DWARF via pahole)";
    parts.types_kind = "dwarf";
    parts.types_name = basename_of(debug);
  } else {
    parts.btf = vmlinux.data() + btf->offset;
    parts.btf_size = btf->size;
    parts.btf_what = image_path + " (.BTF)";
  }
  return assemble_linux_profile(parts);
}

Profile assemble_linux_profile(const ProfileParts& parts) {
  Profile p;
  std::unordered_map<std::string, TypeRef> var_types;
  load_btf_types(parts.btf, parts.btf_size, parts.btf_what, p, &var_types);
  p.metadata.types_kind = parts.types_kind;
  p.metadata.types_name = parts.types_name;
  p.base_types["pointer"].size = parts.is_64bit ? 8 : 4;
  p.metadata.pointer_size = parts.is_64bit ? 8 : 4;

  p.symbols.reserve(parts.symbols.size());
  for (const auto& s : parts.symbols) {
    Symbol sym;
    sym.address = s.address;
    if (auto it = var_types.find(s.name); it != var_types.end()) sym.type = it->second;
    p.symbols.try_emplace(s.name, std::move(sym));  // first (lowest address) of duplicate statics wins
  }
  type_globals(p, parts.note ? parts.note : [&parts](const std::string& msg) {
    fmt::print(stderr, "vmitrace: {}: {}\n", parts.source, msg);
  });

  const std::string& banner = parts.banner;
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
  p.metadata.symbols_kind = parts.symbols_kind;
  p.metadata.symbols_name = parts.symbols_name;
  return p;
}

}  // namespace vmitrace::profile

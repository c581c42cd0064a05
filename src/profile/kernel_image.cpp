// A Linux profile from a kernel image: vmlinux out of the bzImage (or arm64's flat
// Image), types from .BTF (or from the DWARF of a matching debug vmlinux), symbols
// from kallsyms (or a System.map), linux_banner text, the architecture.
#include "profile/kernel_image.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/arm64_image.hpp"
#include "profile/btf_reader.hpp"
#include "profile/bzimage.hpp"
#include "profile/dwarf_btf.hpp"
#include "profile/elf.hpp"
#include "profile/global_types.hpp"
#include "profile/guest_btf.hpp"

namespace vmitrace::profile {

namespace {

constexpr uint64_t kMaxVmlinux = 1ull << 30;
constexpr size_t kMaxBanner = 1024;
constexpr uint16_t kEmI386 = 3, kEmX86_64 = 62, kEmAarch64 = 183;

// The kernel as the builder reads it: an ELF vmlinux (x86's bzImage payload, a
// debug vmlinux) or arm64's flat Image, which has no section table.
struct Vmlinux {
  std::vector<uint8_t> bytes;
  std::optional<ElfImage> elf;  // absent: a flat arm64 Image (offset = address - _text)
  std::optional<Arm64Image> image;  // a flat arm64 Image: its header facts and relocations (bytes moved out)
  std::string architecture;

  bool is_64bit() const { return !elf || elf->is_64bit(); }
  // The BTF blob: the .BTF section, or in an Image the blob its header identifies.
  std::optional<BtfBlob> btf() const {
    if (!elf) return find_btf_blob(bytes.data(), bytes.size());
    const ElfSection* s = elf->section(".BTF");
    if (!s || s->size == 0) return std::nullopt;
    return BtfBlob{s->offset, s->size};
  }
};

std::string architecture_of(const ElfImage& elf) {
  switch (elf.machine()) {
    case kEmX86_64: return "x86_64";
    case kEmI386: return "i386";
    case kEmAarch64: return "arm64";
    default: return "";
  }
}

Vmlinux load_vmlinux(const std::string& path) {
  Vmlinux v;
  std::vector<uint8_t> raw = read_file(path);
  if (raw.empty()) throw Error(path, "empty file (not a kernel image)");
  auto take_image = [&](std::vector<uint8_t> bytes, const std::string& what) {
    v.image = read_arm64_image(std::move(bytes), what);
    v.bytes = std::move(v.image->bytes);
    v.architecture = "arm64";
  };
  if (ElfImage::looks_like_elf(raw.data(), raw.size())) {
    v.bytes = std::move(raw);
  } else if (looks_like_bzimage(raw.data(), raw.size())) {
    v.bytes = bzimage_payload(raw, path);
  } else if (looks_like_arm64_image(raw.data(), raw.size()) || looks_like_efi_zboot(raw.data(), raw.size())) {
    take_image(std::move(raw), path);
    return v;
  } else if (Compression c = sniff_compression(raw.data(), raw.size()); c != Compression::none) {
    v.bytes = decompress(raw.data(), raw.size(), c, path, kMaxVmlinux);  // e.g. vmlinux.xz, arm64 Image.gz
    if (looks_like_arm64_image(v.bytes.data(), v.bytes.size())) {
      take_image(std::move(v.bytes), path + " (decompressed)");
      return v;
    }
  } else {
    throw Error(path, "not a Linux kernel image (neither a bzImage, an arm64 Image nor an ELF vmlinux)");
  }
  if (!ElfImage::looks_like_elf(v.bytes.data(), v.bytes.size()))
    throw Error(path, "decompressed payload is not an ELF vmlinux");
  v.elf.emplace(v.bytes.data(), v.bytes.size(), path);
  v.architecture = architecture_of(*v.elf);
  return v;
}

}  // namespace

std::vector<uint64_t> banner_texts(const uint8_t* data, size_t size, uint64_t start, uint64_t len) {
  static const char kNeedle[] = "Linux version ";
  std::vector<uint64_t> out;
  if (start > size) return out;
  len = std::min<uint64_t>(len, size - start);
  const uint8_t* p = data + start;
  size_t left = len;
  while (left > sizeof kNeedle && out.size() < 16) {
    const void* hit = memmem(p, left, kNeedle, sizeof kNeedle - 1);
    if (!hit) break;
    uint64_t off = uint64_t(static_cast<const uint8_t*>(hit) - data);
    if (off + sizeof kNeedle - 1 < size && std::isdigit(data[off + sizeof kNeedle - 1])) out.push_back(off);
    p = static_cast<const uint8_t*>(hit) + 1;
    left = len - uint64_t(p - (data + start));
  }
  return out;
}

std::string banner_text_at(const uint8_t* data, size_t size, uint64_t off) {
  size_t n = 0;
  while (off + n < size && n < kMaxBanner && data[off + n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(data + off), n);
}

namespace {

// Where linux_banner's text is: at the symbol when offset_of maps it into the
// bytes, else the first "Linux version <digit>" in [start, start + len).
std::string find_banner(const uint8_t* data, size_t size, const std::function<std::optional<uint64_t>(uint64_t)>& offset_of,
                        uint64_t start, uint64_t len, const std::vector<KernelSymbol>& syms) {
  for (const auto& s : syms) {
    if (s.name != "linux_banner") continue;
    if (auto off = offset_of(s.address); off && *off < size) {
      std::string b = banner_text_at(data, size, *off);
      if (b.rfind("Linux version ", 0) == 0) return b;
    }
  }
  auto texts = banner_texts(data, size, start, len);
  return texts.empty() ? std::string() : banner_text_at(data, size, texts.front());
}

// An ELF: symbols map through its sections, the text is looked for in .rodata.
std::string find_banner(const uint8_t* data, size_t size, const ElfImage& elf, const std::vector<KernelSymbol>& syms) {
  const ElfSection* ro = elf.section(".rodata");
  return find_banner(data, size, [&](uint64_t a) { return elf.offset_of(a); }, ro ? ro->offset : 0,
                     ro ? ro->size : size, syms);
}

uint64_t text_of(const std::vector<KernelSymbol>& syms) {
  for (const auto& s : syms)
    if (s.name == "_text") return s.address;
  return 0;
}

// A flat Image: offset = address - _text, the text is looked for in the whole Image.
std::string find_banner(const Vmlinux& v, const std::vector<KernelSymbol>& syms) {
  if (v.elf) return find_banner(v.bytes.data(), v.bytes.size(), *v.elf, syms);
  const uint64_t text = text_of(syms);
  auto offset_of = [text](uint64_t a) -> std::optional<uint64_t> {
    if (text == 0 || a < text) return std::nullopt;
    return a - text;
  };
  return find_banner(v.bytes.data(), v.bytes.size(), offset_of, 0, v.bytes.size(), syms);
}

// kallsyms of arm64 kernels without CONFIG_KALLSYMS_ALL (bookworm's 6.1) hold
// neither _text nor linux_banner; the Image itself gives both: _text is _stext
// less the offset of .text (its PE header), and linux_banner is _text plus the
// offset of the last banner text: since 6.1 init/version.c keeps a weak copy and
// init/version-timestamp.c, linked after everything else, the one the symbol names.
void add_image_symbols(const Vmlinux& v, std::vector<KernelSymbol>& syms) {
  if (v.elf) return;
  if (text_of(syms) == 0 && v.image->stext_offset)
    for (const auto& s : syms)
      if (s.name == "_stext" && s.address > *v.image->stext_offset) {
        syms.push_back(KernelSymbol{"_text", 'T', s.address - *v.image->stext_offset});
        break;
      }
  const bool has_banner =
      std::any_of(syms.begin(), syms.end(), [](const KernelSymbol& s) { return s.name == "linux_banner"; });
  auto texts = banner_texts(v.bytes.data(), v.bytes.size(), 0, v.bytes.size());
  if (!has_banner && text_of(syms) != 0 && !texts.empty())
    syms.push_back(KernelSymbol{"linux_banner", 'D', text_of(syms) + texts.back()});
}

std::vector<KernelSymbol> kallsyms_of(const Vmlinux& v, const std::string& what) {
  std::vector<KernelSymbol> syms = v.elf ? extract_kallsyms(v.bytes, what)
                                         // Offset 0 is _text, which is 64 KiB aligned: offsets align as addresses do.
                                         : extract_kallsyms(
                                               v.bytes.data(), v.bytes.size(), true, [](uint64_t) { return uint64_t{0}; },
                                               what, [&v](uint64_t off) { return v.image->pointer_at(off); });
  add_image_symbols(v, syms);
  return syms;
}

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

// The debug file must describe the very kernel of the image: same architecture and
// word size, then the same build id when both have one, else the same banner.
void check_debug_matches(const std::string& image_path, const Vmlinux& v, const std::string& debug_path,
                         const MappedFile& dbg, const ElfImage& delf) {
  if (delf.is_64bit() != v.is_64bit())
    throw Error(debug_path, std::string("does not match ") + image_path + ": a " + (delf.is_64bit() ? "64" : "32") +
                                "-bit ELF for a " + (v.is_64bit() ? "64" : "32") + "-bit kernel image");
  if (architecture_of(delf) != v.architecture)
    throw Error(debug_path, "does not match " + image_path + ": an ELF for " +
                                (architecture_of(delf).empty() ? "another architecture" : architecture_of(delf)) +
                                ", the kernel image is " + v.architecture);
  auto id_image = v.elf ? elf_build_id(v.bytes.data(), *v.elf) : std::nullopt;
  auto id_debug = elf_build_id(dbg.data(), delf);
  if (id_image && id_debug) {
    if (*id_image != *id_debug)
      throw Error(debug_path, "does not match " + image_path + ": build id " + *id_debug + ", the image's is " +
                                  *id_image);
    return;
  }
  std::string image_banner = find_banner(v, {});
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
  Vmlinux v = load_vmlinux(path);
  img.is_64bit = v.is_64bit();
  img.architecture = v.architecture;
  img.symbols = kallsyms_of(v, path);
  img.banner = find_banner(v, img.symbols);
  img.vmlinux = std::move(v.bytes);
  return img;
}

Profile build_linux_profile(const std::string& image_path, const BuildOptions& opt) {
  // Read the System.map first: a bad --system-map fails before the slow part.
  std::vector<KernelSymbol> map_syms;
  if (!opt.system_map.empty()) map_syms = read_system_map(opt.system_map);

  Vmlinux v = load_vmlinux(image_path);
  const std::optional<BtfBlob> btf = v.btf();
  std::string debug = opt.debug_file;
  // A vmlinux ELF with DWARF and no .BTF given as IMAGE is its own debug file (pahole
  // reads the file, so only when IMAGE is that ELF, not a bzImage around it).
  if (debug.empty() && !btf && v.elf && v.elf->section(".debug_info")) {
    MappedFile m(image_path);
    if (ElfImage::looks_like_elf(m.data(), m.size())) debug = image_path;
  }
  // An ELF without .BTF and without the kernel's banner (/bin/ls, a module) is no
  // kernel at all: say so rather than blame the kernel's configuration.
  if (debug.empty() && !btf && v.elf && find_banner(v, {}).empty())
    throw Error(image_path, "not a Linux kernel image (an ELF file without the kernel's \"Linux version\" banner)");
  if (debug.empty() && !btf)
    throw Error(image_path, std::string(v.elf ? "no .BTF section" : "no BTF in the arm64 Image") +
                                " (kernel built without CONFIG_DEBUG_INFO_BTF): give its DWARF with "
                                "--debug-file (the vmlinux of the linux-image-*-dbg package)");

  // The debug file, when there is one, is checked first: a mismatch fails early.
  std::optional<MappedFile> dbg;
  std::optional<ElfImage> delf;
  if (!debug.empty()) {
    dbg.emplace(debug);
    delf.emplace(dbg->data(), dbg->size(), debug);
    if (debug != image_path) check_debug_matches(image_path, v, debug, *dbg, *delf);
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
    syms = kallsyms_of(v, image_path);
    symbols_from = image_path;
  }
  ProfileParts parts;
  parts.banner = find_banner(v, syms);
  parts.symbols = std::move(syms);
  parts.is_64bit = v.is_64bit();
  parts.architecture = v.architecture;
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
    parts.btf = v.bytes.data() + btf->offset;
    parts.btf_size = btf->size;
    parts.btf_what = image_path + (v.elf ? " (.BTF)" : " (BTF in the Image)");
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
  p.metadata.architecture = parts.architecture.empty() ? infer_architecture(p) : parts.architecture;
  p.metadata.format = "6.2.0";
  p.metadata.producer_name = "vmitrace";
  p.metadata.producer_version = "0.1.0";
  p.metadata.symbols_kind = parts.symbols_kind;
  p.metadata.symbols_name = parts.symbols_name;
  return p;
}

}  // namespace vmitrace::profile

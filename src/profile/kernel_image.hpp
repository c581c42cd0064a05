// Building a Linux profile from a kernel image alone: bzImage/vmlinuz payload
// decompression, the .BTF section (types, through libbpf) and the kallsyms tables
// (symbols) found in the image's data.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "profile/elf.hpp"
#include "profile/profile.hpp"

namespace vmitrace::profile {

struct KernelSymbol {
  std::string name;
  char type;          // kallsyms type letter ('T', 't', 'D', ...)
  uint64_t address;   // link-time address (per-CPU symbols: the per-CPU offset)
};

struct KernelImage {
  std::vector<uint8_t> vmlinux;        // the ELF, or arm64's flat Image
  bool is_64bit = true;
  std::string architecture;            // "x86_64", "i386", "arm64" ("" = another)
  std::vector<KernelSymbol> symbols;   // from kallsyms (or System.map)
  std::string banner;                  // linux_banner text
};

// path: a bzImage/vmlinuz, an arm64 vmlinuz (Image, compressed, EFI zboot) or a
// vmlinux ELF. Throws Error("PATH: problem").
KernelImage read_kernel_image(const std::string& path);
// Offsets of the "Linux version <digit>" texts in data[start, start + len), in order
// (at most 16: a kernel holds one or two copies of its banner), and the text at one.
std::vector<uint64_t> banner_texts(const uint8_t* data, size_t size, uint64_t start, uint64_t len);
std::string banner_text_at(const uint8_t* data, size_t size, uint64_t off);
// Extracts kallsyms from a vmlinux ELF image (both the 6.1 and the 6.2+ layouts).
std::vector<KernelSymbol> extract_kallsyms(const std::vector<uint8_t>& vmlinux,
                                           const std::string& what);
// The same over any bytes holding the tables (e.g. a kernel image read from guest
// memory): vaddr_delta(offset) = virtual address - offset of the bytes around the
// token table at `offset` (the tables' alignment is one of virtual addresses).
// relocated(offset), when given, is the link-time value of a pointer the bytes hold
// as zero (arm64 Images: kallsyms_relative_base is filled in by boot-time relocation).
std::vector<KernelSymbol> extract_kallsyms(const uint8_t* data, size_t size, bool is64,
                                           const std::function<uint64_t(uint64_t)>& vaddr_delta,
                                           const std::string& what,
                                           const std::function<std::optional<uint64_t>(uint64_t)>& relocated = {});
// The named symbols of an ELF's .symtab (a debug vmlinux has them all, like the
// real System.map), sorted by address; nm-style type letters. Empty when stripped.
std::vector<KernelSymbol> elf_symtab(const uint8_t* data, const ElfImage& elf);
// Parses a System.map ("ADDR TYPE NAME" lines).
std::vector<KernelSymbol> read_system_map(const std::string& path);

struct BuildOptions {
  std::string system_map;  // when set, its symbols take precedence
  // A vmlinux with DWARF (the -dbg package's) matching the image: types come from
  // its DWARF (converted by pahole) instead of the image's .BTF.
  std::string debug_file;
  // Receives the notes of the build (a listed global left untyped, and why); when
  // empty they go to stderr as "vmitrace: IMAGE: note".
  std::function<void(const std::string&)> note;
};
// Builds the whole profile (types from .BTF or the debug file's DWARF, symbols from
// kallsyms / System.map, the types of data symbols without a BTF VAR from
// data/linux-isf-globals.tsv). An image without .BTF that carries DWARF itself (a
// debug vmlinux given as IMAGE) is its own debug file.
Profile build_linux_profile(const std::string& image_path, const BuildOptions& opt = {});

// What a profile is assembled from, whichever route found it (a kernel image, its
// debug file, guest memory). Symbols carry link-time addresses.
struct ProfileParts {
  const uint8_t* btf = nullptr;  // raw BTF (the image's .BTF, pahole's output, the guest's)
  size_t btf_size = 0;
  std::string btf_what;          // names the BTF's source in errors
  bool is_64bit = true;
  std::string architecture;      // "x86_64", "i386", "arm64"; "": from pt_regs (infer_architecture)
  std::vector<KernelSymbol> symbols;
  std::string banner;            // linux_banner text ("" when unknown)
  std::string symbols_kind, symbols_name, types_kind, types_name;  // metadata.linux
  std::string source;            // names the kernel (image path, "guest memory") in notes
  std::function<void(const std::string&)> note;  // build notes; empty: stderr
};
// The assembly step both routes share: types, symbols with their variable types,
// linux_banner's constant data, metadata. Throws Error(btf_what, ...) on bad BTF.
Profile assemble_linux_profile(const ProfileParts& parts);

}  // namespace vmitrace::profile

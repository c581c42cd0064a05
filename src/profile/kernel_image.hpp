// Building a Linux profile from a kernel image alone: bzImage/vmlinuz payload
// decompression, the .BTF section (types, through libbpf) and the kallsyms tables
// (symbols) found in the image's data.
#pragma once
#include <cstdint>
#include <functional>
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
  std::vector<uint8_t> vmlinux;        // the ELF
  bool is_64bit = true;
  std::vector<KernelSymbol> symbols;   // from kallsyms (or System.map)
  std::string banner;                  // linux_banner text
};

// path: a bzImage/vmlinuz or a vmlinux ELF. Throws Error("PATH: problem").
KernelImage read_kernel_image(const std::string& path);
// Extracts kallsyms from a vmlinux ELF image (both the 6.1 and the 6.2+ layouts).
std::vector<KernelSymbol> extract_kallsyms(const std::vector<uint8_t>& vmlinux,
                                           const std::string& what);
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

}  // namespace vmitrace::profile

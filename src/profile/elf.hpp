// Minimal, bounds-checked ELF reader for a vmlinux image: section lookup and
// virtual address -> file offset. Every header field is checked against the
// buffer size (the image may be truncated or hostile).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmitrace::profile {

struct ElfSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;
  uint64_t offset = 0;  // in the file; offset + size is within the buffer (NOBITS: size 0)
  uint64_t size = 0;
  uint32_t link = 0;    // sh_link (SYMTAB: its string table's index)
};

// The GNU build id (an NT_GNU_BUILD_ID note named "GNU") among the ELF notes in
// [notes, notes+size), as lower-case hex; nullopt when there is none. Each note's
// lengths are checked against the bytes left (a .notes section, or guest memory).
std::optional<std::string> gnu_build_id(const uint8_t* notes, size_t size);

class ElfImage {
 public:
  // Throws Error(what, problem) when the buffer is not a well-formed ELF.
  ElfImage(const uint8_t* data, size_t size, const std::string& what);

  bool is_64bit() const { return is64_; }
  uint16_t machine() const { return machine_; }
  const std::vector<ElfSection>& sections() const { return sections_; }
  const ElfSection* section(std::string_view name) const;
  // The PROGBITS section holding `addr`, if any.
  const ElfSection* section_at(uint64_t addr) const;
  // File offset of a virtual address inside a PROGBITS section.
  std::optional<uint64_t> offset_of(uint64_t addr) const;

  static bool looks_like_elf(const uint8_t* data, size_t size);

 private:
  bool is64_ = true;
  uint16_t machine_ = 0;
  std::vector<ElfSection> sections_;
};

}  // namespace vmitrace::profile

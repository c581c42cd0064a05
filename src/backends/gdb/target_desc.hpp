// The register layout a gdbstub announces in its target description (target.xml and
// the files it includes, read with qXfer:features:read): each register's number,
// size and byte offset in the 'g' reply. Registers are found by name, never by a
// hard-coded number, so any stub (QEMU 7..10, i386 or x86-64) works.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vmitrace::gdb {

struct RegInfo {
  std::string name;
  unsigned regnum = 0;
  unsigned bits = 0;
  unsigned offset = 0;  // byte offset in the 'g' packet (when g_size covers it)
};

struct TargetDesc {
  std::string architecture;  // "i386:x86-64", "i386", ...
  std::vector<RegInfo> regs;
  const RegInfo* find(const std::string& name) const;
};

// Reads an annex ("target.xml", "i386-64bit.xml"); throws on failure.
using AnnexReader = std::function<std::string(const std::string& annex)>;

// Parses target.xml and, depth-first, every <xi:include href=...> (at most 32 files,
// nesting at most 4). Throws vmitrace::Error on malformed descriptions.
TargetDesc read_target_desc(const AnnexReader& read);
// Parses one document's registers (numbering continues from next_regnum) and
// collects its includes; used by read_target_desc, exposed for tests.
void parse_target_xml(const std::string& xml, TargetDesc& out, unsigned& next_regnum,
                      std::vector<std::string>& includes);

}  // namespace vmitrace::gdb

// System.map: "ADDRESS TYPE NAME" per line (nm output). Lines that do not parse
// are an error naming the line: a wrong file given as --system-map must not
// silently produce an empty symbol set.
#include <cstdlib>
#include <string_view>

#include "common/error.hpp"
#include "common/file.hpp"
#include "profile/kernel_image.hpp"

namespace vmitrace::profile {

std::vector<KernelSymbol> read_system_map(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_decompressed(path, 1ull << 30);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<KernelSymbol> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 != sp1 + 2 || sp2 + 1 >= line.size() || sp1 > 16)
      throw Error(path, "line " + std::to_string(line_no) + ": not a System.map line (\"ADDRESS TYPE NAME\")");
    uint64_t addr = 0;
    for (char c : line.substr(0, sp1)) {
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0) throw Error(path, "line " + std::to_string(line_no) + ": bad hex address");
      addr = addr << 4 | uint64_t(v);
    }
    std::string_view name = line.substr(sp2 + 1);
    if (size_t tab = name.find('\t'); tab != std::string_view::npos) name = name.substr(0, tab);  // "[module]"
    out.push_back(KernelSymbol{std::string(name), line[sp1 + 1], addr});
  }
  if (out.empty()) throw Error(path, "no symbols in System.map");
  bool has_text = false;
  for (const auto& s : out) has_text = has_text || s.name == "_text" || s.name == "_stext";
  if (!has_text)
    throw Error(path, "System.map has no _text/_stext symbol (Debian ships a placeholder; "
                      "the real one is in the linux-image-*-dbg package)");
  return out;
}

}  // namespace vmitrace::profile

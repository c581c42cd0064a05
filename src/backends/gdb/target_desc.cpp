#include "backends/gdb/target_desc.hpp"

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"

namespace vmitrace::gdb {

namespace {

// Value of attr="..." (or '...') inside one tag's text; "" when absent.
std::string attr(const std::string& tag, const std::string& name) {
  size_t p = 0;
  while ((p = tag.find(name, p)) != std::string::npos) {
    bool word_start = p > 0 && (tag[p - 1] == ' ' || tag[p - 1] == '\t' || tag[p - 1] == '\n');
    size_t q = p + name.size();
    while (q < tag.size() && tag[q] == ' ') ++q;
    if (word_start && q < tag.size() && tag[q] == '=') {
      ++q;
      while (q < tag.size() && tag[q] == ' ') ++q;
      if (q < tag.size() && (tag[q] == '"' || tag[q] == '\'')) {
        size_t e = tag.find(tag[q], q + 1);
        if (e != std::string::npos) return tag.substr(q + 1, e - q - 1);
      }
    }
    p += name.size();
  }
  return {};
}

}  // namespace

const RegInfo* TargetDesc::find(const std::string& name) const {
  for (const auto& r : regs)
    if (r.name == name) return &r;
  return nullptr;
}

void parse_target_xml(const std::string& xml, TargetDesc& out, unsigned& next_regnum,
                      std::vector<std::string>& includes) {
  size_t p = 0;
  while ((p = xml.find('<', p)) != std::string::npos) {
    size_t e = xml.find('>', p);
    if (e == std::string::npos) throw Error("target description", "unterminated tag");
    std::string tag = xml.substr(p, e - p + 1);
    if (tag.rfind("<!--", 0) == 0) {
      size_t c = xml.find("-->", p);
      if (c == std::string::npos) throw Error("target description", "unterminated comment");
      p = c + 3;
      continue;
    }
    if (tag.rfind("<reg ", 0) == 0 || tag.rfind("<reg\t", 0) == 0) {
      RegInfo r;
      r.name = attr(tag, "name");
      std::string bits = attr(tag, "bitsize"), num = attr(tag, "regnum");
      if (r.name.empty() || bits.empty()) throw Error("target description", "register without name or bitsize");
      long b = std::strtol(bits.c_str(), nullptr, 10);
      if (b <= 0 || b > 4096) throw Error("target description", "register " + r.name + " has a bad bitsize");
      r.bits = static_cast<unsigned>(b);
      if (!num.empty()) {
        long n = std::strtol(num.c_str(), nullptr, 10);
        if (n < 0 || n > 100000) throw Error("target description", "register " + r.name + " has a bad regnum");
        next_regnum = static_cast<unsigned>(n);
      }
      r.regnum = next_regnum++;
      out.regs.push_back(r);
    } else if (tag.rfind("<xi:include", 0) == 0) {
      std::string href = attr(tag, "href");
      if (!href.empty()) includes.push_back(href);
    } else if (tag == "<architecture>") {
      size_t c = xml.find("</architecture>", e);
      if (c != std::string::npos) out.architecture = xml.substr(e + 1, c - e - 1);
    }
    p = e + 1;
  }
}

TargetDesc read_target_desc(const AnnexReader& read) {
  TargetDesc d;
  unsigned next = 0;
  int files = 0;
  // Depth-first so that register numbers follow document order.
  std::function<void(const std::string&, int)> load = [&](const std::string& annex, int depth) {
    if (depth > 4 || ++files > 32) throw Error("target description", "too many nested includes");
    std::vector<std::string> inc;
    parse_target_xml(read(annex), d, next, inc);
    for (const auto& i : inc) load(i, depth + 1);
  };
  load("target.xml", 0);
  // Offsets in the 'g' reply: registers in regnum order, packed.
  std::vector<const RegInfo*> order;
  for (auto& r : d.regs) order.push_back(&r);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->regnum < b->regnum; });
  unsigned off = 0;
  for (auto* r : order) {
    const_cast<RegInfo*>(r)->offset = off;
    off += (r->bits + 7) / 8;
  }
  return d;
}

}  // namespace vmitrace::gdb

// Formatting as the writer does, in every layout, raw and rich: for the formatter
// targets, and the sink of the capture targets (each record as soon as it is emitted).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "event/record.hpp"
#include "output/format.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::fuzz {

// A record made of the input as the writer would see it (aligned, as the ring
// reader's buffer is; a size that does not fit what was popped is the popped size),
// or nullptr when the input is no record at all.
inline event::Record* record_of(const uint8_t* data, size_t size, std::vector<uint64_t>& buf) {
  if (size < sizeof(event::Record) || size > event::kMaxRecord) return nullptr;
  buf.assign((size + 7) / 8, 0);
  std::memcpy(buf.data(), data, size);
  auto* r = reinterpret_cast<event::Record*>(buf.data());
  if (r->size > size || r->size < sizeof(event::Record)) r->size = static_cast<uint32_t>(size);
  return r;
}

// Formats r in every layout and style; each must be one whole line.
void format_all(const event::Record& r, uint64_t uid, uint32_t string_limit, std::string& line);

// One fuzz input as a record (optionally forced to an OS), formatted every way; the
// string limit comes from two spare bytes so that the input picks it too.
inline int format_input(const uint8_t* data, size_t size, uint64_t uid, const event::Os* force_os = nullptr) {
  std::vector<uint64_t> buf;
  event::Record* r = record_of(data, size, buf);
  if (!r) return 0;
  if (force_os) r->os = *force_os;
  std::string out;
  format_all(*r, uid, 1 + (r->reserved[0] | r->reserved[1] << 8), out);
  return 0;
}

inline void format_all(const event::Record& r, uint64_t uid, uint32_t string_limit, std::string& line) {
  for (auto f : {output::Format::json, output::Format::kv, output::Format::csv, output::Format::drakvuf_default})
    for (auto style : {output::ArgStyle::raw, output::ArgStyle::rich}) {
      output::FormatOptions o;
      o.format = f;
      o.args = style;
      o.string_limit = string_limit;
      line.clear();
      output::format_event(r, uid, o, line);
      if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) __builtin_trap();
    }
}

// Checks one whole line per record and layout; keeps the records when asked (seeds).
struct FormatSink : vmi::EventSink {
  void emit(const void* rec, size_t size) override {
    if (size < sizeof(event::Record) || size > event::kMaxRecord) __builtin_trap();
    std::vector<uint64_t> buf((size + 7) / 8);
    std::memcpy(buf.data(), rec, size);
    const auto& r = *reinterpret_cast<const event::Record*>(buf.data());
    if (r.size != size) __builtin_trap();
    if (keep) kept.emplace_back(static_cast<const uint8_t*>(rec), static_cast<const uint8_t*>(rec) + size);
    format_all(r, n++, 256, line);
  }
  std::string line;
  uint64_t n = 0;
  bool keep = false;
  std::vector<std::vector<uint8_t>> kept;
};

}  // namespace vmitrace::fuzz

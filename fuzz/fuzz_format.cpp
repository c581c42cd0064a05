// libFuzzer target: output::format_event over arbitrary records (the writer's own
// checks applied first, as in cmd_run's writer loop), in every format and style.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "event/record.hpp"
#include "output/format.hpp"
#include "seed_records.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = fuzz::seeds_dir()) {
    int i = 0;
    for (auto& r : fuzz::seed_records())
      fuzz::write_seed(dir, "record" + std::to_string(i++), r.data(), r.size());
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(event::Record) || size > event::kMaxRecord) return 0;
  // Aligned copy, as the ring reader's buffer is.
  std::vector<uint64_t> buf((size + 7) / 8);
  std::memcpy(buf.data(), data, size);
  auto* r = reinterpret_cast<event::Record*>(buf.data());
  // The writer skips records whose size does not fit what was popped.
  if (r->size > size || r->size < sizeof(event::Record)) r->size = static_cast<uint32_t>(size);
  std::string out;
  for (auto f : {output::Format::json, output::Format::kv, output::Format::csv,
                 output::Format::drakvuf_default}) {
    for (auto style : {output::ArgStyle::raw, output::ArgStyle::rich}) {
      output::FormatOptions o;
      o.format = f;
      o.args = style;
      o.string_limit = 1 + (r->reserved[0] | r->reserved[1] << 8);
      out.clear();
      output::format_event(*r, 0x1234, o, out);
      if (out.empty() || out.back() != '\n' || out.find('\n') != out.size() - 1) __builtin_trap();
    }
  }
  return 0;
}

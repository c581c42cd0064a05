// libFuzzer target: the Windows half of the formatter (output/windows.cpp) over
// arbitrary records: Record.os forced to windows, every other byte from the input
// (number, nargs, argument values, blobs, and the extras: method, PreviousMode,
// FromModule, image path, UTF-16 texts, handle names with any tag, argument and
// length), in every format and style. Seeds: the records the real Windows tracer
// writes for the seed calls on every profile's synthetic guest.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "event/record.hpp"
#include "fuzz_win_guest.hpp"
#include "output/format.hpp"
#include "format_sink.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

namespace {

void write_seeds(const char* dir) {
  auto& cases = fuzz::win_cases();
  int k = 0;
  for (auto& c : cases) {
    auto& s = *c.s;
    c.mem->reset(nullptr, 0, 0);
    std::memcpy(s.cpu.regs, c.regs, sizeof c.regs);
    s.sink.keep = true;
    fuzz::quietly([&] { s.start(); });
    for (const auto& call : fuzz::seed_calls(c)) call.ret ? s.ret(call.values[0], call.pop) : s.call(call.name, call.values);
    s.tracer.reset();
    for (auto& r : s.sink.kept) fuzz::write_seed(dir, "record" + std::to_string(k++), r.data(), r.size());
    s.sink.kept.clear();
    s.sink.keep = false;
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr event::Os kWindows = event::Os::windows;
  return fuzz::format_input(data, size, 7, &kWindows);
}

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
#include "format_sink.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

namespace {
void write_seeds(const char* dir) {
  int i = 0;
  for (auto& r : fuzz::seed_records())
    fuzz::write_seed(dir, "record" + std::to_string(i++), r.data(), r.size());
}
}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::format_input(data, size, 0x1234);
}

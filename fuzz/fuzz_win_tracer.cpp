// libFuzzer target: the Windows syscall tracer end to end through syscalls::Plugin,
// over a hostile guest (fuzz_win_guest.hpp): start-up (kernel location, SSDT read,
// one hook per service), entries with arguments from the input (raw values or
// pointers to the guest's UNICODE_STRINGs, OBJECT_ATTRIBUTES, handles, buffers),
// the capture of the extras (capture.cpp: PreviousMode, FromModule through the trap
// frame and the VAD tree, image path, decoded strings, handle names), returns paired
// per thread and stack pointer, then every record formatted in every layout, raw and
// rich (output/windows.cpp), as the writer would.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_win_guest.hpp"
#include "seed_writer.hpp"
#include "syscalls/plugin/plugin.hpp"

using namespace vmitrace;

namespace {

// One step: op (u8), then for a call its arguments: count (u8), then per argument a
// selector (u8) and a value (u64) as pick_value reads them; for a return the status.
void put_value(std::vector<uint8_t>& s, uint8_t sel, uint64_t v) {
  s.push_back(sel);
  for (int b = 0; b < 8; ++b) s.push_back(static_cast<uint8_t>(v >> (8 * b)));
}

// Per profile: the seed calls (fuzz_win_guest.hpp), as steps.
void write_seeds(const char* dir) {
  auto& cases = fuzz::win_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    std::vector<uint8_t> s = fuzz::seed_header(static_cast<uint8_t>(i));
    s.push_back(0);  // string limit: default
    for (const auto& call : fuzz::seed_calls(c)) {
      if (call.ret) {
        s.push_back(static_cast<uint8_t>((call.pop / c.s->g.ptr) << 2 | 1));
        for (int b = 0; b < 8; ++b) s.push_back(static_cast<uint8_t>(call.values[0] >> (8 * b)));
        continue;
      }
      size_t k = 0;
      for (auto& [idx, n] : c.services) {
        if (n == call.name) break;
        ++k;
      }
      s.push_back(static_cast<uint8_t>(k << 2));
      s.push_back(static_cast<uint8_t>(call.values.size()));
      for (uint64_t a : call.values) put_value(s, 0, a);
    }
    fuzz::write_seed(dir, "calls" + std::to_string(i), s.data(), s.size());
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds, fuzz::setup_win_cases)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in{data, size};
  fuzz::WinCase& c = fuzz::begin_input(in, data, size);
  auto& s = *c.s;
  const uint8_t slimit = in.u8();
  syscalls::PluginConfig cfg;
  cfg.string_limit = slimit ? slimit * 8u : 256u;
  cfg.disable_sysret = slimit == 0xff;
  s.plugin.reset();
  s.sink.n = 0;
  s.fatal.clear();
  fuzz::quietly([&] { s.start(cfg); });
  if (!s.plugin->tracing()) return 0;
  std::vector<std::string> names;
  for (auto& [i, n] : c.services) names.push_back(n);
  for (int steps = 0; steps < 32 && in.n >= 2; ++steps) {
    const uint8_t op = in.u8();
    // Another thread (a different KTHREAD and kernel stack) now and then.
    const uint64_t thread = (op & 2) ? c.anchors[in.u8() % c.anchors.size()] : 0;
    if (op & 1) {
      s.ret(in.u64(), (op >> 2) * s.g.ptr, thread);
    } else {
      std::vector<uint64_t> args(in.u8() % 18);
      for (auto& a : args) a = fuzz::pick_value(in, c);
      s.call(names[(op >> 2) % names.size()], args, thread);
    }
  }
  const auto st = s.plugin->stats();
  if (st.syscalls + st.sysrets != s.sink.n) __builtin_trap();
  s.plugin.reset();  // removes its hooks
  return 0;
}

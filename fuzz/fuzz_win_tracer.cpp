// libFuzzer target: the Windows syscall tracer end to end through syscalls::make_tracer,
// over a hostile guest (fuzz_win_guest.hpp): start-up (kernel location, SSDT read,
// one hook per service), entries with arguments from the input (raw values or
// pointers to the guest's UNICODE_STRINGs, OBJECT_ATTRIBUTES, handles, buffers),
// the capture of the extras (capture.cpp: PreviousMode, FromModule through the trap
// frame and the VAD tree, image path, decoded strings, handle names), returns paired
// per thread and stack pointer, then every record formatted in every layout, raw and
// rich (output/windows.cpp), as the writer would. A mode bit of the input adds a
// win32k profile (-W): the shadow table's second descriptor, the win32k module's PDB
// check (another bit: a profile of another build) and calls of its services.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_win_guest.hpp"
#include "seed_writer.hpp"
#include "syscalls/tracer.hpp"

using namespace vmitrace;

namespace {

// After the guest header: string limit (u8), mode (u8: bit 0 with a win32k profile,
// bit 1 that profile of another build), then steps. One step: op (u8), then for a
// call its arguments: count (u8), then per argument a selector (u8) and a value (u64)
// as pick_value reads them; for a return the status.
void put_value(std::vector<uint8_t>& s, uint8_t sel, uint64_t v) {
  s.push_back(sel);
  for (int b = 0; b < 8; ++b) s.push_back(static_cast<uint8_t>(v >> (8 * b)));
}

// A return popping `slots` stack slots (x86 stdcall) with `status`.
void put_ret(std::vector<uint8_t>& s, uint32_t slots, uint64_t status) {
  s.push_back(static_cast<uint8_t>(slots << 2 | 1));
  for (int b = 0; b < 8; ++b) s.push_back(static_cast<uint8_t>(status >> (8 * b)));
}

// The routines calls pick from: nt's, then (with a win32k profile) win32k's.
std::vector<std::pair<std::string, uint64_t>> routines(const fuzz::WinCase& c, bool w32) {
  std::vector<std::pair<std::string, uint64_t>> r;
  for (auto& [i, n] : c.services) r.emplace_back(n, c.s->g.runtime(n));
  if (w32) r.insert(r.end(), c.w32_routines.begin(), c.w32_routines.end());
  return r;
}

void put_call(std::vector<uint8_t>& s, const std::vector<std::pair<std::string, uint64_t>>& r,
              const std::string& name, const std::vector<uint64_t>& args) {
  size_t k = 0;
  while (k < r.size() && r[k].first != name) ++k;
  s.push_back(static_cast<uint8_t>(k << 2));
  s.push_back(static_cast<uint8_t>(args.size()));
  for (uint64_t a : args) put_value(s, 0, a);
}

// Per profile: the seed calls (fuzz_win_guest.hpp), as steps; then the same with the
// win32k profile and win32k calls (a message loop, a desktop opened by
// the seed's OBJECT_ATTRIBUTES, a window found by its UNICODE_STRING, a blit, a D3DKMT
// thunk), and with a win32k profile of another build.
void write_seeds(const char* dir) {
  auto& cases = fuzz::win_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    const auto& a = c.s->g.a;
    for (uint8_t mode : {0, 1, 3}) {
      if (mode && c.w32_routines.empty()) continue;
      const auto r = routines(c, mode & 1);
      std::vector<uint8_t> s = fuzz::seed_header(static_cast<uint8_t>(i));
      s.push_back(0);  // string limit: default
      s.push_back(mode);
      for (const auto& call : fuzz::seed_calls(c)) {
        if (call.ret) {
          put_ret(s, call.pop / c.s->g.ptr, call.values[0]);
          continue;
        }
        put_call(s, r, call.name, call.values);
      }
      if (mode & 1) {
        const uint64_t oa = a.ubuf + 0x100, us = a.ubuf + 0x140;
        put_call(s, r, "NtUserGetMessage", {a.ubuf + 0x400, 0, 0, 0});
        put_ret(s, c.s->g.ptr == 4 ? 4 : 0, 1);  // a message: TRUE (x86: ret 16)
        put_call(s, r, "NtUserOpenDesktop", {oa, 0, 0x100});
        put_call(s, r, "NtUserFindWindowEx", {0, 0, us, us, 0});
        put_call(s, r, "NtGdiBitBlt", {0x1001, 0, 0, 640, 480, 0x1002, 0, 0, 0xcc0020, 0, 0});
        put_call(s, r, "NtGdiDdDDICreateContext", {a.ubuf + 0x500});
        put_call(s, r, "NtUserBuildHwndList", {0, 0, 1, 0, 0, 64, a.ubuf + 0x600, a.ubuf + 0x700});
      }
      fuzz::write_seed(dir, "calls" + std::to_string(i) + (mode ? "-w32k" + std::to_string(mode) : ""), s.data(),
                       s.size());
    }
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds, fuzz::setup_win_cases)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in{data, size};
  fuzz::WinCase& c = fuzz::begin_input(in, data, size);
  auto& s = *c.s;
  const uint8_t slimit = in.u8();
  syscalls::TracerConfig cfg;
  cfg.string_limit = slimit ? slimit * 8u : 256u;
  cfg.disable_sysret = slimit == 0xff;
  const uint8_t mode = in.u8();
  const bool w32 = (mode & 1) && !c.w32_routines.empty();
  if (w32) cfg.win32k_profile = fuzz::win32k_profile_path(s.g.ptr, mode & 2);
  s.tracer.reset();
  s.sink.n = 0;
  s.fatal.clear();
  fuzz::quietly([&] { s.start(cfg); });
  if (!s.tracer->tracing()) return 0;
  const auto r = routines(c, w32);
  for (int steps = 0; steps < 32 && in.n >= 2; ++steps) {
    const uint8_t op = in.u8();
    // Another thread (a different KTHREAD and kernel stack) now and then.
    const uint64_t thread = (op & 2) ? c.anchors[in.u8() % c.anchors.size()] : 0;
    if (op & 1) {
      s.ret(in.u64(), (op >> 2) * s.g.ptr, thread);
    } else {
      std::vector<uint64_t> args(in.u8() % 18);
      for (auto& a : args) a = fuzz::pick_value(in, c);
      s.call_at(r[(op >> 2) % r.size()].second, args, thread);
    }
  }
  const auto st = s.tracer->stats();
  if (st.syscalls + st.sysrets != s.sink.n) __builtin_trap();
  s.tracer.reset();  // removes its hooks
  return 0;
}

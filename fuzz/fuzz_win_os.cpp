// libFuzzer target: the Windows OS layer over hostile guest memory (fuzz_win_guest.hpp):
// locating ntoskrnl (KPCR -> IDT -> PE header -> RSDS), the File type scan, the
// service tables (nt, and the shadow descriptor as win32k's would be read), the
// current thread and its process context (EPROCESS, token, SID, session), the image
// path, the trap frame, then names: UNICODE_STRINGs, handles through the handle table
// (object headers, cookies, name info, directories, FILE_OBJECTs), objects, modules
// (VAD tree walk, loaded-module list) at values the input picks.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_win_guest.hpp"
#include "os/windows/kernel.hpp"
#include "os/windows/pe.hpp"
#include "os/windows/ssdt.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

namespace {

// Per profile: the guest as built, then the same calls at the guest's own thread,
// handles and module addresses (op, selector, value).
void write_seeds(const char* dir) {
  auto& cases = fuzz::win_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& a = cases[i].s->g.a;
    std::vector<uint8_t> s = fuzz::seed_header(static_cast<uint8_t>(i));
    auto op = [&](uint8_t o, uint64_t v) {
      s.push_back(o);
      s.push_back(0);
      for (int b = 0; b < 8; ++b) s.push_back(static_cast<uint8_t>(v >> (8 * b)));
    };
    op(1, testing::WinGuest::kFileHandle);
    op(1, testing::WinGuest::kEventHandle);
    op(2, a.ntdll + 0x9d9e4);
    op(2, a.kernelbase + 0x5a3c);
    op(2, a.kbase + 0x1000);
    op(0, a.image_oni);
    op(4, a.thread);
    fuzz::write_seed(dir, "guest" + std::to_string(i), s.data(), s.size());
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds, fuzz::setup_win_cases)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InputReader in{data, size};
  fuzz::WinCase& c = fuzz::begin_input(in, data, size);
  auto& cpu = c.s->cpu;
  oswin::WindowsKernel k(c.s->prof, "fuzz");
  std::string err;
  if (k.locate(cpu, &err) != oswin::WindowsKernel::Locate::found) {
    if (in.u8() & 1) return 0;
    k.set_base(c.s->g.a.kbase, c.s->g.a.kimage_size);  // go on as if it had been found
  }
  k.find_file_type(cpu);
  static const oswin::RoutineNames names(c.s->prof);  // names of the first profile will do
  const unsigned ptr = k.pointer_size();
  for (uint64_t desc : {k.runtime(k.layout().rva_service_table), k.runtime(k.layout().rva_service_table) + 4 * ptr}) {
    oswin::ServiceTable t;
    oswin::read_service_table(cpu, ptr, desc, k.base(), k.image_size(), names, "nt", t, &err);
  }
  const uint64_t thread = k.current_thread(cpu);
  oswin::WinContext ctx;
  k.read_context(cpu, thread, ctx);
  oswin::WideText text;
  k.image_path(cpu, ctx, text);
  uint64_t ip = 0, sp = 0;
  k.trap_frame(cpu, ctx, ip, sp);
  for (int steps = 0; steps < 12 && in.n >= 10; ++steps) {
    const uint8_t op = in.u8();
    const uint64_t v = fuzz::pick_value(in, c);
    text.clear();
    switch (op % 6) {
      case 0: k.read_unicode_string(cpu, v, text); break;
      case 1: k.handle_name(cpu, ctx.process, v, text); break;
      case 2: k.module_of(cpu, ctx.process, v, text); break;
      case 3: k.object_name(cpu, v, text); break;
      case 4: {
        oswin::WinContext other;
        k.read_context(cpu, v, other);
        k.image_path(cpu, other, text);
        break;
      }
      default: {
        oswin::PeIdentity id;
        oswin::read_pe_identity(cpu, v, id);
        break;
      }
    }
    if (text.len > oswin::WideText::kCap) __builtin_trap();
  }
  return 0;
}

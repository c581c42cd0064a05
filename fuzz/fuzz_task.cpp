// libFuzzer target: the Linux OS layer over hostile guest memory: KASLR detection,
// the current task from the per-CPU area, and the process context (task_struct,
// real_parent, group_leader, cred, comm) read through arbitrary pointers.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_guest.hpp"
#include "os/linux/kernel.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;
using testing::Synth;

namespace {

// A task whose pointers all lead back into the input: header (hole density, gs
// base, a task pointer), then bytes placed so that, with the wrap-around, the
// per-CPU current_task, the task_struct, its parent/leader and cred are found.
void write_seeds(const char* dir) {
  const size_t size = 1 + 16 + 0x1000;
  std::vector<uint8_t> s(size);
  const uint64_t base = 0xffff888000000000ull;
  auto va_of = [&](uint64_t off) { return base - base % size + 17 + off; };  // va -> byte 17+off
  auto put32 = [&](uint64_t off, uint32_t v) { std::memcpy(&s[17 + off], &v, 4); };
  auto put64 = [&](uint64_t off, uint64_t v) { std::memcpy(&s[17 + off], &v, 8); };
  const uint64_t task = va_of(0x400);
  const uint64_t gs = va_of(0x10) - Synth::kPcpuHot - Synth::kCurrentOff;
  std::memcpy(&s[1], &gs, 8);
  std::memcpy(&s[9], &task, 8);
  put64(0x10, task);
  put32(0x400 + Synth::kPid, 42);
  put32(0x400 + Synth::kTgid, 41);
  put64(0x400 + Synth::kRealParent, task);
  put64(0x400 + Synth::kGroupLeader, task);
  put64(0x400 + Synth::kCred, va_of(0x100));
  put32(0x100 + Synth::kUid, 1000);
  std::memcpy(&s[17 + 0x400 + Synth::kComm], "lab64", 5);
  fuzz::write_seed(dir, "task", s.data(), s.size());
  s[0] = 40;  // many holes
  fuzz::write_seed(dir, "task-holes", s.data(), s.size());
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const profile::Profile prof = testing::synthetic_profile();
  static const testing::FakeMemory overlay = [] {
    testing::FakeMemory m;
    m.write_str(Synth::kBanner, Synth::kBannerText);
    return m;
  }();
  fuzz::InputReader in{data, size};
  const uint8_t holes = in.u8();
  const uint64_t gs = in.u64(), task_hint = in.u64();
  fuzz::FuzzVcpu cpu(overlay, data, size, holes);
  cpu.reg(vmi::Reg::gs_base) = gs;
  oslinux::LinuxKernel k(prof, "fuzz");
  std::string err;
  k.locate(cpu, &err);  // the overlay's banner at slide 0, unless the input shadows it
  if (!k.located()) k.set_slide(0);
  const uint64_t task = k.current_task(cpu);
  for (uint64_t t : {task, task_hint}) {
    oslinux::ProcessContext ctx;
    k.read_context(cpu, t, ctx);
    uint64_t v = 0;
    k.read_pointer(cpu, t, v);
  }
  return 0;
}

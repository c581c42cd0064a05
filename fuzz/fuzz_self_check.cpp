// libFuzzer target: the Linux start-up self-check (LinuxKernel::self_check) over
// hostile guest memory: the hooked functions' code, init_task, the per-CPU current
// task, its parent, leader and cred, and the task-list walk, all read from the input
// (wrapping, with holes), so that every pointer leads back into fuzzer-controlled
// bytes. Checks the verdict's promises: a failure is one line naming the profile,
// the walk stays within its bound, and the reads are bounded.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_guest.hpp"
#include "os/linux/kernel.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;
using testing::SelfCheckSyms;
using testing::Synth;

namespace {

constexpr uint64_t kX64 = 0xffffffff81001000ull, kExit = 0xffffffff81003000ull;
constexpr size_t kSeedSize = 0x8000;  // a byte at va is input[va % size]
constexpr uint64_t kSlot = 0xffff888000000100ull;  // the per-CPU current-task slot
constexpr uint64_t kProc = 0xffff888000004000ull, kCred = 0xffff888000006000ull;

// A healthy guest laid out in one input: header (holes, GS base), then each object at
// the input offset its address maps to. init_task -> [init_task, proc] list.
void write_seeds(const char* dir) {
  std::vector<uint8_t> s(kSeedSize);
  auto at = [&](uint64_t va) { return &s[va % kSeedSize]; };
  auto put32 = [&](uint64_t va, uint32_t v) { std::memcpy(at(va), &v, 4); };
  auto put64 = [&](uint64_t va, uint64_t v) { std::memcpy(at(va), &v, 8); };
  auto task = [&](uint64_t t, int32_t pid, const char* comm, uint64_t parent, uint64_t leader) {
    put32(t + Synth::kPid, static_cast<uint32_t>(pid));
    put32(t + Synth::kTgid, static_cast<uint32_t>(pid));
    std::memcpy(at(t + Synth::kComm), comm, std::strlen(comm) + 1);
    put64(t + Synth::kRealParent, parent);
    put64(t + Synth::kGroupLeader, leader);
    put64(t + Synth::kCred, kCred);
  };
  s[0] = 0;  // no holes
  const uint64_t gs = kSlot - Synth::kPcpuHot - Synth::kCurrentOff;
  std::memcpy(&s[1], &gs, 8);
  for (uint64_t code : {kX64, kExit}) std::memset(at(code), 0x90, 16);
  const uint64_t init = SelfCheckSyms::kInitTask;
  task(init, 0, "swapper/0", init, init);
  task(kProc, 42, "lab64", init, kProc);
  put32(kCred + Synth::kUid, 0);
  put64(init + SelfCheckSyms::kTasks, kProc + SelfCheckSyms::kTasks);
  put64(init + SelfCheckSyms::kTasks + 8, kProc + SelfCheckSyms::kTasks);
  put64(kProc + SelfCheckSyms::kTasks, init + SelfCheckSyms::kTasks);
  put64(kProc + SelfCheckSyms::kTasks + 8, init + SelfCheckSyms::kTasks);
  put64(kSlot, kProc);
  fuzz::write_seed(dir, "healthy-process", s.data(), s.size());
  put64(kSlot, init);  // the idle task runs: the walk goes round from init_task
  fuzz::write_seed(dir, "healthy-idle", s.data(), s.size());
  put64(kProc + SelfCheckSyms::kTasks, kProc + SelfCheckSyms::kTasks);  // a loop past init_task
  put64(kProc + SelfCheckSyms::kTasks + 8, kProc + SelfCheckSyms::kTasks);
  fuzz::write_seed(dir, "task-list-loop", s.data(), s.size());
  s[0] = 30;  // holes
  fuzz::write_seed(dir, "holes", s.data(), s.size());
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const profile::Profile prof = testing::self_check_profile();
  static const testing::FakeMemory none;
  static const oslinux::CodeSite sites[] = {{"x64_sys_call", kX64}, {"syscall_exit_to_user_mode", kExit}};
  fuzz::InputReader in{data, size};
  const uint8_t holes = in.u8();
  const uint64_t gs = in.u64();
  fuzz::FuzzVcpu cpu(none, data, size, holes);
  cpu.reg(vmi::Reg::gs_base) = gs;
  oslinux::LinuxKernel k(prof, "fuzz.json");
  k.set_slide(0);
  const oslinux::SelfCheck c = k.self_check(cpu, sites);
  // Every verdict is one line naming the profile.
  if (c.message.rfind("fuzz.json: ", 0) != 0 || c.message.find('\n') != std::string::npos) __builtin_trap();
  // Bounded: the code, init_task and its cred, the current task, its parent, leader
  // and cred, then one read per list node (the node's window may need a few more
  // when cut by holes).
  if (c.tasks_walked > oslinux::kMaxTaskWalk + 1) __builtin_trap();
  if (c.reads > 64 + 8ull * (oslinux::kMaxTaskWalk + 2)) __builtin_trap();
  if (c.verdict == oslinux::SelfCheck::Verdict::fail && c.message.find(" does not fit the running kernel (") == std::string::npos)
    __builtin_trap();
  return 0;
}

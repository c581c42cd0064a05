// libFuzzer target: the PE identity reader (os/windows/pe.cpp: MZ/PE headers, the
// optional header, the debug directory, the CodeView RSDS record) over an image
// made of the input's bytes, wrapping around (so any RVA lands in fuzzer data),
// optionally with holes. Seeds: the kernel image heads of the synthetic guests,
// carrying each profile's real PDB GUID and age.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_win_guest.hpp"
#include "os/windows/pe.hpp"
#include "seed_writer.hpp"

using namespace vmitrace;

namespace {

constexpr uint64_t kBase = 0xfffff80312400000ull;

void write_seeds(const char* dir) {
  auto& cases = fuzz::win_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    c.mem->reset(nullptr, 0, 0);
    std::vector<uint8_t> img(0x2200);
    c.s->cpu.read_virt(c.s->g.a.kbase, img.data(), img.size());
    fuzz::write_seed(dir, "image" + std::to_string(i), img.data(), img.size());
  }
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const testing::FakeMemory none;
  if (size == 0) return 0;
  // Byte 0 of the input at kBase; holes from the last byte (rarely: most inputs
  // should reach the CodeView record).
  const uint8_t holes = (data[size - 1] & 0xf0) == 0xf0 ? data[size - 1] & 15 : 0;
  fuzz::FuzzVcpu cpu(none, data, size, holes);
  const uint64_t base = kBase - kBase % size;
  oswin::PeIdentity id;
  if (oswin::read_pe_identity(cpu, base, id) && !id.pdb_guid.empty() && id.pdb_guid.size() != 32) __builtin_trap();
  return 0;
}

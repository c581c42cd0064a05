// libFuzzer target: the memory route over hostile guest memory. The input's first
// byte picks the kernel (bit 0: i386, else bit 1: arm64, else x86-64), the rest is the memory mapped
// where that kernel's image starts; profile_from_memory then locates the image,
// finds kallsyms by their shape, reads linux_banner, .BTF and vmcoreinfo through the
// pointers it finds there. Also the BTF-header finder and the vmcoreinfo parser on
// the raw bytes; and oslinux::ProfileProbe as the QEMU module runs it (waiting for
// vmcoreinfo, a cache directory that does not exist), the build-id note walker and
// arm64's KASLR offset from a relocation table.
// Seeds: the synthetic kernels of tests/profile/synthetic_kernel.hpp.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "os/linux/profile_probe.hpp"
#include "profile/arm64_relocations.hpp"
#include "profile/elf.hpp"
#include "profile/guest_btf.hpp"
#include "profile/memory_profile.hpp"
#include "seed_writer.hpp"
#include "sparse_memory.hpp"
#include "synthetic_kernel.hpp"

using vmitrace::test::SyntheticKernel;

namespace {

// A kernel-mode vCPU over the input's memory (paging on).
class FuzzVcpu : public vmitrace::vmi::Vcpu {
 public:
  FuzzVcpu(const vmitrace::test::SparseMemory& m, unsigned ptr, uint64_t ip) : m_(m), ptr_(ptr), ip_(ip) {}
  unsigned index() const override { return 0; }
  bool read_reg(vmitrace::vmi::Reg r, uint64_t& out) override {
    out = r == vmitrace::vmi::Reg::cr0 ? 0x80000001u : r == vmitrace::vmi::Reg::rip ? ip_ : 0;
    return true;
  }
  size_t read_virt(uint64_t va, void* buf, size_t len) override { return m_.read(va, buf, len); }
  uint64_t timestamp_ns() override { return 0; }
  unsigned pointer_size() const override { return ptr_; }

 private:
  const vmitrace::test::SparseMemory& m_;
  unsigned ptr_;
  uint64_t ip_;
};

constexpr uint64_t kArm64Base = 0xffff8000c0e70000ull;  // a running _text (64 KiB-aligned)
constexpr uint64_t kArm64Link = 0xffff800080000000ull;  // its link-time address

void write_seeds(const char* dir) {
  for (unsigned ptr : {8u, 4u}) {
    std::vector<uint8_t> in{uint8_t(ptr == 4 ? 1 : 0)};
    std::vector<uint8_t> img = vmitrace::test::synthetic_kernel(ptr);
    in.insert(in.end(), img.begin(), img.end());
    vmitrace::fuzz::write_seed(dir, ptr == 8 ? "synthetic64" : "synthetic32", in.data(), in.size());
    // The same without its BTF header: the no-BTF path.
    in[1 + 0x400] = 0;
    vmitrace::fuzz::write_seed(dir, ptr == 8 ? "synthetic64-nobtf" : "synthetic32-nobtf", in.data(), in.size());
  }
  // arm64: an Image header and a relocation table whose targets hold the relocated
  // values (KASLR offset kArm64Base - link _text).
  std::vector<uint8_t> in(1 + 0x3000, 0);
  in[0] = 2;
  std::memcpy(&in[1 + 0x38], "ARM\x64", 4);
  for (uint64_t i = 0; i < 80; ++i) {
    const uint64_t entry[3] = {kArm64Link + 0x1000 + 8 * i, 1027, kArm64Link + 16 * i};
    std::memcpy(&in[1 + 0x2000 + 24 * i], entry, sizeof entry);
    const uint64_t relocated = entry[2] + (kArm64Base - kArm64Link);
    std::memcpy(&in[1 + 0x1000 + 8 * i], &relocated, 8);
  }
  vmitrace::fuzz::write_seed(dir, "arm64-relocations", in.data(), in.size());
}

}  // namespace

VMITRACE_FUZZ_SEEDS_BY(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool i386 = data[0] & 1, arm64 = !i386 && (data[0] & 2);
  const uint64_t base = i386 ? SyntheticKernel::kBase32 : arm64 ? kArm64Base : SyntheticKernel::kBase64;
  const uint64_t ip = base + 8;
  vmitrace::test::SparseMemory m;
  m.write(base, data + 1, size - 1);
  try {
    vmitrace::profile::GuestMemory g = m.guest(i386 ? 4 : 8, ip);
    g.arm64 = arm64;
    (void)vmitrace::profile::profile_from_memory(g, "fuzz-vm");
  } catch (const vmitrace::Error&) {
  }
  // The QEMU module's way: never throws; waits (retry) or settles.
  FuzzVcpu cpu(m, i386 ? 4 : 8, ip);
  vmitrace::oslinux::ProfileProbe probe({"fuzz-vm", true, "/nonexistent/vmitrace-fuzz-cache", "", arm64});
  for (int i = 0; i < 3 && probe.offer(cpu) == vmitrace::oslinux::ProfileProbe::Step::retry; ++i) {
  }
  (void)vmitrace::profile::gnu_build_id(data, size);
  (void)vmitrace::profile::vmcoreinfo_hex(std::string_view(reinterpret_cast<const char*>(data), size), "SYMBOL(_stext)");
  (void)vmitrace::profile::find_btf_blob(data, size);
  // The memory as mapped at kArm64Base (the seed's table is 8-byte aligned there).
  (void)vmitrace::profile::kaslr_offset_from_relocations(
      data + 1, size - 1, kArm64Base, vmitrace::profile::longest_relative_run(data + 1, size - 1));

  (void)vmitrace::profile::vmcoreinfo_hex(std::string_view(reinterpret_cast<const char*>(data), size), "KERNELOFFSET");
  return 0;
}

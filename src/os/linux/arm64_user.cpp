#include "os/linux/arm64_user.hpp"

#include <atomic>
#include <cstdio>
#include <string>

#include "vmi/arm64_paging.hpp"

namespace vmitrace::oslinux {
namespace {

// TTBR's table address: bits 47..6 (a top table is at least 64 bytes and aligned to its
// size, a page with 4 KiB granules, possibly less with 16/64 KiB ones); bit 0 is CnP.
constexpr uint64_t kBaddr = 0x0000ffffffffffc0ull;

// One walker per vCPU thread (its cache is dropped at every hook call: the guest ran
// in between); physical reads go through the linear map of the current call.
struct Linear {
  vmi::Vcpu* cpu = nullptr;
  uint64_t offset = 0;  // linear-map address - physical address
};
thread_local Linear t_linear;

vmi::Arm64PageWalker& walker() {
  static thread_local vmi::Arm64PageWalker w(
      [](uint64_t pa, void* buf, size_t len) -> size_t {
        const Linear& l = t_linear;
        return l.cpu ? l.cpu->read_virt(pa + l.offset, buf, len) : 0;
      },
      64);
  return w;
}

}  // namespace

size_t Arm64UserVcpu::read_virt(uint64_t va, void* buf, size_t len) {
  if ((va >> 55) & 1) return inner_.read_virt(va, buf, len);  // kernel half: no PAN
  if (!pan_read_) {
    pan_read_ = true;
    uint64_t pstate = 0;
    pan_ = inner_.read_reg(vmi::Reg::pstate, pstate) && (pstate & kPstatePan);
  }
  return pan_ ? read_user(va, buf, len) : inner_.read_virt(va, buf, len);
}

size_t Arm64UserVcpu::read_user(uint64_t va, void* buf, size_t len) {
  if (!regs_read_) {
    regs_read_ = true;
    regs_ok_ = inner_.read_reg(vmi::Reg::ttbr0_el1, ttbr0_) && inner_.read_reg(vmi::Reg::tcr_el1, tcr_) &&
               kernel_.arm64_linear_offset(inner_, ttbr0_ & kBaddr, linear_);
    if (regs_ok_) {
      // 52-bit addresses: the walker refuses them; say so once.
      const std::string why = vmi::arm64_paging_unsupported({ttbr0_, 0, tcr_}, vmi::Arm64Half::lower);
      static std::atomic<bool> told{false};
      if (!why.empty() && !told.exchange(true))
        std::fprintf(stderr, "vmitrace: warning: %s: %s; user memory (strings, buffers) is not read\n",
                     kernel_.what().c_str(), why.c_str());
      regs_ok_ = why.empty();
    }
    walker().invalidate();
  }
  if (!regs_ok_) return 0;
  t_linear = {&inner_, linear_};
  const size_t n = walker().read_virt({ttbr0_, 0, tcr_}, va, buf, len);
  t_linear = {};
  return n;
}

}  // namespace vmitrace::oslinux

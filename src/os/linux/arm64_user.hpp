// User memory of an arm64 guest while PSTATE.PAN is set. Linux runs its kernel with
// PAN on (Privileged Access Never: the kernel touches user memory only through the
// unprivileged LDTR/STTR), and QEMU's debug reads, which the plugin API uses, honour
// it: a read of a user address from a kernel-mode hook fails. So the vCPU is wrapped:
// a read in TTBR0's half, with PAN set, walks the task's own translation tables
// (TTBR0_EL1, TCR_EL1; vmi/arm64_paging) and reads the tables and the data through the
// kernel's linear map, where every page of RAM is also mapped (kernel addresses, which
// PAN does not restrict). The linear map's offset is learnt from the running task:
// task->mm->pgd (a linear-map address) against TTBR0_EL1 (the same table's physical
// address). Everything else is passed through unchanged.
#pragma once
#include <cstddef>
#include <cstdint>

#include "os/linux/kernel.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::oslinux {

inline constexpr uint64_t kPstatePan = 1ull << 22;  // PSTATE.PAN in the cpsr register

class Arm64UserVcpu final : public vmi::Vcpu {
 public:
  // One per hook call (on the vCPU thread). PSTATE is read at the first read of a user
  // address, not before: most hook calls read kernel memory only.
  Arm64UserVcpu(vmi::Vcpu& inner, const LinuxKernel& kernel) : inner_(inner), kernel_(kernel) {}
  unsigned index() const override { return inner_.index(); }
  bool read_reg(vmi::Reg r, uint64_t& out) override { return inner_.read_reg(r, out); }
  size_t read_virt(uint64_t va, void* buf, size_t len) override;
  uint64_t timestamp_ns() override { return inner_.timestamp_ns(); }
  unsigned pointer_size() const override { return inner_.pointer_size(); }

 private:
  size_t read_user(uint64_t va, void* buf, size_t len);

  vmi::Vcpu& inner_;
  const LinuxKernel& kernel_;
  bool pan_read_ = false, pan_ = false;
  bool regs_read_ = false, regs_ok_ = false;
  uint64_t ttbr0_ = 0, tcr_ = 0, linear_ = 0;
};

}  // namespace vmitrace::oslinux

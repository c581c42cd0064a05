// The arm64-specific part of the Linux OS layer (arm64.cpp): pt_regs from the
// profile's types, and the KASLR slides worth trying. Internal to os/linux.
#pragma once
#include <string>

#include "os/linux/kernel.hpp"

namespace vmitrace::oslinux {

// struct pt_regs of an arm64 kernel: regs[31], sp, pc, pstate, orig_x0, syscallno, as
// the profile (BTF) places them; ax is regs[0] (x0, the return value), orig_ax the
// syscallno, arg/compat_arg regs[0..5]. Throws Error("WHAT: ...") when the profile
// lacks pt_regs or one of those fields: nothing can be traced without them.
PtRegsLayout arm64_pt_regs(const profile::Profile& p, const std::string& what);

}  // namespace vmitrace::oslinux

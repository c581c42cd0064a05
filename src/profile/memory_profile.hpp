// The memory route: a Linux profile built from the running kernel alone, through
// any reader of guest-virtual memory (the gdbstub, a guest-RAM file, a test's fake).
//   1. the kernel image: GuestImage (mapped extent of the kernel-text window);
//   2. symbols: the kallsyms tables, found by their shape as in a vmlinuz, over the
//      copy (its alignment is the one of virtual addresses: delta = base VA);
//   3. linux_banner, __start_BTF/__stop_BTF and vmcoreinfo_data from those symbols;
//      the .BTF section is read and its header checked, libbpf reads the rest;
//   4. the KASLR offset from vmcoreinfo ("KERNELOFFSET=<hex>", CONFIG_CRASH_CORE),
//      which turns the running addresses back into link-time ones: the ISF holds
//      what the file route writes for the same kernel;
//   5. assemble_linux_profile, the file route's own assembly step.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "profile/guest_image.hpp"
#include "profile/profile.hpp"

namespace vmitrace::profile {

// Nothing mapped where the kernel must be: try again from another vCPU state
// (a vCPU on KPTI's user page tables), or give up: not a Linux guest.
class KernelNotMapped : public Error {
 public:
  using Error::Error;
};

struct MemoryProfileInfo {
  std::string release;          // "6.1.0-28-amd64", from the banner
  uint64_t image_base = 0;      // running VA of the image copy
  uint64_t kaslr_offset = 0;
  uint64_t bytes_read = 0;      // guest bytes read in all
};

// Throws KernelNotMapped (retry), or Error("WHAT: problem") in one line naming what
// is missing (no kallsyms, no BTF, no KASLR offset) and the route that works.
Profile profile_from_memory(const GuestMemory& mem, const std::string& what, MemoryProfileInfo* info = nullptr);

// KERNELOFFSET of a vmcoreinfo note text ("KEY=VALUE\n" lines); nullopt when absent
// or not hexadecimal.
std::optional<uint64_t> vmcoreinfo_kernel_offset(std::string_view text);

}  // namespace vmitrace::profile

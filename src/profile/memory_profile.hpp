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
// arm64 (GuestMemory::arm64): the image is found below the vCPU's pc; the KASLR offset
// comes first from the kernel's relocation table (arm64_relocations.hpp), in memory
// from the first instruction until init memory is freed, so a booting kernel needs no
// wait; vmcoreinfo is the fallback. Kernels without CONFIG_KALLSYMS_ALL (bookworm's
// 6.1 arm64) get linux_banner, _text and .BTF from the image's contents, as the file
// route does with their Image.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "profile/guest_image.hpp"
#include "profile/kernel_image.hpp"
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

// Steps 1-3: the kernel as it runs (addresses slid), everything but the KASLR offset.
// All of it is in memory from the kernel's first instruction in the kernel-text
// window on (the decompressor wrote the whole image).
struct RunningKernel {
  std::vector<KernelSymbol> symbols;  // running addresses
  std::string banner;                 // linux_banner as the guest has it
  std::string release;                // printable, at most 64 bytes
  std::string build_id;               // NT_GNU_BUILD_ID from __start_notes.., hex; "" if none
  std::vector<uint8_t> btf;           // the .BTF section, header checked
  bool is64 = true;
  uint64_t image_base = 0, bytes_read = 0;
  uint64_t text = 0;                  // running _text (the image base without it)
  uint64_t vmcoreinfo_data = 0;       // running address of the symbol; 0: none
  uint64_t stext = 0;                 // running _stext; 0: none
  bool arm64 = false;
  std::optional<uint64_t> kaslr_offset;  // known without vmcoreinfo (arm64's relocations)

  // Names this kernel build (banner and build id): the key of its cached profile.
  std::string identity() const;
};

// Throws KernelNotMapped (retry), or Error("WHAT: problem") in one line naming what
// is missing (no kallsyms, no BTF, no data symbols) and the route that works.
RunningKernel read_running_kernel(const GuestMemory& mem, const std::string& what);

// Step 4: the KASLR offset the kernel wrote in vmcoreinfo. nullopt while vmcoreinfo is
// not set up yet (an early initcall does it; a vmcoreinfo whose SYMBOL(_stext) is not
// the running _stext is a previous boot's, left in memory: not yet either). Throws
// Error when the kernel cannot tell (no CONFIG_CRASH_CORE, i386, an offset that does
// not fit _text). The kernel sets the pointer before it writes the note's lines
// (KERNELOFFSET among the last): with `incomplete`, a note without KERNELOFFSET sets
// *incomplete and gives nullopt instead of the error (the caller bounds the wait).
std::optional<uint64_t> running_kaslr_offset(const GuestMemory& mem, const RunningKernel& k, const std::string& what,
                                             bool* incomplete = nullptr);

// Step 5: link-time addresses, then the file route's assembly.
Profile assemble_memory_profile(RunningKernel k, uint64_t kaslr_offset, const std::string& what,
                                MemoryProfileInfo* info = nullptr);

// What the memory route says when the KASLR offset is not there yet (a kernel still
// booting): one line.
Error vmcoreinfo_not_set_up(const std::string& what, const RunningKernel& k);

// The three steps; vmcoreinfo not set up yet is an Error too (try again later).
// Throws KernelNotMapped (retry), or Error("WHAT: problem") in one line.
Profile profile_from_memory(const GuestMemory& mem, const std::string& what, MemoryProfileInfo* info = nullptr);

// The hexadecimal value of KEY in a vmcoreinfo note text ("KEY=VALUE\n" lines, e.g.
// KERNELOFFSET, SYMBOL(_stext)); nullopt when absent or not hexadecimal.
std::optional<uint64_t> vmcoreinfo_hex(std::string_view text, std::string_view key);

}  // namespace vmitrace::profile

// The contract between backends (how guest state is reached) and everything above
// them (OS layers, the syscalls plugin). Nothing above src/backends/ includes a
// backend header: they only see these interfaces.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace vmitrace::vmi {

// Registers the OS layers and plugins need. Backends map them to what they have.
// The instruction and stack pointers are one slot each on every architecture
// (arm64: pc = rip, sp = rsp, the current SP: SP_EL1 in the kernel).
enum class Reg : uint8_t {
  rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp,
  r8, r9, r10, r11, r12, r13, r14, r15,
  rip, rflags, cr0, cr3, cr4, fs_base, gs_base, k_gs_base,
  // arm64 (QEMU's aarch64 core and system registers)
  x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15,
  x16, x17, x18, x19, x20, x21, x22, x23, x24, x25, x26, x27, x28, x29, x30,
  pstate, sp_el0, ttbr0_el1, ttbr1_el1, tcr_el1, vbar_el1,
  count,
  pc = rip,
  sp = rsp,
};
// x0 + i for i < 31.
constexpr Reg arm64_x(unsigned i) { return static_cast<Reg>(static_cast<unsigned>(Reg::x0) + i); }

// The guest as seen from inside one hook callback on one vCPU. Valid only during the
// callback (on the vCPU thread, guest stopped at the hooked instruction).
class Vcpu {
 public:
  virtual ~Vcpu() = default;
  virtual unsigned index() const = 0;
  // false when the backend cannot read that register.
  virtual bool read_reg(Reg r, uint64_t& out) = 0;
  // Reads up to len bytes at guest-virtual va through the current address space.
  // Returns the number of bytes read from the start (0 if va is unmapped); never
  // reads past an unmapped page, never throws.
  virtual size_t read_virt(uint64_t va, void* buf, size_t len) = 0;
  // Host wall-clock time of the event, nanoseconds since the Unix epoch.
  virtual uint64_t timestamp_ns() = 0;
  // Guest pointer width in bytes (8 for x86-64 and arm64 guests, 4 for i386).
  virtual unsigned pointer_size() const = 0;

  // Helpers built on read_virt: true only when every byte was read.
  bool read_u64(uint64_t va, uint64_t& out) { return read_virt(va, &out, 8) == 8; }
  bool read_u32(uint64_t va, uint32_t& out) { return read_virt(va, &out, 4) == 4; }
  bool read_ptr(uint64_t va, uint64_t& out) {
    if (pointer_size() == 8) return read_u64(va, out);
    uint32_t v = 0;
    if (!read_u32(va, v)) return false;
    out = v;
    return true;
  }
};

// Guest-virtual addresses [first, last], both ends included so that a range can
// reach the top of the address space. Empty by default.
struct VaRange {
  uint64_t first = 1, last = 0;
  constexpr bool contains(uint64_t va) const { return va >= first && va <= last; }
  constexpr bool empty() const { return first > last; }
};

// x86-64's canonical upper half, where every 64-bit kernel (Linux, Windows) runs.
inline constexpr VaRange kUpperHalf{0xffff800000000000ull, UINT64_MAX};

// Where a guest kernel's code runs. Only the OS layer knows it (Linux i386 at its
// PAGE_OFFSET, 32-bit Windows from 0x80000000, ...), so it hands it to the backend.
// One range per vCPU mode: a probe meets a vCPU before anything says which mode the
// guest kernel uses (a 32-bit kernel can run on a 64-bit target).
struct KernelSpace {
  VaRange range64;  // vCPUs with 8-byte pointers (long mode)
  VaRange range32;  // vCPUs with 4-byte pointers (i386, with or without PAE)
  constexpr const VaRange& for_pointer_size(unsigned ptr) const { return ptr == 8 ? range64 : range32; }
  constexpr bool contains(uint64_t ip, unsigned ptr) const { return for_pointer_size(ptr).contains(ip); }
};

using HookId = uint64_t;
// Runs on the vCPU thread that hit the hooked address. Must not block for long.
using HookFn = std::function<void(Vcpu&, uint64_t addr)>;

// What an OS layer / plugin may ask of a backend.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // The guest machine's instruction set when the backend knows it ("x86" for x86-64
  // and i386, "arm64": profile::architecture_mismatch's names), else "": a profile of
  // another one is refused at start.
  virtual std::string machine() const { return {}; }
  // Calls fn every time a vCPU is about to execute the instruction at guest-virtual
  // va (any address space). May be called from a hook callback while the guest runs;
  // the hook takes effect once stale translated code is flushed (the backend does it).
  virtual HookId add_hook(uint64_t va, HookFn fn) = 0;
  virtual void remove_hook(HookId id) = 0;
  // A gated hook fires only while the gate is open (set_gate). It makes a hook that
  // is rarely needed cost (almost) nothing when closed: on QEMU the check is a
  // compare inside the translated code, with no call out of it. The gate is one
  // per backend, shared by all its gated hooks and vCPUs; set_gate is cheap and may
  // be called from hook callbacks. Backends without such a check ignore the gate
  // and fire gated hooks always, so callbacks must still check their own state.
  virtual HookId add_gated_hook(uint64_t va, HookFn fn) { return add_hook(va, std::move(fn)); }
  virtual void set_gate(bool open) { (void)open; }
  // Calls fn on a vCPU that is executing kernel code, i.e. whose instruction pointer
  // is in `kernel` (the range for the vCPU's pointer size), again and again until fn
  // returns true. Used once at start to find the kernel (KASLR slide) and place the
  // hooks. The backend knows no OS: the caller says where its kernel runs.
  virtual void when_in_kernel(const KernelSpace& kernel, std::function<bool(Vcpu&)> fn) = 0;
};

// Where finished event records go (the ring in the QEMU plugin, a queue elsewhere).
// Called on vCPU threads: implementations must be thread-safe and must not format.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // rec points to a record of `size` bytes (event::Record + blobs).
  virtual void emit(const void* rec, size_t size) = 0;
};

}  // namespace vmitrace::vmi

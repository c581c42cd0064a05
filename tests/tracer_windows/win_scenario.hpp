// A synthetic Windows guest driven through the Windows tracer: the guest (built by
// WinGuest from any profile), a vCPU over its memory, a fake backend whose hooks the
// caller fires, and a sink for the records (the tests keep them, the fuzz targets
// format them). call() performs a service call as KiSystemServiceCopyEnd does it
// (arguments in registers / on the kernel stack, the return address on top), ret()
// the return to the caller. No gtest here: fuzz/ uses it too.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_guest.hpp"
#include "synthetic_isf.hpp"
#include "syscalls/tracer.hpp"
#include "syscalls/tables/windows.hpp"
#include "win_guest.hpp"

namespace vmitrace::testing {

template <class Sink>
class BasicScenario {
 public:
  static constexpr uint64_t kRetSiteOffset = 0x13;  // inside KiSystemServiceCopyEnd

  BasicScenario(const profile::Profile& p, bool paged)
      : BasicScenario(p, paged ? std::unique_ptr<GuestMemory>(new PagedMemory())
                               : std::unique_ptr<GuestMemory>(new FlatMemory())) {}
  // Over any guest memory (the fuzz targets' overlay on a flat one).
  BasicScenario(const profile::Profile& p, std::unique_ptr<GuestMemory> m)
      : prof(p), mem(std::move(m)), g(prof, *mem), cpu(*mem, g.ptr) {
    auto* paged = dynamic_cast<PagedMemory*>(mem.get());
    cpu.reg(vmi::Reg::cr3) = paged ? paged->cr3() : 0x1a2b3c4d;
    cpu.reg(g.ptr == 8 ? vmi::Reg::gs_base : vmi::Reg::fs_base) = g.a.kpcr;
    cpu.reg(vmi::Reg::rip) = g.a.kbase + 0x1000;
  }

  // The whole guest; services: index -> routine name in the profile.
  void build(const std::map<uint32_t, std::string>& services, uint32_t limit) {
    g.image(prof.metadata.pdb_guid, prof.metadata.pdb_age, g.a.kbase);
    g.kpcr();
    g.process("notepad.exe", "\\Device\\HarddiskVolume2\\Windows\\System32\\notepad.exe");
    g.vads("\\windows\\system32\\ntdll.dll", "\\Windows\\System32\\KernelBase.dll");
    g.objects("\\Users\\test");
    std::map<uint32_t, uint64_t> routines;
    for (auto& [i, n] : services) {
      routines[i] = g.rva(n);
      // The stack-argument size a real table gives the service (a test's own wins).
      const auto* info = syscalls::windows::lookup_windows(n);
      if (info && !g.arg_bytes.count(i))
        g.arg_bytes[i] = g.ptr == 8 ? (info->nargs > 4 ? (info->nargs - 4u) * 8u : 0u) : info->nargs * 4u;
    }
    g.ssdt(routines, limit);
    // The user side of the call: after `syscall` in ntdll, kernelbase's return
    // address on top of the user stack.
    const uint64_t usp = g.a.ustack + 0xa38;
    g.wptr(g.a.trap + g.L.trap_ip, g.a.ntdll + 0x9d9e4);
    g.wptr(g.a.trap + g.L.trap_sp, usp);
    g.wptr(usp, g.a.kernelbase + 0x5a3c);
  }

  void start(syscalls::TracerConfig cfg = {}) {
    if (cfg.profile_path.empty()) cfg.profile_path = "windows.json";
    cfg.on_fatal = [this](const std::string& m) { fatal = m; };
    tracer = syscalls::make_tracer(cfg, prof, backend, sink);
    tracer->start();
    backend.run_kernel(cpu);
  }

  uint64_t ret_site() const { return g.a.kbase + g.rva("KiSystemServiceCopyEnd") + kRetSiteOffset; }
  uint64_t kernel_sp() const { return g.a.kstack + 0x100; }

  // Enters routine `name` with args; returns how many hooks ran.
  int call(const std::string& name, const std::vector<uint64_t>& args, uint64_t thread = 0) {
    return call_at(g.runtime(name), args, thread);
  }
  // The same for a routine at an address (another module's: win32k).
  int call_at(uint64_t routine, const std::vector<uint64_t>& args, uint64_t thread = 0) {
    if (thread) g.wptr(g.a.kpcr + g.L.pcr_current_thread, thread);
    const uint64_t sp = kernel_sp() - (thread ? (thread & 0xff0) : 0);
    cpu.reg(vmi::Reg::rsp) = sp;
    g.wptr(sp, ret_site());
    if (g.ptr == 8) {
      const vmi::Reg regs[4] = {vmi::Reg::rcx, vmi::Reg::rdx, vmi::Reg::r8, vmi::Reg::r9};
      for (size_t i = 0; i < args.size() && i < 4; ++i) cpu.reg(regs[i]) = args[i];
      for (size_t i = 4; i < args.size(); ++i) g.wptr(sp + 0x28 + (i - 4) * 8, args[i]);
    } else {
      for (size_t i = 0; i < args.size(); ++i) g.wptr(sp + 4 + i * 4, args[i]);
    }
    cpu.reg(vmi::Reg::rip) = routine;
    return backend.fire(routine, cpu);
  }
  // Returns to the caller with `status`; pop = bytes `ret N` pops (x86 stdcall).
  int ret(uint64_t status, uint32_t pop = 0, uint64_t thread = 0) {
    if (thread) g.wptr(g.a.kpcr + g.L.pcr_current_thread, thread);
    cpu.reg(vmi::Reg::rsp) = kernel_sp() - (thread ? (thread & 0xff0) : 0) + g.ptr + pop;
    cpu.reg(vmi::Reg::rax) = status;
    cpu.reg(vmi::Reg::rip) = ret_site();
    return backend.fire(ret_site(), cpu);
  }

  // NtCreateFile's arguments for \??\C:\Users\test\document.txt (FileHandle 0 as in
  // the seed's example), with OBJECT_ATTRIBUTES and UNICODE_STRING in user memory
  // (at ubuf + at + 0x100.. 0x300).
  std::vector<uint64_t> create_file_args(uint64_t root = 0, const std::string& name = "\\??\\C:\\Users\\test\\document.txt",
                                         uint64_t at = 0) {
    const uint64_t oa = g.a.ubuf + at + 0x100, us = g.a.ubuf + at + 0x140, buf = g.a.ubuf + at + 0x200;
    mem->write_u32(oa, g.ptr == 8 ? 0x30 : 0x18);
    g.wptr(oa + g.L.oa_root, root);
    g.wptr(oa + g.L.oa_name, us);
    g.ustr(us, buf, name);
    return {0, 0x80100000, oa, g.a.ubuf + at + 0x300, 0, 0x80, 1, 1, 0x60, 0, 0};
  }

  profile::Profile prof;
  std::unique_ptr<GuestMemory> mem;
  WinGuest g;
  MemVcpu cpu;
  FakeBackend backend;
  Sink sink;
  std::unique_ptr<syscalls::Tracer> tracer;
  std::string fatal;
};

}  // namespace vmitrace::testing

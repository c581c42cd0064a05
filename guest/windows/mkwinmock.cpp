// mkwinmock: writes a bootable mock Windows x64 guest (a multiboot ELF for
// `qemu-system-x86_64 -kernel`) laid out from a real ntkrnlmp ISF, and prints what it
// laid out (JSON) for the checks that compare it with a trace.
//
// The kernel's memory is the Windows tracer tests' synthetic guest (WinGuest through
// BasicScenario: ntoskrnl's PE header with the profile's PDB GUID/age, KPCR/KPRCB,
// IDT, ETHREAD/EPROCESS/TOKEN, SSDT, VADs, handle table, objects) behind real 4-level
// page tables, at a random kernel base; mock.S adds the code that runs: long mode,
// the `syscall` entry dispatching through KiServiceTable to service routines at the
// profile's RVAs, and a user-mode workload in the ntdll/kernelbase-like modules that
// calls NtCreateFile, NtClose, NtOpenFile (failing) and NtSetEvent, yields to a thread
// of a second process that ends itself and switches to a WoW64 process, whose 32-bit
// program (compatibility mode) calls through its 32-bit ntdll, wow64cpu, wow64 and the
// 64-bit ntdll, and prints each call with the status it got on COM1. Each process has
// its own address space (page tables, CR3 = its DirectoryTableBase; kernel half
// shared; guest/windows/README.md).
//
// usage: mkwinmock --profile ISF --output FILE.elf [--seed N] [--idle] [--win32k ISF_OUT]
//   --idle: for attach: wait about a second in kernel mode before the workload, and
//           after it call NtDelayExecution forever instead of powering off.
//   --win32k: add a win32k module (the tests' synthetic one, in session space, behind
//           KeServiceDescriptorTableShadow[1]) and a NtUserGetMessage call; its
//           profile is written to ISF_OUT (for -W).
#include <elf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// What the builders need and the profile lacks (a symbol, a field) stops with its name.
struct ProfileLacks : std::runtime_error {
  using std::runtime_error::runtime_error;
};
#define VMITRACE_GUEST_EXPECT(ok, what)             \
  do {                                              \
    if (!(ok)) {                                    \
      std::ostringstream o_;                        \
      o_ << what;                                   \
      throw ProfileLacks("lacks " + o_.str());      \
    }                                               \
  } while (0)
#include "common/error.hpp"
#include "profile/profile.hpp"
#include "win32k_guest.hpp"
#include "win_scenario.hpp"

extern "C" {
extern const uint8_t wm_boot_start[], wm_boot_entry[], wm_boot_end[], wm_boot_p_cr3[], wm_boot_p_idtr[],
    wm_boot_p_kpcr[], wm_boot_p_lstar[], wm_boot_p_krsp[], wm_boot_p_kinit[];
extern const uint8_t wm_kernel_start[], wm_kernel_init[], wm_kernel_end[], wm_kernel_p_krsp[],
    wm_kernel_p_pcr_thread[], wm_kernel_p_thread_trap[], wm_kernel_p_trap_rip[], wm_kernel_p_trap_rsp[],
    wm_kernel_p_ssdt[], wm_kernel_p_shadow[], wm_kernel_p_spin[], wm_kernel_p_uentry[], wm_kernel_p_ursp[];
extern const uint8_t wm_user_start[], wm_user_end[], wm_user_p_table[], wm_user_p_call[], wm_user_p_idle[],
    wm_user_p_poweroff[];
extern const uint8_t wm_call_start[], wm_call_end[];
extern const uint8_t wm_cpu_start[], wm_cpu_transition[], wm_cpu_leave[], wm_cpu_save[], wm_cpu_p_thunk[], wm_cpu_end[];
extern const uint8_t wm_x86_start[], wm_x86_end[], wm_x86_p_table[], wm_x86_p_leave[];
}

namespace vmitrace::winmock {
namespace {

using testing::WinGuest;
namespace win32k = testing::win32k;

struct NoSink : vmi::EventSink {
  void emit(const void*, size_t) override {}
};
using Scenario = testing::BasicScenario<NoSink>;

constexpr uint64_t kPml4 = 0x100000, kBootPage = 0x101000, kFirstFrame = 0x102000;
// TSC ticks kinit waits in kernel mode before user mode: run (the QEMU module finds
// the kernel on its first kernel block), attach (the gdbstub is probed every 20 ms).
constexpr uint64_t kWaitRun = 20000000, kWaitAttach = 2000000000;

// A blob of mock.S copied to va with its parameter slots filled in.
struct Blob {
  const uint8_t* start;
  std::vector<uint8_t> bytes;
  Blob(const uint8_t* s, const uint8_t* e) : start(s), bytes(s, e) {}
  template <class T>
  void set(const uint8_t* slot, T v) {
    std::memcpy(bytes.data() + (slot - start), &v, sizeof v);
  }
  uint64_t offset(const uint8_t* label) const { return static_cast<uint64_t>(label - start); }
};

// A thread of the workload and its process, as the trace should show them.
struct Who {
  int64_t pid, ppid, tid;
  std::string process, image_path, user;  // user: the SID string or a well-known name
  uint32_t session;
  uint64_t thread = 0;  // ETHREAD
  uint64_t cr3 = 0;     // its address space (EPROCESS.Pcb.DirectoryTableBase)
  bool wow64 = false;   // a 32-bit program: its calls come through the WoW64 layer
};

// One call of the workload: what the ntdll stub gets and what the service does.
struct Call {
  std::string name;
  uint32_t nr;
  std::vector<uint64_t> args;  // up to 11
  uint32_t status;
  size_t who = 0;                 // index of the calling thread
  uint64_t handle_out = 0;        // the service writes this handle to *args[0]
  int switch_to = -1;             // the service makes this thread current
  bool returns = true;            // a return event pairs with this entry
  std::string path, handle_name;  // what the trace should show (for the checks)
  uint64_t routine = 0;           // win32k's routines: their address (nt's: by name)
};

// The call table entry (mock.S, user blob): 18 quadwords.
constexpr size_t kEntryWords = 18;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    o += c;
  }
  return o + "\"";
}

// A service routine: [spin;] [mov qword [rcx], handle;] [switch to new_thread:
// KPCR.CurrentThread = it, CR3 = its process's DirectoryTableBase;] mov eax, status; ret.
struct Switch {
  uint32_t pcr_thread = 0, thread_process = 0, dtb = 0;  // offsets
};
std::vector<uint8_t> routine_code(const Call& c, uint32_t spin, uint64_t new_thread = 0, const Switch& sw = {}) {
  std::vector<uint8_t> b;
  auto imm32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  if (spin) {  // mov ecx, spin; 1: dec ecx; jnz 1b
    b.push_back(0xb9);
    imm32(spin);
    b.insert(b.end(), {0xff, 0xc9, 0x75, 0xfc});
  }
  if (c.handle_out) {
    b.insert(b.end(), {0x48, 0xc7, 0x01});
    imm32(static_cast<uint32_t>(c.handle_out));
  }
  if (new_thread) {
    b.insert(b.end(), {0x48, 0xb8});  // movabs rax, thread
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(new_thread >> (8 * i)));
    b.insert(b.end(), {0x65, 0x48, 0x89, 0x04, 0x25});  // mov gs:[pcr_thread], rax
    imm32(sw.pcr_thread);
    b.insert(b.end(), {0x48, 0x8b, 0x80});  // mov rax, [rax + Process]
    imm32(sw.thread_process);
    b.insert(b.end(), {0x48, 0x8b, 0x80});  // mov rax, [rax + DirectoryTableBase]
    imm32(sw.dtb);
    b.insert(b.end(), {0x0f, 0x22, 0xd8});  // mov cr3, rax
  }
  b.push_back(0xb8);
  imm32(c.status);
  b.push_back(0xc3);
  return b;
}

// The 32-bit ntdll's stub of a WoW64 process: mov eax, nr; mov ecx, Wow64Transition;
// call ecx; ret (edx carries the call table entry to the thunk).
std::vector<uint8_t> ntdll32_stub(uint32_t nr, uint32_t transition) {
  std::vector<uint8_t> b = {0xb8};
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(nr >> (8 * i)));
  b.push_back(0xb9);
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(transition >> (8 * i)));
  b.insert(b.end(), {0xff, 0xd1, 0xc3});
  return b;
}

// ntdll's stub: mov r10, rcx; mov eax, nr; syscall; ret.
std::vector<uint8_t> ntdll_stub(uint32_t nr) {
  std::vector<uint8_t> b = {0x4c, 0x8b, 0xd1, 0xb8};
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(nr >> (8 * i)));
  b.insert(b.end(), {0x0f, 0x05, 0xc3});
  return b;
}

void write_elf(const std::string& path, testing::PagedMemory& mem, uint64_t entry) {
  const uint64_t start = kPml4, end = mem.frames_end();
  std::vector<uint8_t> image(end - start);
  for (uint64_t pa = start; pa < end; pa += 4096) mem.phys.read(pa, image.data() + (pa - start), 4096);
  std::vector<uint8_t> file(0x1000 + image.size());
  Elf32_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_386;
  eh.e_version = EV_CURRENT;
  eh.e_entry = static_cast<uint32_t>(entry);
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf32_Phdr);
  eh.e_phnum = 1;
  Elf32_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_offset = 0x1000;
  ph.p_vaddr = ph.p_paddr = static_cast<uint32_t>(start);
  ph.p_filesz = ph.p_memsz = static_cast<uint32_t>(image.size());
  ph.p_flags = PF_R | PF_W | PF_X;
  ph.p_align = 0x1000;
  std::memcpy(file.data(), &eh, sizeof eh);
  std::memcpy(file.data() + sizeof eh, &ph, sizeof ph);
  // Multiboot header (in the first 8 KiB): the ELF headers say where to load.
  const uint32_t mb[3] = {0x1badb002u, 0, static_cast<uint32_t>(-(0x1badb002u + 0))};
  std::memcpy(file.data() + 0x100, mb, sizeof mb);
  std::memcpy(file.data() + 0x1000, image.data(), image.size());
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  out.close();
  if (!out) throw Error(path, std::string("cannot write the mock guest: ") + (errno ? std::strerror(errno) : "write failed"));
}

// The WoW64 process's 32-bit side and wow64 modules (below 4 GiB but wow64.dll, whose
// thunks are 64-bit code), its private data page, and its VAD nodes.
constexpr uint64_t kExe32 = 0x00400000, kNtdll32 = 0x77a00000, kWow64Cpu = 0x77c00000;
constexpr uint64_t kWow64 = 0x7ffb0fa00000ull, kStack32 = 0x00300000, kData32 = 0x00520000, kPeb32 = 0x00350000;
constexpr uint64_t kTable32 = kExe32 + 0x4000, kNames32 = kExe32 + 0x4800;

int run(const std::string& profile_path, const std::string& output, uint64_t seed, bool idle,
        const std::string& win32k_out) {
  const profile::Profile prof = profile::Profile::load(profile_path);
  if (prof.metadata.os != "windows" || prof.metadata.pointer_size != 8)
    throw Error(profile_path, "not a 64-bit Windows kernel profile");
  auto owned = std::make_unique<testing::PagedMemory>(kPml4, kFirstFrame);
  testing::PagedMemory& mem = *owned;
  Scenario s(prof, std::move(owned));
  WinGuest& g = s.g;
  // KASLR: a 2 MiB-aligned base below the KPCR's fixed address.
  std::mt19937_64 rng(seed);
  g.a.kbase = 0xfffff80000000000ull + ((rng() % 0x1800) << 21);

  // Three threads, each of its own process and address space: notepad.exe's (the
  // builders' process), a thread of svchost.exe (SYSTEM, session 0) and one of a
  // 32-bit program under WoW64, laid out by the same builders at other addresses and
  // sharing the first one's handle table.
  std::vector<Who> who = {{WinGuest::kPid, WinGuest::kPpid, WinGuest::kTid, "notepad.exe",
                           "\\Device\\HarddiskVolume2\\Windows\\System32\\notepad.exe", "S-1-5-21-1001",
                           WinGuest::kSession, g.a.thread},
                          {812, 640, 0x1f4c, "svchost.exe", "\\Device\\HarddiskVolume2\\Windows\\System32\\svchost.exe",
                           "SYSTEM", 0, g.a.thread + 0x100000},
                          {3288, WinGuest::kPid, 0x2a10, "legacy32.exe",
                           "\\Device\\HarddiskVolume2\\Program Files (x86)\\Legacy\\legacy32.exe", "S-1-5-21-1001",
                           WinGuest::kSession, g.a.thread + 0x200000, 0, true}};
  const size_t kWowThread = 2;

  // The workload (indices as on Windows 10 19041; the mock's table is its own). The
  // path arguments of notepad.exe's and svchost.exe's NtCreateFile are at the same
  // user address, each in its own address space; the WoW64 process's NtOpenFile has
  // its own where the other two have a decoy.
  const uint64_t ub = g.a.ubuf;
  std::vector<Call> calls;
  calls.push_back({"NtCreateFile", 0x55, {}, 0, 0, WinGuest::kFileHandle, -1, true,
                   "\\??\\C:\\Users\\test\\document.txt", ""});
  calls.push_back({"NtClose", 0x0f, {WinGuest::kFileHandle}, 0, 0, 0, -1, true, "", "\\Users\\test"});
  calls.push_back({"NtOpenFile", 0x33, {}, 0xc0000034u, 0, 0, -1, true, "\\??\\C:\\Users\\test\\missing.txt", ""});
  calls.push_back({"NtSetEvent", 0x0e, {WinGuest::kEventHandle, 0}, 0, 0, 0, -1, true, "",
                   "\\BaseNamedObjects\\TestEvent"});
  // With a win32k module: NtUserGetMessage (index 6 of its table) returns TRUE.
  if (!win32k_out.empty())
    calls.push_back({"NtUserGetMessage", 0x1006, {ub + 0xf20, 0, 0, 0}, 1, 0, 0, -1, true, "", "",
                     win32k::kBase + 0x30000});
  // Thread 1 yields to thread 2; its return comes when the WoW64 thread ends its process.
  calls.push_back({"NtYieldExecution", 0x46, {}, 0, 0, 0, 1, true, "", ""});
  const size_t svc_create = calls.size();
  calls.push_back({"NtCreateFile", 0x55, {}, 0, 1, WinGuest::kFileHandle, -1, true, "\\??\\C:\\Windows\\Temp\\svc.log", ""});
  calls.push_back({"NtTerminateThread", 0x53, {~uint64_t{1}, 0}, 0, 1, 0, static_cast<int>(kWowThread), false, "", ""});
  const size_t first_wow = calls.size();
  calls.push_back({"NtOpenFile", 0x33, {}, 0xc0000034u, kWowThread, 0, -1, true, "\\??\\C:\\Users\\test\\legacy.ini", ""});
  calls.push_back({"NtClose", 0x0f, {WinGuest::kFileHandle}, 0, kWowThread, 0, -1, true, "", "\\Users\\test"});
  calls.push_back({"NtTerminateProcess", 0x2c, {~uint64_t{0}, 0}, 0, kWowThread, 0, 0, false, "", ""});
  const Call idle_call{"NtDelayExecution", 0x34, {0, 0}, 0, 0, 0, -1, true, "", ""};

  std::map<uint32_t, std::string> services;
  for (const Call& c : calls)
    if (!c.routine) services[c.nr] = c.name;
  services[idle_call.nr] = idle_call.name;
  s.build(services, 0x1d0);
  if (!win32k_out.empty()) {  // its profile, image in session space, shadow descriptor
    std::ofstream(win32k_out) << win32k::isf();
    win32k::descriptor(g, mem);
    win32k::map_image(prof, mem);
  }

  // The other processes: the builders' process() at shifted addresses.
  const testing::WinAddrs first = g.a;
  auto add_process = [&](Who& w, uint64_t shift, uint64_t trap) {
    for (uint64_t* f : {&g.a.thread, &g.a.process, &g.a.token, &g.a.sid, &g.a.groups, &g.a.image_oni, &g.a.session})
      *f += shift;
    g.a.trap = trap;  // on the same kernel stack page
    g.process(w.process, w.image_path);
    g.wptr(g.a.thread + g.L.thread_cid_tid, static_cast<uint64_t>(w.tid));
    g.wptr(g.a.process + g.L.proc_pid, static_cast<uint64_t>(w.pid));
    g.wptr(g.a.process + g.L.proc_ppid, static_cast<uint64_t>(w.ppid));
    mem.write_u32(g.a.token + g.L.token_session, w.session);
    mem.write_u32(g.a.session + g.L.session_space_id, w.session);
    g.wptr(g.a.process + g.L.proc_object_table, first.handle_table);
  };
  add_process(who[1], 0x100000, first.trap + 0x400);
  const uint8_t system_sid[12] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};  // S-1-5-18
  mem.write(g.a.sid, system_sid, sizeof system_sid);
  g.wptr(g.a.process + g.L.proc_vad_root, first.vad_ntdll);
  g.a = first;
  // The WoW64 process: its own VAD tree (64-bit ntdll, wow64.dll, the 32-bit ntdll,
  // its exe, wow64cpu.dll) and EPROCESS.WoW64Process -> EWOW64PROCESS (Peb32, Machine).
  add_process(who[2], 0x200000, first.trap - 0x400);
  {
    const uint64_t n = first.vad_ntdll + 0x10000;  // nodes 0x1000 apart
    g.vad(n, first.ntdll, WinGuest::kNtdllSize, "\\windows\\system32\\ntdll.dll", n + 0x1000, 0);
    g.vad(n + 0x1000, kWow64, 0x60000, "\\Windows\\System32\\wow64.dll", n + 0x2000, 0);
    g.vad(n + 0x2000, kNtdll32, 0x1a0000, "\\Windows\\SysWOW64\\ntdll.dll", n + 0x3000, n + 0x4000);
    g.vad(n + 0x3000, kExe32, 0x10000, "\\Program Files (x86)\\Legacy\\legacy32.exe", 0, 0);
    g.vad(n + 0x4000, kWow64Cpu, 0x10000, "\\Windows\\System32\\wow64cpu.dll", 0, 0);
    g.wptr(g.a.process + g.L.proc_vad_root, n);
    const uint64_t ewow = first.process + 0x280000;
    VMITRACE_GUEST_EXPECT(g.L.proc_wow64 != oswin::kNone, "_EPROCESS.WoW64Process");
    g.wptr(g.a.process + g.L.proc_wow64, ewow);
    g.wptr(ewow, kPeb32);  // EWOW64PROCESS.Peb (Windows 7's ISF types the field void*: the same block)
    if (auto m = prof.field_offset("_EWOW64PROCESS", "Machine")) mem.write_u16(ewow + *m, 0x14c);  // i386
  }
  g.a = first;

  // Service routines at their RVAs; the switching ones load the new thread's CR3.
  const Switch sw{static_cast<uint32_t>(g.L.pcr_current_thread), static_cast<uint32_t>(g.L.thread_process),
                  static_cast<uint32_t>(g.off("_EPROCESS", "Pcb") + g.off("_KPROCESS", "DirectoryTableBase"))};
  std::map<uint32_t, bool> written;
  for (const Call& c : calls) {
    if (written[c.nr]) continue;
    written[c.nr] = true;
    auto code = routine_code(c, 0, c.switch_to >= 0 ? who[c.switch_to].thread : 0, sw);
    mem.write(c.routine ? c.routine : g.runtime(c.name), code.data(), code.size());
  }
  auto idle_code = routine_code(idle_call, 200000);
  mem.write(g.runtime(idle_call.name), idle_code.data(), idle_code.size());

  // User code, written in the first address space before the others are cloned from
  // it: code and stack pages are shared by all (one instruction stream runs the three
  // threads, switched at syscalls), data pages are made private afterwards.
  auto stub_va = [&](uint32_t nr) { return g.a.ntdll + 0x1000 + nr * 0x20ull; };
  auto stub32_va = [&](uint32_t nr) { return kNtdll32 + 0x1000 + nr * 0x20ull; };
  for (const Call& c : calls) {
    auto st = ntdll_stub(c.nr);
    mem.write(stub_va(c.nr), st.data(), st.size());
  }
  auto idle_stub = ntdll_stub(idle_call.nr);
  mem.write(stub_va(idle_call.nr), idle_stub.data(), idle_stub.size());
  const uint64_t cpu_va = kWow64Cpu + 0x1000, thunk_va = kWow64 + 0x1000, call_va = g.a.kernelbase + 0x3000;
  Blob cpu(wm_cpu_start, wm_cpu_end);
  cpu.set(wm_cpu_p_thunk, thunk_va);
  mem.write(cpu_va, cpu.bytes.data(), cpu.bytes.size());
  for (size_t i = first_wow; i < calls.size(); ++i) {
    auto st = ntdll32_stub(calls[i].nr, static_cast<uint32_t>(cpu_va + cpu.offset(wm_cpu_transition)));
    mem.write(stub32_va(calls[i].nr), st.data(), st.size());
  }
  const Blob call(wm_call_start, wm_call_end);
  mem.write(call_va, call.bytes.data(), call.bytes.size());
  mem.write(thunk_va, call.bytes.data(), call.bytes.size());
  Blob x86(wm_x86_start, wm_x86_end);
  x86.set(wm_x86_p_table, kTable32);
  x86.set(wm_x86_p_leave, cpu_va + cpu.offset(wm_cpu_leave));
  mem.write(kExe32 + 0x1000, x86.bytes.data(), x86.bytes.size());

  // Stacks (the kernel's below the trap frame's page, the user's and the 32-bit one in
  // their own pages), the call tables' pages, and the data pages, all before cloning.
  std::vector<uint8_t> page(0x1000);
  for (uint64_t p = g.a.kstack - 0x4000; p < g.a.kstack; p += 0x1000) mem.write(p, page.data(), page.size());
  const uint64_t krsp = g.a.kstack - 0x100;
  for (uint64_t p = g.a.ustack - 0x2000; p < g.a.ustack; p += 0x1000) mem.write(p, page.data(), page.size());
  const uint64_t ursp = g.a.ustack - 0x100;
  for (uint64_t p = kStack32 - 0x2000; p < kStack32; p += 0x1000) mem.write(p, page.data(), page.size());
  for (uint64_t p : {ub, ub + 0x1000, kTable32, kData32}) mem.write(p, page.data(), page.size());

  // The kernel at KiSystemCall64, the 64-bit workload in kernelbase.
  const uint64_t kva = g.runtime("KiSystemCall64");
  Blob k(wm_kernel_start, wm_kernel_end);
  const uint64_t uva = g.a.kernelbase + 0x1000;
  k.set(wm_kernel_p_krsp, krsp);
  k.set(wm_kernel_p_pcr_thread, uint64_t{g.L.pcr_current_thread});
  k.set(wm_kernel_p_thread_trap, uint64_t{g.L.thread_trap_frame});
  k.set(wm_kernel_p_trap_rip, uint64_t{g.L.trap_ip});
  k.set(wm_kernel_p_trap_rsp, uint64_t{g.L.trap_sp});
  k.set(wm_kernel_p_ssdt, g.a.kbase + g.L.rva_service_table);
  k.set(wm_kernel_p_shadow, g.L.rva_shadow_table ? g.a.kbase + g.L.rva_shadow_table + 4 * 8 : g.a.kbase + g.L.rva_service_table);
  k.set(wm_kernel_p_spin, idle ? kWaitAttach : kWaitRun);
  k.set(wm_kernel_p_uentry, uva);
  k.set(wm_kernel_p_ursp, ursp);
  mem.write(kva, k.bytes.data(), k.bytes.size());
  Blob u(wm_user_start, wm_user_end);
  u.set(wm_user_p_table, ub + 0x1000);
  u.set(wm_user_p_call, call_va);
  u.set(wm_user_p_idle, idle ? stub_va(idle_call.nr) : uint64_t{0});
  u.set(wm_user_p_poweroff, idle ? uint64_t{0} : uint64_t{1});
  if (u.bytes.size() > 0x2000) throw Error("mock.S", "user blob larger than its space");
  mem.write(uva, u.bytes.data(), u.bytes.size());
  // The boot page (its GDT is read at every far transfer) in every address space.
  mem.map_frame(kBootPage, kBootPage);
  // Each call's data in its caller's address space: notepad.exe's, then the decoy the
  // others see at the WoW64 process's data address; then the clones.
  auto at_in = [&](uint64_t base, const std::string& path, uint64_t at) {
    const uint64_t keep = g.a.ubuf;
    g.a.ubuf = base;
    auto args = s.create_file_args(0, path, at);
    g.a.ubuf = keep;
    return args;
  };
  calls[0].args = at_in(ub, calls[0].path, 0);
  calls[0].args[0] = ub + 0xf00;  // FileHandle out
  {
    auto& c = calls[2];
    c.args = at_in(ub, c.path, 0x400);
    c.args[0] = ub + 0xf08;
    c.args.resize(6);
    c.args[4] = 1, c.args[5] = 0x60;  // ShareAccess, OpenOptions
  }
  at_in(kData32, "\\??\\C:\\WRONG\\address-space.txt", 0);
  const uint64_t roots[3] = {kPml4, mem.clone_root(), mem.clone_root()};
  for (size_t i = 0; i < who.size(); ++i) who[i].cr3 = roots[i];
  mem.select_root(roots[1]);
  mem.make_private(ub);
  calls[svc_create].args = at_in(ub, calls[svc_create].path, 0);
  calls[svc_create].args[0] = ub + 0xf10;
  mem.select_root(roots[2]);
  mem.make_private(kData32);
  {
    auto& c = calls[first_wow];
    c.args = at_in(kData32, c.path, 0);
    c.args[0] = kData32 + 0xf00;
    c.args.resize(6);
    c.args[4] = 1, c.args[5] = 0x60;  // ShareAccess, OpenOptions
  }
  mem.select_root(roots[0]);
  for (size_t i = 0; i < who.size(); ++i) g.wptr(first.process + 0x100000 * i + sw.dtb, roots[i]);  // DirectoryTableBase

  // The call tables (shared pages): the 64-bit one, whose entry for the WoW64 thread
  // runs its 32-bit part, and the 32-bit one the WoW64 program runs.
  const uint64_t table = ub + 0x1000;
  uint64_t name_at = ub + 0x1800, name32_at = kNames32;
  auto entry = [&](const Call& c, bool wow) {
    std::vector<uint64_t> e(kEntryWords);
    e[0] = wow ? stub32_va(c.nr) : stub_va(c.nr);
    for (size_t a = 0; a < c.args.size() && a < 11; ++a) e[1 + a] = c.args[a];
    uint64_t& at = wow ? name32_at : name_at;
    e[12] = at;
    mem.write(at, c.name.c_str(), c.name.size() + 1);
    at += c.name.size() + 1;
    e[13] = c.nr;
    e[14] = static_cast<uint64_t>(who[c.who].tid);
    e[15] = static_cast<uint64_t>(who[c.who].pid);
    e[16] = wow ? stub_va(c.nr) : 0;
    return e;
  };
  std::vector<uint64_t> t64, t32;
  for (size_t i = 0; i < first_wow; ++i) {
    auto e = entry(calls[i], false);
    t64.insert(t64.end(), e.begin(), e.end());
  }
  {
    std::vector<uint64_t> e(kEntryWords);
    e[0] = 1, e[1] = kExe32 + 0x1000, e[2] = kStack32 - 0x100, e[3] = kTable32, e[4] = cpu_va + cpu.offset(wm_cpu_save);
    t64.insert(t64.end(), e.begin(), e.end());
  }
  for (size_t i = first_wow; i < calls.size(); ++i) {
    auto e = entry(calls[i], true);
    t32.insert(t32.end(), e.begin(), e.end());
  }
  t64.resize(t64.size() + kEntryWords);
  t32.resize(t32.size() + kEntryWords);
  if (t64.size() * 8 > 0x800 || t32.size() * 8 > 0x800) throw Error("mkwinmock", "call table larger than its space");
  mem.write(table, t64.data(), t64.size() * 8);
  mem.write(kTable32, t32.data(), t32.size() * 8);

  // Boot on the identity page.
  Blob b(wm_boot_start, wm_boot_end);
  b.set(wm_boot_p_cr3, kPml4);
  b.set(wm_boot_p_kpcr, g.a.kpcr);
  b.set(wm_boot_p_lstar, kva);
  b.set(wm_boot_p_krsp, krsp);
  b.set(wm_boot_p_kinit, kva + k.offset(wm_kernel_init));
  const uint16_t idt_limit = 256 * 16 - 1;
  std::memcpy(b.bytes.data() + (wm_boot_p_idtr - wm_boot_start), &idt_limit, 2);
  std::memcpy(b.bytes.data() + (wm_boot_p_idtr - wm_boot_start) + 2, &g.a.idt, 8);
  if (b.bytes.size() > 4096) throw Error("mock.S", "boot blob larger than a page");
  mem.phys.write(kBootPage, b.bytes.data(), b.bytes.size());
  write_elf(output, mem, kBootPage + b.offset(wm_boot_entry));

  // What was laid out, for the checks.
  std::printf("{\"profile\": %s, \"kernel_base\": \"%s\", \"idle\": %s,\n", json_str(profile_path).c_str(),
              hex(g.a.kbase).c_str(), idle ? "true" : "false");
  std::printf(" \"threads\": [\n");
  for (size_t i = 0; i < who.size(); ++i) {
    const Who& w = who[i];
    std::printf("  {\"pid\": %lld, \"ppid\": %lld, \"tid\": %lld, \"process\": %s, \"image_path\": %s, \"user\": %s, "
                "\"session\": %u, \"cr3\": \"%s\", \"wow64\": %s}%s\n",
                static_cast<long long>(w.pid), static_cast<long long>(w.ppid), static_cast<long long>(w.tid),
                json_str(w.process).c_str(), json_str(w.image_path).c_str(), json_str(w.user).c_str(), w.session,
                hex(w.cr3).c_str(), w.wow64 ? "true" : "false", i + 1 < who.size() ? "," : "");
  }
  std::printf(" ], \"calls\": [\n");
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& c = calls[i];
    const bool wow = who[c.who].wow64;
    std::printf("  {\"name\": \"%s\", \"nr\": %u, \"module\": \"%s\", \"status\": %u, \"thread\": %zu, \"returns\": %s, "
                "\"path\": %s, \"handle_name\": %s, \"from_module\": %s, \"from_parent_module\": %s}%s\n",
                c.name.c_str(), c.nr & 0xfff, c.routine ? "win32k" : "nt", c.status, c.who, c.returns ? "true" : "false",
                json_str(c.path).c_str(), json_str(c.handle_name).c_str(),
                json_str("\\windows\\system32\\ntdll.dll").c_str(),
                json_str(wow ? "\\Windows\\System32\\wow64.dll" : "\\Windows\\System32\\KernelBase.dll").c_str(),
                i + 1 < calls.size() ? "," : "");
  }
  std::printf(" ]}\n");
  return 0;
}

}  // namespace
}  // namespace vmitrace::winmock

int main(int argc, char** argv) {
  std::string profile, output;
  uint64_t seed = std::random_device{}();
  bool idle = false;
  std::string win32k_out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--idle") idle = true;
    else if (i + 1 < argc && a == "--profile") profile = argv[++i];
    else if (i + 1 < argc && a == "--output") output = argv[++i];
    else if (i + 1 < argc && a == "--seed") seed = std::strtoull(argv[++i], nullptr, 0);
    else if (i + 1 < argc && a == "--win32k") win32k_out = argv[++i];
    else {
      std::fprintf(stderr, "usage: mkwinmock --profile ISF --output FILE.elf [--seed N] [--idle] [--win32k ISF_OUT]\n");
      return 2;
    }
  }
  if (profile.empty() || output.empty()) {
    std::fprintf(stderr, "usage: mkwinmock --profile ISF --output FILE.elf [--seed N] [--idle] [--win32k ISF_OUT]\n");
    return 2;
  }
  try {
    return vmitrace::winmock::run(profile, output, seed, idle, win32k_out);
  } catch (const ProfileLacks& e) {
    std::fprintf(stderr, "mkwinmock: %s: %s\n", profile.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mkwinmock: %s\n", e.what());
    return 1;
  }
}

// Test doubles for the VMI contract: guest memory as a sparse page map (unmapped
// pages fail reads, as a real backend does), a vCPU over it, a backend that records
// hooks and lets a test fire them, and a synthetic Linux profile built in code.
#pragma once
#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "profile/profile.hpp"
#include "vmi/kernel_waiters.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::testing {

class FakeMemory {
 public:
  static constexpr uint64_t kPage = 4096;
  void map(uint64_t va, size_t len) {
    for (uint64_t p = va & ~(kPage - 1); p < va + len; p += kPage) pages_[p];
  }
  void unmap(uint64_t va) { pages_.erase(va & ~(kPage - 1)); }
  void write(uint64_t va, const void* data, size_t len) {
    map(va, len);
    const auto* s = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < len; ++i) pages_[(va + i) & ~(kPage - 1)][(va + i) & (kPage - 1)] = s[i];
  }
  void write_u64(uint64_t va, uint64_t v) { write(va, &v, 8); }
  void write_u32(uint64_t va, uint32_t v) { write(va, &v, 4); }
  void write_str(uint64_t va, const std::string& s) { write(va, s.c_str(), s.size() + 1); }
  size_t read(uint64_t va, void* buf, size_t len) const {
    auto* d = static_cast<uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
      uint64_t cur = va + done;
      auto it = pages_.find(cur & ~(kPage - 1));
      if (it == pages_.end()) break;
      size_t off = cur & (kPage - 1);
      size_t n = std::min<size_t>(len - done, kPage - off);
      std::memcpy(d + done, it->second.data() + off, n);
      done += n;
    }
    return done;
  }

 private:
  std::map<uint64_t, std::array<uint8_t, kPage>> pages_;
};

class FakeVcpu : public vmi::Vcpu {
 public:
  FakeVcpu(const FakeMemory& mem, unsigned index, unsigned ptr_size = 8)
      : mem_(mem), index_(index), ptr_size_(ptr_size) {}
  unsigned index() const override { return index_; }
  bool read_reg(vmi::Reg r, uint64_t& out) override {
    ++reg_reads[static_cast<size_t>(r)];
    out = regs[static_cast<size_t>(r)];
    return true;
  }
  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    ++reads;
    return mem_.read(va, buf, len);
  }
  uint64_t timestamp_ns() override { return 1700000000123456789ull; }
  unsigned pointer_size() const override { return ptr_size_; }
  uint64_t& reg(vmi::Reg r) { return regs[static_cast<size_t>(r)]; }

  uint64_t regs[static_cast<size_t>(vmi::Reg::count)] = {};
  uint64_t reads = 0;
  uint64_t reg_reads[static_cast<size_t>(vmi::Reg::count)] = {};  // per register

 private:
  const FakeMemory& mem_;
  unsigned index_;
  unsigned ptr_size_;
};

class FakeBackend : public vmi::Backend {
 public:
  std::string name() const override { return "fake"; }
  std::string machine() const override { return machine_name; }
  vmi::HookId add_hook(uint64_t va, vmi::HookFn fn) override {
    std::lock_guard lock(mu);
    hooks[++next] = {va, std::move(fn)};
    return next;
  }
  void remove_hook(vmi::HookId id) override {
    std::lock_guard lock(mu);
    hooks.erase(id);
    gated.erase(id);
    ++removed;
  }
  // Gated hooks behave as on QEMU: fire() skips them while the gate is closed.
  vmi::HookId add_gated_hook(uint64_t va, vmi::HookFn fn) override {
    vmi::HookId id = add_hook(va, std::move(fn));
    std::lock_guard lock(mu);
    gated.insert(id);
    return id;
  }
  void set_gate(bool open) override { gate_open = open; }
  // Kept as the real backends keep it (vmi::KernelWaiters), except that a new call
  // replaces the previous waiter: tests start one plugin after another on a backend.
  void when_in_kernel(const vmi::KernelSpace& space, std::function<bool(vmi::Vcpu&)> fn) override {
    kernel_space = space;
    kernel_waiters = std::make_unique<vmi::KernelWaiters>();
    kernel_waiters->add(space, std::move(fn));
  }

  // Offers cpu to the when_in_kernel callback once, as a backend does: only when its
  // rip is in the caller's kernel space. True when the callback said it is done.
  bool run_kernel(vmi::Vcpu& cpu) {
    uint64_t rip = 0;
    if (!kernel_waiters || !cpu.read_reg(vmi::Reg::rip, rip)) return false;
    return kernel_waiters->offer(cpu, rip) == vmi::KernelWaiters::Offer::done;
  }
  bool hooked(uint64_t va) {
    std::lock_guard lock(mu);
    for (auto& [id, h] : hooks) if (h.first == va) return true;
    return false;
  }
  // Runs every hook at va (returns how many ran).
  int fire(uint64_t va, vmi::Vcpu& cpu) {
    std::vector<vmi::HookFn> fns;
    {
      std::lock_guard lock(mu);
      for (auto& [id, h] : hooks) {
        if (h.first != va) continue;
        if (!gate_open && gated.count(id)) {
          ++gated_skips;
          continue;
        }
        fns.push_back(h.second);
      }
    }
    for (auto& f : fns) f(cpu, va);
    return static_cast<int>(fns.size());
  }

  std::mutex mu;
  std::map<vmi::HookId, std::pair<uint64_t, vmi::HookFn>> hooks;
  std::unique_ptr<vmi::KernelWaiters> kernel_waiters;
  vmi::KernelSpace kernel_space;  // as the caller gave it
  std::set<vmi::HookId> gated;
  std::atomic<bool> gate_open{false};
  int gated_skips = 0;  // gated hooks not run because the gate was closed
  vmi::HookId next = 0;
  int removed = 0;
  std::string machine_name;  // what machine() says ("": unknown)
};

// --- a synthetic x86-64 Linux kernel ------------------------------------------
struct Synth {
  static constexpr uint64_t kText = 0xffffffff81000000ull;
  static constexpr uint64_t kBanner = 0xffffffff82000100ull;
  static constexpr uint64_t kPcpuHot = 0x1f000;  // per-CPU offset, not slid
  static constexpr uint64_t kCurrentOff = 0x8;   // pcpu_hot.current_task
  static constexpr uint32_t kPid = 0x100, kTgid = 0x104, kMm = 0x108, kRealParent = 0x110,
                            kGroupLeader = 0x118, kCred = 0x120, kComm = 0x200, kUid = 4;
  static inline const std::string kBannerText =
      "Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP "
      "PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-01-01)\n";
};

inline profile::Field field_at(uint64_t off) {
  profile::Field f;
  f.offset = off;
  f.type.kind = "base";
  f.type.name = "int";
  return f;
}

inline void add_symbol(profile::Profile& p, const std::string& name, uint64_t addr) {
  p.symbols[name].address = addr;
}

// Symbols and types of the synthetic kernel. with_dispatchers: x64_sys_call etc.
inline profile::Profile synthetic_profile(bool with_banner_text = true) {
  profile::Profile p;
  p.metadata.os = "linux";
  p.metadata.pointer_size = 8;
  add_symbol(p, "_text", Synth::kText);
  add_symbol(p, "linux_banner", Synth::kBanner);
  if (with_banner_text) p.symbols["linux_banner"].constant_data = Synth::kBannerText + '\0';
  add_symbol(p, "pcpu_hot", Synth::kPcpuHot);

  auto& hot = p.user_types["pcpu_hot"];
  hot.kind = "struct";
  hot.size = 64;
  hot.fields["current_task"] = field_at(Synth::kCurrentOff);

  auto& t = p.user_types["task_struct"];
  t.kind = "struct";
  t.size = 0x300;
  t.fields["pid"] = field_at(Synth::kPid);
  t.fields["tgid"] = field_at(Synth::kTgid);
  t.fields["mm"] = field_at(Synth::kMm);
  t.fields["real_parent"] = field_at(Synth::kRealParent);
  t.fields["group_leader"] = field_at(Synth::kGroupLeader);
  t.fields["cred"] = field_at(Synth::kCred);
  t.fields["comm"] = field_at(Synth::kComm);

  auto& c = p.user_types["cred"];
  c.kind = "struct";
  c.size = 64;
  c.fields["uid"] = field_at(Synth::kUid);

  // x86-64 struct pt_regs.
  auto& r = p.user_types["pt_regs"];
  r.kind = "struct";
  r.size = 168;
  const std::pair<const char*, uint64_t> regs[] = {
      {"r15", 0}, {"r14", 8}, {"r13", 16}, {"r12", 24}, {"bp", 32}, {"bx", 40}, {"r11", 48},
      {"r10", 56}, {"r9", 64}, {"r8", 72}, {"ax", 80}, {"cx", 88}, {"dx", 96}, {"si", 104},
      {"di", 112}, {"orig_ax", 120}, {"ip", 128}, {"cs", 136}, {"flags", 144}, {"sp", 152},
      {"ss", 160}};
  for (auto& [n, o] : regs) r.fields[n] = field_at(o);
  return p;
}

// pt_regs offsets used by tests to write a frame.
namespace ptregs {
inline constexpr uint64_t bp = 32, bx = 40, r10 = 56, r9 = 64, r8 = 72, ax = 80, cx = 88,
                          dx = 96, si = 104, di = 112, orig_ax = 120, sp = 152;
}

// A task in guest memory.
struct FakeTask {
  uint64_t addr;
  int32_t pid, tgid;
  std::string comm;
  uint64_t parent, leader, cred;
};

inline void write_task(FakeMemory& m, const FakeTask& t) {
  m.map(t.addr, 0x300);
  m.write_u32(t.addr + Synth::kPid, static_cast<uint32_t>(t.pid));
  m.write_u32(t.addr + Synth::kTgid, static_cast<uint32_t>(t.tgid));
  char comm[16] = {};
  std::memcpy(comm, t.comm.data(), std::min<size_t>(16, t.comm.size()));
  m.write(t.addr + Synth::kComm, comm, 16);
  m.write_u64(t.addr + Synth::kRealParent, t.parent);
  m.write_u64(t.addr + Synth::kGroupLeader, t.leader);
  m.write_u64(t.addr + Synth::kCred, t.cred);
}

inline void write_cred(FakeMemory& m, uint64_t addr, uint32_t uid) {
  m.map(addr, 64);
  m.write_u32(addr + Synth::kUid, uid);
}

// Function bytes at every symbol of the profile inside its kernel text (_text up to
// linux_banner), at run-time addresses: what the start-up self-check reads back at
// each hooked function.
inline void write_kernel_code(FakeMemory& m, const profile::Profile& p, uint64_t slide) {
  static constexpr uint8_t kCode[16] = {0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5,
                                        0x41, 0x57, 0x41, 0x56, 0x49, 0x89, 0xfe, 0x53};
  const uint64_t lo = p.symbol("_text").value_or(0), hi = p.symbol("linux_banner").value_or(0);
  for (const auto& [name, sym] : p.symbols)
    if (sym.address >= lo && sym.address < hi) m.write(sym.address + slide, kCode, sizeof kCode);
}

// --- what the self-check walks: init_task and the task list -------------------
struct SelfCheckSyms {
  static constexpr uint64_t kStext = Synth::kText, kEtext = 0xffffffff81e00000ull;
  static constexpr uint64_t kInitTask = 0xffffffff82a1a000ull;  // .data, link-time
  static constexpr uint64_t kInitCred = 0xffffffff82a5a000ull;
  static constexpr uint32_t kTasks = 0x80;  // task_struct.tasks (list_head)
};

// The synthetic profile plus _stext/_etext, init_task and task_struct.tasks.
inline profile::Profile self_check_profile() {
  profile::Profile p = synthetic_profile();
  add_symbol(p, "_stext", SelfCheckSyms::kStext);
  add_symbol(p, "_etext", SelfCheckSyms::kEtext);
  add_symbol(p, "init_task", SelfCheckSyms::kInitTask);
  p.user_types["task_struct"].fields["tasks"] = field_at(SelfCheckSyms::kTasks);
  return p;
}

// Links tasks (run-time addresses) into a circular task list through
// task_struct.tasks, in this order (the first one is the list's head: init_task).
inline void link_tasks(FakeMemory& m, const std::vector<uint64_t>& tasks) {
  for (size_t i = 0; i < tasks.size(); ++i) {
    const uint64_t next = tasks[(i + 1) % tasks.size()], prev = tasks[(i + tasks.size() - 1) % tasks.size()];
    m.write_u64(tasks[i] + SelfCheckSyms::kTasks, next + SelfCheckSyms::kTasks);
    m.write_u64(tasks[i] + SelfCheckSyms::kTasks + 8, prev + SelfCheckSyms::kTasks);
  }
}

// --- a synthetic arm64 kernel (48-bit VAs, 4 KiB pages) ----------------------
struct A64 {
  static constexpr uint64_t kText = 0xffff800008000000ull;
  static constexpr uint64_t kStext = kText + 0x10000, kEtext = kText + 0xf00000;
  static constexpr uint64_t kVectors = kText + 0x10800;
  static constexpr uint64_t kInvoke = kText + 0x28110;
  static constexpr uint64_t kRetSite = kText + 0x28300;  // in el0_svc_common, after the call
  static constexpr uint64_t kPerSyscall = kText + 0x100000;
  static constexpr uint64_t kBanner = kText + 0x1000100;
  // KASLR on arm64: anywhere in the vmalloc area, 64 KiB-aligned here (not 2 MiB).
  static constexpr uint64_t kSlide = 0x2a51b70000ull;
  static constexpr uint64_t kTtbr0 = 0x4321f000;
  static constexpr uint32_t kRegs = 0, kSp = 248, kPc = 256, kPstate = 264, kOrigX0 = 272, kSyscallno = 280;
  static inline const std::string kBannerText =
      "Linux version 6.1.0-50-cloud-arm64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.187-1\n";
};

// The synthetic arm64 kernel: symbols, pt_regs as arm64's BTF has it, mm_struct.pgd;
// task_struct and cred as the x86 one (Synth's offsets).
inline profile::Profile synthetic_arm64_profile() {
  profile::Profile p = synthetic_profile();
  p.symbols.clear();
  add_symbol(p, "_text", A64::kText);
  add_symbol(p, "_stext", A64::kStext);
  add_symbol(p, "_etext", A64::kEtext);
  add_symbol(p, "vectors", A64::kVectors);
  add_symbol(p, "invoke_syscall", A64::kInvoke);
  add_symbol(p, "el0_svc_common", A64::kRetSite - 0x40);
  add_symbol(p, "linux_banner", A64::kBanner);
  p.symbols["linux_banner"].constant_data = A64::kBannerText + '\0';
  p.user_types.erase("pcpu_hot");
  auto& mm = p.user_types["mm_struct"];
  mm.kind = "struct";
  mm.size = 0x400;
  mm.fields["pgd"] = field_at(0x48);
  auto& r = p.user_types["pt_regs"];
  r = {};
  r.kind = "struct";
  r.size = 336;
  for (auto [n, o] : std::initializer_list<std::pair<const char*, uint32_t>>{
           {"regs", A64::kRegs}, {"sp", A64::kSp}, {"pc", A64::kPc}, {"pstate", A64::kPstate},
           {"orig_x0", A64::kOrigX0}, {"syscallno", A64::kSyscallno}})
    r.fields[n] = field_at(o);
  return p;
}


}  // namespace vmitrace::testing

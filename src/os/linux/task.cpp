// The running task and its process context. Every pointer comes from guest memory
// (hostile): each is checked to be a kernel address before use and each read may
// fail, leaving the field marked (-1 / empty + flags) instead.
#include <cstring>

#include "os/linux/kernel.hpp"

namespace vmitrace::oslinux {
namespace {

bool read_i32(vmi::Vcpu& cpu, uint64_t va, int64_t& out) {
  uint32_t v = 0;
  if (!cpu.read_u32(va, v)) return false;
  out = static_cast<int32_t>(v);
  return true;
}

// What read_context remembers of a task (see kernel.hpp): valid while the task
// still has the same parent and cred pointers, in the same epoch of the same kernel.
struct RememberedContext {
  uint64_t task = 0, parent = 0, cred = 0;
  uint32_t epoch = 0, instance = 0;
  int64_t ppid = -1, uid = -1;
};
constexpr unsigned kRemembered = 256;  // per vCPU thread: 12 KiB

RememberedContext& remembered(uint64_t task) {
  static thread_local RememberedContext slots[kRemembered];
  // task_structs are ~10 KiB apart: mix the bits above the slab alignment.
  uint64_t h = (task >> 6) * 0x9e3779b97f4a7c15ull;
  return slots[h >> 56];
}

}  // namespace

bool LinuxKernel::current_task_slot(vmi::Vcpu& cpu, uint64_t& where, uint64_t* base_out) const {
  if (!current_.known || current_.in_sp_el0) return false;
  const uint64_t sym = current_.slid ? runtime(current_.where) : current_.where;
  if (!current_.per_cpu) {
    where = sym;
    return true;
  }
  uint64_t base = 0;
  const vmi::Reg seg = ptr_size_ == 8 ? vmi::Reg::gs_base : vmi::Reg::fs_base;
  if (!cpu.read_reg(seg, base) || base == 0) return false;
  if (base_out) *base_out = base;
  where = base + sym;
  if (ptr_size_ == 4) where &= 0xffffffffu;  // segment arithmetic wraps at 4 GiB
  return true;
}

uint64_t LinuxKernel::current_task(vmi::Vcpu& cpu) const {
  uint64_t where = 0, task = 0;
  if (current_.in_sp_el0)  // arm64: the kernel keeps `current` in SP_EL0 while it runs
    return cpu.read_reg(vmi::Reg::sp_el0, task) && is_kernel_pointer(task) ? task : 0;
  if (!current_task_slot(cpu, where) || !read_pointer(cpu, where, task) || !is_kernel_pointer(task))
    return 0;
  return task;
}

void LinuxKernel::read_context(vmi::Vcpu& cpu, uint64_t task, ProcessContext& out) const {
  out = ProcessContext{};
  if (task == 0 || !is_kernel_pointer(task)) {
    out.flags |= event::kFlagContextUnknown | event::kFlagUserUnknown;
    out.failed = kReadTask;
    return;
  }
  const TaskLayout& t = task_;
  // One read per window (a field outside them, or cut off, is read alone).
  vmi::WindowedRead w(cpu, task, windows_);
  auto i32 = [&](uint32_t off, int64_t& v) {
    uint64_t x = 0;
    if (!w.get_uint(off, 4, x)) return false;
    v = static_cast<int32_t>(x);
    return true;
  };
  auto ptr = [&](uint32_t off, uint64_t& v) { return w.get_uint(off, ptr_size_, v) && is_kernel_pointer(v); };

  const bool got_tid = i32(t.pid, out.tid);
  const bool got_pid = i32(t.tgid, out.pid);
  if (!got_tid || !got_pid) {
    out.failed |= kReadIds;
    if (!got_tid && !got_pid) out.flags |= event::kFlagContextUnknown;
  }
  // Untouched (empty) when unreadable.
  if (!w.get(t.comm, out.thread_name, event::kCommLen)) out.failed |= kReadComm;

  uint64_t parent = 0, cred = 0;
  const bool have_parent = t.tgid != kNoOffset && ptr(t.real_parent, parent);
  const bool have_cred = t.cred_uid != kNoOffset && ptr(t.cred, cred);
  RememberedContext& mem = remembered(task);
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed);
  if (have_parent && have_cred && mem.task == task && mem.parent == parent && mem.cred == cred &&
      mem.epoch == epoch && mem.instance == instance_) {
    out.ppid = mem.ppid;
    out.uid = mem.uid;
  } else {
    if (!have_parent || !read_i32(cpu, parent + t.tgid, out.ppid)) out.failed |= kReadParent;
    uint32_t uid = 0;
    if (have_cred && cpu.read_u32(cred + t.cred_uid, uid)) out.uid = uid;
    else out.failed |= kReadCred;
    if (out.ppid >= 0 && out.uid >= 0)
      mem = {task, parent, cred, epoch, instance_, out.ppid, out.uid};
  }
  if (out.uid < 0) out.flags |= event::kFlagUserUnknown;

  uint64_t p = 0;
  if (!ptr(t.group_leader, p)) {
    out.failed |= kReadLeader;
  } else if (p == task) {
    std::memcpy(out.process_name, out.thread_name, event::kCommLen);
  } else if (cpu.read_virt(p + t.comm, out.process_name, event::kCommLen) != event::kCommLen) {
    std::memset(out.process_name, 0, event::kCommLen);
    out.failed |= kReadLeader;
  }
}

}  // namespace vmitrace::oslinux

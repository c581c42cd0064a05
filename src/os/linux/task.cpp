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

}  // namespace

uint64_t LinuxKernel::current_task(vmi::Vcpu& cpu) const {
  if (!current_.known) return 0;
  uint64_t where = 0;
  if (current_.per_cpu) {
    uint64_t base = 0;
    if (!cpu.read_reg(vmi::Reg::gs_base, base) || base == 0) return 0;
    where = base + current_.where;
  } else {
    where = runtime(current_.where);
  }
  uint64_t task = 0;
  if (!read_pointer(cpu, where, task) || !is_kernel_pointer(task)) return 0;
  return task;
}

void LinuxKernel::read_context(vmi::Vcpu& cpu, uint64_t task, ProcessContext& out) const {
  out = ProcessContext{};
  if (task == 0 || !is_kernel_pointer(task)) {
    out.flags |= event::kFlagContextUnknown | event::kFlagUserUnknown;
    return;
  }
  const TaskLayout& t = task_;
  bool got_any = false;
  if (t.pid != kNoOffset && read_i32(cpu, task + t.pid, out.tid)) got_any = true;
  if (t.tgid != kNoOffset && read_i32(cpu, task + t.tgid, out.pid)) got_any = true;
  if (t.comm != kNoOffset &&
      cpu.read_virt(task + t.comm, out.thread_name, event::kCommLen) != event::kCommLen)
    std::memset(out.thread_name, 0, event::kCommLen);
  if (!got_any) out.flags |= event::kFlagContextUnknown;

  uint64_t p = 0;
  if (t.real_parent != kNoOffset && t.tgid != kNoOffset &&
      read_pointer(cpu, task + t.real_parent, p) && is_kernel_pointer(p))
    read_i32(cpu, p + t.tgid, out.ppid);

  if (t.group_leader != kNoOffset && t.comm != kNoOffset &&
      read_pointer(cpu, task + t.group_leader, p) && is_kernel_pointer(p)) {
    if (p == task) {
      std::memcpy(out.process_name, out.thread_name, event::kCommLen);
    } else if (cpu.read_virt(p + t.comm, out.process_name, event::kCommLen) !=
               event::kCommLen) {
      std::memset(out.process_name, 0, event::kCommLen);
    }
  }

  uint32_t uid = 0;
  if (t.cred != kNoOffset && t.cred_uid != kNoOffset &&
      read_pointer(cpu, task + t.cred, p) && is_kernel_pointer(p) &&
      cpu.read_u32(p + t.cred_uid, uid)) {
    out.uid = uid;
  } else {
    out.flags |= event::kFlagUserUnknown;
  }
}

}  // namespace vmitrace::oslinux

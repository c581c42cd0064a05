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
  const uint64_t sym = current_.slid ? runtime(current_.where) : current_.where;
  if (current_.per_cpu) {
    uint64_t base = 0;
    const vmi::Reg seg = ptr_size_ == 8 ? vmi::Reg::gs_base : vmi::Reg::fs_base;
    if (!cpu.read_reg(seg, base) || base == 0) return 0;
    where = base + sym;
    if (ptr_size_ == 4) where &= 0xffffffffu;  // segment arithmetic wraps at 4 GiB
  } else {
    where = sym;
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
  // One read per window; a field is usable only if its bytes were all read.
  uint8_t buf[TaskWindows::kMaxBytes];
  struct Got { uint32_t offset, length, at; } got[TaskWindows::kMax];
  uint32_t used = 0;
  for (unsigned i = 0; i < windows_.count; ++i) {
    const auto& w = windows_.win[i];
    size_t n = cpu.read_virt(task + w.offset, buf + used, w.length);
    got[i] = {w.offset, static_cast<uint32_t>(n), used};
    used += w.length;
  }
  auto field = [&](uint32_t off, uint32_t len) -> const uint8_t* {
    if (off == kNoOffset) return nullptr;
    for (unsigned i = 0; i < windows_.count; ++i)
      if (off >= got[i].offset && off + len <= got[i].offset + got[i].length)
        return buf + got[i].at + (off - got[i].offset);
    return nullptr;
  };
  auto i32 = [&](uint32_t off, int64_t& v) {
    const uint8_t* p = field(off, 4);
    if (!p) return false;
    int32_t x;
    std::memcpy(&x, p, 4);
    v = x;
    return true;
  };
  auto ptr = [&](uint32_t off, uint64_t& v) {
    const uint8_t* p = field(off, ptr_size_);
    if (!p) return false;
    v = 0;
    std::memcpy(&v, p, ptr_size_);  // little-endian
    return is_kernel_pointer(v);
  };

  bool got_any = i32(t.pid, out.tid);
  got_any = i32(t.tgid, out.pid) || got_any;
  if (const uint8_t* c = field(t.comm, event::kCommLen)) std::memcpy(out.thread_name, c, event::kCommLen);
  if (!got_any) out.flags |= event::kFlagContextUnknown;

  uint64_t p = 0;
  if (t.tgid != kNoOffset && ptr(t.real_parent, p)) read_i32(cpu, p + t.tgid, out.ppid);

  if (t.comm != kNoOffset && ptr(t.group_leader, p)) {
    if (p == task) {
      std::memcpy(out.process_name, out.thread_name, event::kCommLen);
    } else if (cpu.read_virt(p + t.comm, out.process_name, event::kCommLen) != event::kCommLen) {
      std::memset(out.process_name, 0, event::kCommLen);
    }
  }

  uint32_t uid = 0;
  if (t.cred_uid != kNoOffset && ptr(t.cred, p) && cpu.read_u32(p + t.cred_uid, uid)) {
    out.uid = uid;
  } else {
    out.flags |= event::kFlagUserUnknown;
  }
}

}  // namespace vmitrace::oslinux

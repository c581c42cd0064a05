// The start-up self-check: before any hook is placed, does the profile fit the
// kernel that runs? The banner (kaslr.cpp) says which kernel this is; a profile
// edited by hand, or built from another build with the same banner, can still put
// a hook, the current task or a task_struct field in the wrong place, which would
// give events without processes (or no events) and exit 0. So the check reads back
// what the tracer relies on and names the first symbol or field that does not fit.
// Every value comes from guest memory (hostile): each read is bounded, each pointer
// checked to be a kernel address before use, the task-list walk bounded and
// checked for loops.
#include <cstdio>
#include <cstring>

#include "common/error.hpp"
#include "os/linux/kernel.hpp"

namespace vmitrace::oslinux {
namespace {

// Counts the check's guest reads: its cost, said when it passes.
class CountingVcpu : public vmi::Vcpu {
 public:
  explicit CountingVcpu(vmi::Vcpu& c) : c_(c) {}
  unsigned index() const override { return c_.index(); }
  bool read_reg(vmi::Reg r, uint64_t& out) override { return c_.read_reg(r, out); }
  size_t read_virt(uint64_t va, void* buf, size_t len) override {
    ++reads;
    return c_.read_virt(va, buf, len);
  }
  uint64_t timestamp_ns() override { return c_.timestamp_ns(); }
  unsigned pointer_size() const override { return c_.pointer_size(); }
  uint64_t reads = 0;

 private:
  vmi::Vcpu& c_;
};

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// A comm as read, quoted, escaped for a one-line message (at most 16 bytes).
std::string quoted(const char* c) {
  std::string s = "\"";
  for (size_t i = 0; i < event::kCommLen && c[i]; ++i) {
    const auto b = static_cast<unsigned char>(c[i]);
    if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
      s += static_cast<char>(b);
    } else {
      char e[8];
      std::snprintf(e, sizeof e, "\\x%02x", b);
      s += e;
    }
  }
  return s + "\"";
}

bool comm_terminated(const char* c) { return std::memchr(c, 0, event::kCommLen) != nullptr; }

// NUL-terminated within 16 bytes, not empty, no control character: what the kernel
// keeps there (user-chosen names may hold any byte >= 0x20, UTF-8 included).
bool comm_plausible(const char* c) {
  if (!comm_terminated(c) || c[0] == 0) return false;
  for (size_t i = 0; c[i]; ++i) {
    const auto b = static_cast<unsigned char>(c[i]);
    if (b < 0x20 || b == 0x7f) return false;
  }
  return true;
}

bool is_swapper(const char* c, bool cpu0) {
  if (!comm_terminated(c)) return false;
  const std::string_view s(c);
  if (cpu0) return s == "swapper" || s == "swapper/0";
  return s == "swapper" || s.rfind("swapper/", 0) == 0;
}

bool pid_plausible(int64_t v) { return v >= 0 && v < kPidLimit; }

// What the check reads of one task, through the per-event field windows (usually
// one read).
struct TaskView {
  bool ids = false, comm_ok = false;
  int64_t pid = -1, tgid = -1;
  char comm[event::kCommLen] = {};
  bool parent_ok = false, leader_ok = false, cred_ok = false;
  uint64_t parent = 0, leader = 0, cred = 0;

  // comm_verified: init_task proved the comm offset, so only what the kernel itself
  // guarantees is asked of the name (a process may call itself anything, even "" or
  // control characters, and must not be able to make the check refuse tracing).
  // Only idle tasks (swapper/N) have pid 0: zeroed memory is no task.
  bool plausible(bool comm_verified) const {
    if (!ids || !pid_plausible(pid) || !pid_plausible(tgid)) return false;
    if (pid == 0) return tgid == 0 && comm_ok && is_swapper(comm, false);
    return comm_verified ? comm_ok && comm_terminated(comm) : comm_plausible(comm);
  }
  std::string describe() const {
    if (!ids && !comm_ok) return "unreadable";
    return "pid " + std::to_string(pid) + ", tgid " + std::to_string(tgid) + ", comm " +
           (comm_ok ? quoted(comm) : std::string("unreadable"));
  }
};

}  // namespace

std::string LinuxKernel::describe_read(ContextRead r) const {
  auto at = [](uint32_t off) { return "+" + hex(off); };
  switch (r) {
    case kReadTask:
      if (current_.in_sp_el0) return "the running task (SP_EL0, a kernel address)";
      return "the running task (" + current_.source + " at " +
             (current_.per_cpu ? std::string(ptr_size_ == 8 ? "GS" : "FS") + " base + " : std::string()) +
             hex(current_.where) + ")";
    case kReadIds: return "task_struct.pid/tgid at " + at(task_.pid) + "/" + at(task_.tgid);
    case kReadComm: return "task_struct.comm at " + at(task_.comm);
    case kReadParent: return "the parent's tgid (task_struct.real_parent at " + at(task_.real_parent) + ")";
    case kReadLeader: return "the group leader's comm (task_struct.group_leader at " + at(task_.group_leader) + ")";
    case kReadCred: return "cred (task_struct.cred at " + at(task_.cred) + ", cred.uid at " + at(task_.cred_uid) + ")";
  }
  return "?";
}

SelfCheck LinuxKernel::self_check(vmi::Vcpu& guest, std::span<const CodeSite> sites) const {
  CountingVcpu cpu(guest);
  SelfCheck r;
  auto finish = [&](SelfCheck::Verdict v, std::string msg) {
    r.verdict = v;
    r.message = std::move(msg);
    r.reads = cpu.reads;
    return r;
  };
  auto fail = [&](const std::string& what, const std::string& detail) {
    return finish(SelfCheck::Verdict::fail, what_ + ": " + what + " does not fit the running kernel (" + detail + ")");
  };
  // Said only if the vCPUs never get a per-CPU base (see the plugin's bound).
  auto not_ready = [&](const std::string& detail) {
    return finish(SelfCheck::Verdict::not_ready,
                  what_ + ": " + current_.source + " does not fit the running kernel (" + detail + ")");
  };
  auto view = [&](uint64_t task) {
    TaskView v;
    vmi::WindowedRead w(cpu, task, windows_);
    uint64_t x = 0;
    const bool p = w.get_uint(task_.pid, 4, x);
    v.pid = static_cast<int32_t>(x);
    const bool t = w.get_uint(task_.tgid, 4, x);
    v.tgid = static_cast<int32_t>(x);
    v.ids = p && t;
    v.comm_ok = w.get(task_.comm, v.comm, event::kCommLen);
    v.parent_ok = w.get_uint(task_.real_parent, ptr_size_, v.parent) && is_kernel_pointer(v.parent);
    v.leader_ok = w.get_uint(task_.group_leader, ptr_size_, v.leader) && is_kernel_pointer(v.leader);
    v.cred_ok = w.get_uint(task_.cred, ptr_size_, v.cred) && is_kernel_pointer(v.cred);
    return v;
  };

  // The vCPU must have its per-CPU base (not yet in early boot; a kernel entry
  // before swapgs still has the user's GS): else another vCPU or moment decides.
  uint64_t slot = 0, base = 0, task = 0;
  if (current_.in_sp_el0) {
    // arm64 sets SP_EL0 to init_task before start_kernel: not a kernel address means
    // this vCPU is not in the kernel proper yet.
    if (!cpu.read_reg(vmi::Reg::sp_el0, task) || !is_kernel_pointer(task))
      return not_ready("SP_EL0 " + hex(task) + " is not a kernel address");
  } else if (!current_task_slot(cpu, slot, &base)) {
    return not_ready("the vCPU has no per-CPU base");
  }
  if (!current_.in_sp_el0 && ptr_size_ == 8 && current_.per_cpu && !is_kernel_pointer(base))
    return not_ready("the vCPU's GS base " + hex(base) + " is not a kernel address");
  if (!current_.in_sp_el0 && !is_kernel_pointer(slot)) {
    if (ptr_size_ == 4)  // FS base is any number on i386: maybe the user's still
      return not_ready("FS base " + hex(base) + " + " + hex(runtime(current_.where)) + " is " + hex(slot) +
                       ", not a kernel address");
    return fail(current_.source, "GS base " + hex(base) + " + " + hex(current_.where) + " is " + hex(slot) +
                                     ", not a kernel address");
  }

  // 1. The hooked functions: readable code at their run-time addresses.
  for (const CodeSite& s : sites) {
    uint8_t code[16];
    const uint64_t va = runtime(s.link);
    if (cpu.read_virt(va, code, sizeof code) != sizeof code)
      return fail(std::string(s.symbol), "its code at " + hex(va) + " is unreadable");
    bool zero = true, int3 = true;
    for (uint8_t b : code) {
      zero &= b == 0;
      int3 &= b == 0xcc;
    }
    if (zero || int3)
      return fail(std::string(s.symbol), "its code at " + hex(va) + " reads as " + (zero ? "zeros" : "int3 padding"));
  }

  // 2. init_task: the idle task of CPU 0, its own parent and leader, root's cred.
  std::string summary = std::to_string(sites.size()) + " hooked function" + (sites.size() == 1 ? "" : "s");
  const auto init_link = prof_.symbol("init_task");
  const uint64_t init = init_link ? runtime(*init_link) : 0;
  if (init_link) {
    const TaskView v = view(init);
    if (!v.ids && !v.comm_ok) return fail("init_task", "unreadable at " + hex(init));
    const bool fit[] = {v.ids && v.pid == 0, v.ids && v.tgid == 0, v.comm_ok && is_swapper(v.comm, true),
                        v.parent_ok && v.parent == init, v.leader_ok && v.leader == init};
    unsigned fits = 0;
    for (bool f : fit) fits += f;
    // Most fields wrong: the symbol, not one offset, is what does not fit.
    if (fits <= 2) return fail("init_task", "at " + hex(init) + ": " + v.describe() + ", not the idle task");
    if (!fit[0]) return fail("task_struct.pid", "init_task reads pid " + std::to_string(v.pid));
    if (!fit[1]) return fail("task_struct.tgid", "init_task reads tgid " + std::to_string(v.tgid));
    if (!fit[2]) return fail("task_struct.comm", "init_task reads comm " + (v.comm_ok ? quoted(v.comm) : std::string("unreadable")));
    if (!fit[3]) return fail("task_struct.real_parent", "init_task's real_parent reads " + hex(v.parent) + ", not init_task");
    if (!fit[4]) return fail("task_struct.group_leader", "init_task's group_leader reads " + hex(v.leader) + ", not init_task");
    uint32_t uid = 0;
    if (!v.cred_ok || !cpu.read_u32(v.cred + task_.cred_uid, uid))
      return fail("task_struct.cred", "init_task's cred " + hex(v.cred) + " is unreadable");
    if (uid != 0) return fail("cred.uid", "init_task's cred reads uid " + std::to_string(uid));
    summary += ", init_task " + quoted(v.comm);
  }

  // 3. The vCPU's current task. With init_task verified, the offsets are right and a
  // task that reads wrong means the per-CPU symbol points elsewhere.
  if (!current_.in_sp_el0 && !read_pointer(cpu, slot, task))
    return fail(current_.source, "the per-CPU slot at " + hex(slot) + " is unreadable");
  if (!is_kernel_pointer(task))
    return fail(current_.source, "the per-CPU slot at " + hex(slot) + " reads " + hex(task) + ", not a kernel address");
  const TaskView cur = view(task);
  const bool idle = cur.ids && cur.pid == 0;
  const bool verified = init_link.has_value();
  if (!cur.plausible(verified)) {
    const std::string detail = "the current task " + hex(task) + " reads " + cur.describe();
    if (init_link) return fail(current_.source, detail);
    if (!cur.ids || !pid_plausible(cur.pid)) return fail("task_struct.pid", detail);
    if (!pid_plausible(cur.tgid)) return fail("task_struct.tgid", detail);
    return fail("task_struct.comm", detail);
  }
  if (!cur.parent_ok)
    return fail("task_struct.real_parent", "the current task's real_parent reads " + hex(cur.parent) + ", not a kernel address");
  const TaskView parent = view(cur.parent);
  if (!parent.plausible(verified))
    return fail("task_struct.real_parent", "the current task's parent " + hex(cur.parent) + " reads " + parent.describe());
  if (!cur.leader_ok)
    return fail("task_struct.group_leader", "the current task's group_leader reads " + hex(cur.leader) + ", not a kernel address");
  if (cur.leader != task) {
    int64_t leader_pid = -1;
    uint32_t x = 0;
    if (cpu.read_u32(cur.leader + task_.pid, x)) leader_pid = static_cast<int32_t>(x);
    if (idle || leader_pid != cur.tgid)
      return fail("task_struct.group_leader", "the current task's group_leader " + hex(cur.leader) + " reads pid " +
                                                  std::to_string(leader_pid) + ", not its tgid " + std::to_string(cur.tgid));
  }
  uint32_t uid = 0;
  if (!cur.cred_ok || !cpu.read_u32(cur.cred + task_.cred_uid, uid))
    return fail("task_struct.cred", "the current task's cred " + hex(cur.cred) + " is unreadable");
  summary += ", the current task (pid " + std::to_string(cur.pid) + " " + quoted(cur.comm) + ", parent pid " +
             std::to_string(parent.pid) + ")";

  // 4. The task list (thread-group leaders, linked through task_struct.tasks) leads
  // back to init_task: from the current task's leader, or all the way round from
  // init_task when an idle task (never on the list) runs. Each node is one read
  // (its list_head and, for the first ones, pid..comm); next->prev must point back.
  if (task_.tasks == kNoOffset) {
    summary += "; the task list not walked (no task_struct.tasks)";
  } else if (idle && !init_link) {
    summary += "; the task list not walked (an idle task runs and there is no init_task)";
  } else {
    const uint64_t start = (idle ? init : cur.leader) + task_.tasks;
    const uint64_t target = init_link ? init + task_.tasks : start;
    const vmi::FieldSpan node_fields[] = {{task_.tasks, 2 * ptr_size_}, {task_.pid, 4}, {task_.tgid, 4},
                                          {task_.comm, event::kCommLen}};
    const vmi::FieldWindows node_windows = vmi::plan_field_windows(node_fields, 768, vmi::FieldWindows::kMaxBytes);
    constexpr unsigned kValidated = 64;  // nodes whose pid/tgid/comm are checked too
    auto list_fail = [&](unsigned step, const std::string& why) {
      return fail("task_struct.tasks", "the task list from " + hex(start - task_.tasks) + " " + why + " after " +
                                           std::to_string(step) + " step" + (step == 1 ? "" : "s"));
    };
    uint64_t node = start, next = 0;
    if (!read_pointer(cpu, start, next)) return list_fail(0, "is unreadable");
    uint64_t tortoise = start;  // Brent's cycle detection
    unsigned power = 1, lam = 0, step = 0;
    for (;;) {
      ++step;
      if (next == target) break;
      if (step > kMaxTaskWalk) return list_fail(step - 1, "does not reach init_task");
      if (!is_kernel_pointer(next)) return list_fail(step, "leads to " + hex(next) + ", not a kernel address");
      const uint64_t t = next - task_.tasks;
      vmi::WindowedRead w(cpu, t, node_windows);
      uint64_t nn = 0, np = 0;
      if (!w.get_uint(task_.tasks, ptr_size_, nn) || !w.get_uint(task_.tasks + ptr_size_, ptr_size_, np))
        return list_fail(step, "reaches " + hex(next) + ", which is unreadable");
      // The first node may be a task leaving the list (its own prev is poisoned).
      if (step > 1 && np != node)
        return list_fail(step, "is not doubly linked at " + hex(next) + " (prev " + hex(np) + ", expected " + hex(node) + ")");
      if (step <= kValidated) {
        uint64_t p = 0, g = 0;
        char comm[event::kCommLen] = {};
        const bool ok = w.get_uint(task_.pid, 4, p) && w.get_uint(task_.tgid, 4, g) &&
                        w.get(task_.comm, comm, event::kCommLen);
        const int64_t pid = static_cast<int32_t>(p), tgid = static_cast<int32_t>(g);
        if (!ok || pid <= 0 || pid >= kPidLimit || tgid != pid || !comm_terminated(comm))
          return list_fail(step, "reaches task " + hex(t) + " reading pid " + std::to_string(pid) + ", tgid " +
                                     std::to_string(tgid) + ": not a process");
      }
      if (next == tortoise) return list_fail(step, "loops without reaching init_task");
      if (lam == power) {
        tortoise = next;
        power *= 2;
        lam = 0;
      }
      ++lam;
      node = next;
      next = nn;
    }
    r.tasks_walked = step;
    summary += ", the task list (" + std::to_string(step) + " step" + (step == 1 ? "" : "s") +
               (init_link ? " to init_task)" : " round)");
  }
  return finish(SelfCheck::Verdict::pass,
                what_ + ": the profile fits the running kernel: " + summary + "; " + std::to_string(cpu.reads) +
                    " guest reads");
}

}  // namespace vmitrace::oslinux

// The Linux guest kernel as the syscalls plugin sees it: where the kernel is
// (KASLR slide), which task runs on a vCPU, and that task's process context.
// Everything the hot path needs (offsets, per-CPU location) is resolved from the
// profile once, at construction; the hot path never touches the profile's maps.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <string_view>

#include "event/record.hpp"
#include "profile/profile.hpp"
#include "vmi/field_windows.hpp"
#include "vmi/vmi.hpp"

namespace vmitrace::oslinux {

inline constexpr uint32_t kNoOffset = UINT32_MAX;  // field absent from the profile

// The kernel's architecture, told from the profile (arch_of): what differs is the
// pt_regs layout, where the running task is found, how KASLR is undone and where
// kernel addresses lie. Everything else (tasks, files, contexts) is shared.
enum class Arch : uint8_t { x86_64, i386, arm64 };
// The profile's metadata.architecture, else what its pt_regs shows
// (profile::infer_architecture), else arm64 when its symbols are arm64's
// (__arm64_sys_*, invoke_syscall), i386 for 4-byte pointers, x86-64 otherwise.
Arch arch_of(const profile::Profile& p);
const char* arch_name(Arch a);  // as profiles name it: "x86_64", "i386", "arm64"

// struct pt_regs offsets (x86-64 names; i386 has the same field names; on arm64
// ax is regs[0], orig_ax syscallno, sp and ip are sp and pc).
// PSR_MODE32_BIT of arm64's pt_regs->pstate: the task was in AArch32 when it entered
// the kernel (its syscall uses arm's EABI numbers and 32-bit arguments).
inline constexpr uint64_t kPsrMode32 = 0x10;

struct PtRegsLayout {
  uint32_t di = kNoOffset, si = kNoOffset, dx = kNoOffset, r10 = kNoOffset, r8 = kNoOffset,
           r9 = kNoOffset, bx = kNoOffset, cx = kNoOffset, bp = kNoOffset, ax = kNoOffset,
           orig_ax = kNoOffset, sp = kNoOffset, ip = kNoOffset;
  uint32_t pstate = kNoOffset;  // arm64: PSR_MODE32_BIT (0x10) marks an AArch32 task
  // The six syscall arguments of a native call and of a 32-bit compat call (x86-64:
  // di si dx r10 r8 r9 / bx cx dx si di bp; i386: bx..bp both; arm64: regs[0..5] both).
  uint32_t arg[6] = {kNoOffset, kNoOffset, kNoOffset, kNoOffset, kNoOffset, kNoOffset};
  uint32_t compat_arg[6] = {kNoOffset, kNoOffset, kNoOffset, kNoOffset, kNoOffset, kNoOffset};
  uint32_t size = 0;  // bytes read in one go at each hook (covers every field above)
};

struct TaskLayout {
  uint32_t pid = kNoOffset, tgid = kNoOffset, comm = kNoOffset, real_parent = kNoOffset,
           group_leader = kNoOffset, cred = kNoOffset, mm = kNoOffset;
  uint32_t tasks = kNoOffset;  // the list of thread-group leaders (start-up self-check only)
  uint32_t cred_uid = kNoOffset;
};

// The task_struct fields read per event, grouped into a few contiguous windows
// (vmi/field_windows.hpp): one guest read fetches several fields.
using TaskWindows = vmi::FieldWindows;

// Offsets for fd -> path (files.cpp): task->files->fdt->fd[n] -> struct file ->
// f_path {mnt, dentry}; the d_path walk over dentries and struct mount. `usable`
// is false when the profile lacks any of them (no *_path keys then).
struct FileLayout {
  uint32_t task_files = kNoOffset, files_fdt = kNoOffset, fdt_max_fds = kNoOffset,
           fdt_fd = kNoOffset, file_path = kNoOffset, path_mnt = kNoOffset,
           path_dentry = kNoOffset, dentry_parent = kNoOffset, dentry_name = kNoOffset,
           dentry_inode = kNoOffset, dentry_sb = kNoOffset, dentry_iname = kNoOffset,
           qstr_len = kNoOffset, qstr_name = kNoOffset, inode_ino = kNoOffset,
           sb_magic = kNoOffset, mount_parent = kNoOffset, mount_mountpoint = kNoOffset,
           mount_mnt = kNoOffset, vfsmount_root = kNoOffset;
  // The fdtable and fd array embedded in files_struct (used while a process has at
  // most NR_OPEN_DEFAULT fds): with them, one read of files_struct gives the file.
  uint32_t files_fdtab = kNoOffset, files_fd_array = kNoOffset;
  uint32_t task_fs = kNoOffset, fs_pwd = kNoOffset;  // task->fs->pwd: the cwd (AT_FDCWD)
  uint32_t iname_len = 0;   // inline name bytes in the dentry (DNAME_INLINE_LEN)
  uint32_t dentry_win = 0;  // bytes of one dentry read (d_parent .. end of d_iname/d_sb)
  uint32_t dentry_lo = 0;   // first offset of that window
  uint32_t mount_lo = 0, mount_win = 0;
  bool usable = false;
};

// Resolves FileLayout from the profile (files.cpp).
FileLayout file_layout_from(const profile::Profile& p, unsigned ptr_size);

// Limits of one fd -> path resolution (hostile memory: a dentry loop, a 4 GiB name).
inline constexpr unsigned kMaxPathDepth = 48;   // dentries + mount crossings walked
inline constexpr size_t kMaxPathLen = 512;      // bytes of path kept (the tail when longer)
inline constexpr int64_t kMaxFd = 1 << 20;      // fds above are not looked up

// Where the pointer to the running task lives. x86-64: GS base + the per-CPU
// symbol (a zero-based offset, not moved by KASLR). i386: FS base (the kernel keeps
// __per_cpu_offset[cpu] in the FS segment) + the symbol's link address, which is
// an ordinary kernel address and moves with the KASLR slide.
struct CurrentTask {
  bool in_sp_el0 = false;  // arm64: the task pointer is SP_EL0 itself (no memory read)
  bool per_cpu = true;   // relative to the per-CPU base (GS on x86-64, FS on i386)
  bool slid = false;     // i386: `where` is a link-time address (add the slide)
  uint64_t where = 0;    // per-CPU offset, or link-time address
  bool known = false;
  std::string source;    // "pcpu_hot.current_task" / "current_task" / "SP_EL0" (for messages)
};

// The guest reads behind a process context, as bits of ProcessContext::failed: which
// of them failed (read_context sets them on its failure paths only).
enum ContextRead : uint8_t {
  kReadTask = 1,     // the running task (per-CPU current_task)
  kReadIds = 2,      // task_struct.pid / tgid
  kReadComm = 4,     // task_struct.comm
  kReadParent = 8,   // task_struct.real_parent -> its tgid
  kReadLeader = 16,  // task_struct.group_leader -> its comm
  kReadCred = 32,    // task_struct.cred -> cred.uid
};
inline constexpr unsigned kContextReads = 6;

// Process context of one task, as carried in every event record. Fields that could
// not be read keep -1 (ids) / empty names and set flags (event::kFlag*); `failed`
// says which reads failed (ContextRead bits).
struct ProcessContext {
  int64_t pid = -1, tid = -1, ppid = -1, uid = -1;
  char process_name[event::kCommLen] = {};
  char thread_name[event::kCommLen] = {};
  uint32_t flags = 0;
  uint8_t failed = 0;
};

// A hooked kernel function (symbol, link-time address), for the self-check.
struct CodeSite {
  std::string_view symbol;
  uint64_t link = 0;
};

// Link-time [start, end) of the kernel text in a profile: _stext (else _text, else its
// lowest kernel address) up to _etext, else up to the first of the sections that
// follow the text (__start_rodata, _sdata, ...; linux_banner lives in .rodata).
std::pair<uint64_t, uint64_t> kernel_text_range(const profile::Profile& p);
// Throws Error("WHAT: SYMBOL at 0x... lies outside the kernel text (...)") for a site
// outside kernel_text_range(p): a profile that contradicts itself, no guest needed.
void check_code_sites(const profile::Profile& p, std::span<const CodeSite> sites, const std::string& what);

// The start-up self-check's verdict (LinuxKernel::self_check).
struct SelfCheck {
  enum class Verdict { pass, not_ready, fail };
  Verdict verdict = Verdict::not_ready;
  // fail: "task_struct.pid does not fit the running kernel (init_task reads pid 7)";
  // pass: what was checked; not_ready: why the vCPU could not be used.
  std::string message;
  uint64_t reads = 0;         // guest memory reads it made
  unsigned tasks_walked = 0;  // task-list steps back to init_task
};
// Bounds of the self-check's task-list walk and of a plausible pid (PID_MAX_LIMIT).
inline constexpr unsigned kMaxTaskWalk = 32768;
inline constexpr int64_t kPidLimit = 4 * 1024 * 1024;

// Where Linux runs kernel code: x86-64's canonical upper half; i386 above
// PAGE_OFFSET, 0xc0000000 with the default 3G/1G split (VMSPLIT_* kernels, with a
// lower PAGE_OFFSET, are not supported). Given to Backend::when_in_kernel.
inline constexpr vmi::KernelSpace kKernelSpace{vmi::kUpperHalf, {0xc0000000ull, 0xffffffffull}};
// arm64 with 48-bit virtual addresses: TTBR1's half, from the linear map at
// 0xffff000000000000 (task_structs live there) through the kernel image (vmalloc area).
inline constexpr vmi::KernelSpace kArm64KernelSpace{{0xffff000000000000ull, UINT64_MAX}, {}};
inline constexpr const vmi::KernelSpace& kernel_space(Arch a) {
  return a == Arch::arm64 ? kArm64KernelSpace : kKernelSpace;
}

class LinuxKernel {
 public:
  // Resolves symbols and offsets; throws vmitrace::Error("WHAT: problem") when the
  // profile lacks something the tracer cannot work without (linux_banner, the
  // current task's per-CPU symbol, task_struct and the fields of every event) or
  // contradicts itself (a field outside its structure).
  LinuxKernel(const profile::Profile& p, std::string what);

  const profile::Profile& profile() const { return prof_; }
  const std::string& what() const { return what_; }
  unsigned pointer_size() const { return ptr_size_; }
  Arch arch() const { return arch_; }
  const PtRegsLayout& pt_regs() const { return regs_; }
  const TaskLayout& task_layout() const { return task_; }
  const CurrentTask& current_task_location() const { return current_; }

  // --- KASLR ---------------------------------------------------------------
  enum class Locate { found, retry, mismatch };
  // Looks for linux_banner at every 2 MiB-aligned slide of the kernel text range
  // (arm64, whose image may be anywhere in a 2^46-byte area: at VBAR_EL1 minus the
  // link address of `vectors`, else at each 64 KiB slide that puts the vCPU's pc
  // inside the kernel text), from a vCPU in kernel mode. `found`: slide() is set. `retry`: nothing readable
  // matched (e.g. KPTI user page tables at this moment); call again later.
  // `mismatch`: the profile is not this kernel; *error says why (one line).
  Locate locate(vmi::Vcpu& cpu, std::string* error);
  bool located() const { return located_; }
  uint64_t slide() const { return slide_; }
  // Only for tests and for callers that learnt the slide elsewhere.
  void set_slide(uint64_t s) { slide_ = s; located_ = true; }
  uint64_t runtime(uint64_t link_address) const { return link_address + slide_; }

  // --- start-up self-check (self_check.cpp) ---------------------------------
  // After locate(), before hooks are placed: does the profile fit the kernel that
  // runs on `cpu`? Reads each site's code, init_task (pid 0, comm swapper, itself
  // as parent and leader, root cred), the vCPU's current task (plausible ids and
  // comm, its parent, leader and cred) and walks the task list back to init_task.
  // `not_ready` when the vCPU cannot tell yet (no per-CPU base: early boot, or
  // kernel entry before swapgs). Every read is bounded; see kMaxTaskWalk.
  SelfCheck self_check(vmi::Vcpu& cpu, std::span<const CodeSite> sites) const;
  // Names the guest read behind a ContextRead bit, for warnings:
  // "task_struct.comm at +0xba0".
  std::string describe_read(ContextRead r) const;

  // --- hot path (vCPU thread; bounded reads, no allocation) ---------------
  bool is_kernel_pointer(uint64_t p) const;
  // The running task on this vCPU (kernel mode, after swapgs); 0 when unreadable.
  uint64_t current_task(vmi::Vcpu& cpu) const;
  // PID = tgid, TID = pid, PPID = real_parent->tgid, ProcessName =
  // group_leader->comm, ThreadName = comm, UserId = cred->uid.
  // The task's own fields are read on every call (one read in the usual layout);
  // PPID and UserId are remembered per vCPU thread as long as the task still points
  // at the same parent and the same (immutable) cred, saving two guest reads.
  void read_context(vmi::Vcpu& cpu, uint64_t task, ProcessContext& out) const;
  // Forgets every remembered PPID/UserId. Call when a syscall that may install new
  // credentials starts (set*id, capset, execve...), after reading its own context:
  // a freed cred's address can come back for a new one. Only the task itself reads
  // its context, and it is inside that syscall until the change is done, so
  // calling at entry is enough.
  void forget_contexts() const { epoch_.fetch_add(1, std::memory_order_relaxed); }
  // arm64: the kernel's linear-map offset (linear address - physical address), learnt
  // once from the running task (task->mm->pgd against pgd_pa, TTBR0_EL1's table
  // address) and then kept: the linear map does not move. false for a kernel thread
  // or when the profile lacks task_struct.mm / mm_struct.pgd (arm64_user.hpp).
  bool arm64_linear_offset(vmi::Vcpu& cpu, uint64_t pgd_pa, uint64_t& out) const;
  // Reads a pointer-sized value (4 or 8 bytes by the guest's pointer size).
  bool read_pointer(vmi::Vcpu& cpu, uint64_t va, uint64_t& out) const;
  const TaskWindows& task_windows() const { return windows_; }

  // --- fd -> path (files.cpp) ------------------------------------------------
  const FileLayout& file_layout() const { return files_; }
  // Writes the path of `task`'s open file `fd` as /proc/PID/fd shows it ("/tmp/x",
  // "socket:[123]", "pipe:[45]", "anon_inode:[eventfd]") into buf (capacity
  // kMaxPathLen) and sets *len. Returns Capture::none when fd is not open (or the
  // profile lacks the offsets), ok, truncated (path longer than kMaxPathLen: the tail is
  // kept; or the walk hit kMaxPathDepth: a dentry loop) or unreadable (a pointer on the
  // way could not be read). At most about 8 + 2 * depth guest reads, no allocation.
  event::Capture fd_path(vmi::Vcpu& cpu, uint64_t task, int64_t fd, char* buf,
                         size_t* len) const;
  // The task's working directory (task->fs->pwd), what AT_FDCWD stands for; same
  // bounds and results as fd_path.
  event::Capture cwd_path(vmi::Vcpu& cpu, uint64_t task, char* buf, size_t* len) const;

 private:
  // Where this vCPU's current-task pointer lives (and the per-CPU base it is
  // relative to); false when the vCPU has no per-CPU base (early boot, kernel entry
  // before swapgs) or the profile has no current task.
  bool current_task_slot(vmi::Vcpu& cpu, uint64_t& where, uint64_t* base = nullptr) const;
  // Tries one KASLR slide: true when the full banner is there. Notes what it saw.
  struct BannerScan {
    bool any_readable = false, prefix_hit = false;
    std::string guest_banner;  // the first banner that did not match
  };
  bool banner_at(vmi::Vcpu& cpu, uint64_t slide, BannerScan& scan);
  // Tries the slides an arm64 kernel may have (arm64.cpp); true with *slide set.
  bool scan_arm64(vmi::Vcpu& cpu, BannerScan& scan, uint64_t& slide);
  // arm64, a vCPU running kernel code: "" when vmitrace can read the kernel's address
  // space, else one line naming what TCR_EL1 holds (52-bit virtual addresses: the
  // linear map lies below kArm64KernelSpace and no walker reads it).
  std::string arm64_space_problem(vmi::Vcpu& cpu) const;
  event::Capture open_file(vmi::Vcpu& cpu, uint64_t files, int64_t fd, uint64_t& file) const;
  event::Capture path_text(vmi::Vcpu& cpu, uint64_t path_va, char* buf, size_t* len) const;

  const profile::Profile& prof_;
  std::string what_;
  unsigned ptr_size_ = 8;
  Arch arch_ = Arch::x86_64;
  vmi::KernelSpace space_ = kKernelSpace;
  PtRegsLayout regs_;
  TaskLayout task_;
  TaskWindows windows_;
  FileLayout files_;
  CurrentTask current_;
  uint64_t banner_link_ = 0;
  std::string banner_;  // full banner from the profile ("" when unknown)
  uint64_t text_link_ = 0;
  uint64_t slide_ = 0;
  bool located_ = false;
  unsigned misses_ = 0;  // scans that read memory but found no banner
  mutable std::atomic<uint32_t> epoch_{1};  // see forget_contexts
  uint32_t mm_pgd_ = kNoOffset;              // arm64: mm_struct.pgd
  mutable std::atomic<uint64_t> linear_offset_{0};  // arm64: 0 until learnt
  uint32_t instance_ = 0;  // tells kernels apart in the per-thread context cache
};

}  // namespace vmitrace::oslinux

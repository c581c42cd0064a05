// fd -> path: the open file of a task's fd table and the kernel's d_path walk over
// dentries and mounts, done from outside on hostile memory. Every pointer is
// checked to be a kernel address, every read may fail, the walk has a depth bound
// (a dentry loop ends there) and the path a length bound. Pseudo files are named as
// /proc/PID/fd shows them (socket:[ino], pipe:[ino], anon_inode:[eventfd]), told
// apart by their superblock's magic. Runs on the vCPU thread: no allocation.
#include <algorithm>
#include <cstring>

#include "os/linux/kernel.hpp"

namespace vmitrace::oslinux {
namespace {

// Superblock magics (include/uapi/linux/magic.h).
constexpr uint64_t kSockfsMagic = 0x534F434B;
constexpr uint64_t kPipefsMagic = 0x50495045;
constexpr uint64_t kAnonInodeMagic = 0x09041934;

constexpr uint32_t kMaxName = 255;   // NAME_MAX: a longer d_name.len is a lie
constexpr uint32_t kMaxWindow = 256; // one dentry / mount read

uint32_t off(const profile::Profile& p, std::string_view type, std::string_view field,
             uint32_t fallback = kNoOffset) {
  auto o = p.field_offset(type, field);
  return o && *o < (1u << 16) ? static_cast<uint32_t>(*o) : fallback;
}

// A pointer-sized guest word at w + at (little-endian guest; ps is 4 or 8).
uint64_t guest_word(const uint8_t* w, uint32_t at, unsigned ps) {
  uint64_t v = 0;
  std::memcpy(&v, w + at, ps);
  return v;
}

// Prepends text to the path being built backwards in [buf, *pos).
bool prepend(char* buf, char*& pos, const char* s, size_t n) {
  if (static_cast<size_t>(pos - buf) < n) return false;
  pos -= n;
  std::memcpy(pos, s, n);
  return true;
}

// "name:[123]" into out (capacity kMaxPathLen).
size_t bracketed(char* out, const char* prefix, uint64_t ino) {
  size_t n = std::strlen(prefix);
  std::memcpy(out, prefix, n);
  out[n++] = ':';
  out[n++] = '[';
  char digits[24];
  size_t d = 0;
  do { digits[d++] = static_cast<char>('0' + ino % 10); ino /= 10; } while (ino && d < sizeof digits);
  while (d) out[n++] = digits[--d];
  out[n++] = ']';
  return n;
}

}  // namespace

FileLayout file_layout_from(const profile::Profile& p, unsigned ptr_size) {
  FileLayout L;
  L.task_files = off(p, "task_struct", "files");
  L.files_fdt = off(p, "files_struct", "fdt");
  L.fdt_max_fds = off(p, "fdtable", "max_fds");
  L.fdt_fd = off(p, "fdtable", "fd");
  L.files_fdtab = off(p, "files_struct", "fdtab");
  L.task_fs = off(p, "task_struct", "fs");
  L.fs_pwd = off(p, "fs_struct", "pwd");
  L.files_fd_array = off(p, "files_struct", "fd_array");
  L.file_path = off(p, "file", "f_path");
  L.path_mnt = off(p, "path", "mnt");
  L.path_dentry = off(p, "path", "dentry");
  L.dentry_parent = off(p, "dentry", "d_parent");
  L.dentry_name = off(p, "dentry", "d_name");
  L.dentry_inode = off(p, "dentry", "d_inode");
  L.dentry_sb = off(p, "dentry", "d_sb");
  L.dentry_iname = off(p, "dentry", "d_iname");
  // struct qstr { union { struct { u32 hash, len; }; u64 hash_len; }; name; } has kept
  // this layout for years; the profile's offsets win when it has them.
  L.qstr_len = off(p, "qstr", "len", 4);
  L.qstr_name = off(p, "qstr", "name", 8);
  L.inode_ino = off(p, "inode", "i_ino");
  L.sb_magic = off(p, "super_block", "s_magic");
  L.mount_parent = off(p, "mount", "mnt_parent");
  L.mount_mountpoint = off(p, "mount", "mnt_mountpoint");
  L.mount_mnt = off(p, "mount", "mnt");
  L.vfsmount_root = off(p, "vfsmount", "mnt_root");
  if (const profile::Field* f = p.field("dentry", "d_iname"); f && f->type.kind == "array")
    L.iname_len = std::min<uint32_t>(f->type.count, 64);
  else if (L.dentry_iname != kNoOffset)
    L.iname_len = ptr_size == 8 ? 32 : 36;  // DNAME_INLINE_LEN

  for (uint32_t o : {L.task_files, L.files_fdt, L.fdt_max_fds, L.fdt_fd, L.file_path,
                     L.path_mnt, L.path_dentry, L.dentry_parent, L.dentry_name, L.dentry_inode,
                     L.dentry_sb, L.inode_ino, L.sb_magic, L.mount_parent, L.mount_mountpoint,
                     L.mount_mnt, L.vfsmount_root})
    if (o == kNoOffset) return L;  // usable stays false

  // One read per dentry covers d_parent, d_name, d_inode, d_sb and the inline name.
  uint32_t lo = std::min({L.dentry_parent, L.dentry_name, L.dentry_inode, L.dentry_sb});
  uint32_t hi = std::max({L.dentry_parent + ptr_size, L.dentry_name + L.qstr_name + ptr_size,
                          L.dentry_name + L.qstr_len + 4, L.dentry_inode + ptr_size,
                          L.dentry_sb + ptr_size});
  if (L.dentry_iname != kNoOffset && L.dentry_iname >= lo &&
      L.dentry_iname + L.iname_len <= lo + kMaxWindow)
    hi = std::max(hi, L.dentry_iname + L.iname_len);
  else
    L.iname_len = 0;  // inline names read separately like the others
  L.dentry_lo = lo;
  L.dentry_win = hi - lo;
  // One read per mount: mnt_parent, mnt_mountpoint and the embedded vfsmount's root.
  uint32_t root = L.mount_mnt + L.vfsmount_root;
  L.mount_lo = std::min({L.mount_parent, L.mount_mountpoint, root});
  L.mount_win = std::max({L.mount_parent, L.mount_mountpoint, root}) + ptr_size - L.mount_lo;
  L.usable = L.dentry_win <= kMaxWindow && L.mount_win <= kMaxWindow;
  return L;
}

// files->fdt->fd[fd]: `ok` with the struct file, `none` when the fd is not open.
// While the process has few fds, fdt points at the fdtable inside files_struct and
// its fd at the array there too: one read of files_struct then has everything.
event::Capture LinuxKernel::open_file(vmi::Vcpu& cpu, uint64_t files, int64_t fd,
                                      uint64_t& file) const {
  const FileLayout& L = files_;
  const unsigned ps = ptr_size_;
  auto get = [ps](const uint8_t* w, uint32_t at) { return guest_word(w, at, ps); };
  const uint64_t ufd = static_cast<uint64_t>(fd);
  if (L.files_fdtab != kNoOffset && L.files_fd_array != kNoOffset && ufd < ps * 8u) {
    const uint32_t lo = std::min(L.files_fdt, L.files_fdtab);
    const uint64_t hi = L.files_fd_array + (ufd + 1) * ps;
    uint8_t w[1024];
    if (hi > lo && hi - lo <= sizeof w && L.files_fdtab + L.fdt_fd + ps <= hi &&
        L.files_fdtab + L.fdt_max_fds + 4 <= hi) {
      const size_t n = hi - lo;
      if (cpu.read_virt(files + lo, w, n) != n) return event::Capture::unreadable;
      const uint64_t fdt = get(w, L.files_fdt - lo);
      const uint64_t arr = get(w, L.files_fdtab + L.fdt_fd - lo);
      uint32_t max_fds = 0;
      std::memcpy(&max_fds, w + (L.files_fdtab + L.fdt_max_fds - lo), 4);
      if (fdt == files + L.files_fdtab && arr == files + L.files_fd_array) {
        if (ufd >= max_fds) return event::Capture::none;
        file = get(w, static_cast<uint32_t>(L.files_fd_array + ufd * ps - lo));
        return file ? event::Capture::ok : event::Capture::none;
      }
      // A grown table lives elsewhere: the general walk below.
    }
  }
  uint64_t fdt = 0;
  if (!read_pointer(cpu, files + L.files_fdt, fdt) || !is_kernel_pointer(fdt))
    return event::Capture::unreadable;
  // max_fds and fd side by side: one read.
  uint8_t tw[32];
  const uint32_t lo = std::min(L.fdt_max_fds, L.fdt_fd);
  const uint32_t n = std::max(L.fdt_max_fds + 4, L.fdt_fd + ps) - lo;
  if (n > sizeof tw || cpu.read_virt(fdt + lo, tw, n) != n) return event::Capture::unreadable;
  uint32_t max_fds = 0;
  std::memcpy(&max_fds, tw + (L.fdt_max_fds - lo), 4);
  const uint64_t arr = get(tw, L.fdt_fd - lo);
  if (!is_kernel_pointer(arr)) return event::Capture::unreadable;
  if (ufd >= max_fds) return event::Capture::none;
  if (!read_pointer(cpu, arr + ufd * ps, file)) return event::Capture::unreadable;
  return file ? event::Capture::ok : event::Capture::none;
}

event::Capture LinuxKernel::fd_path(vmi::Vcpu& cpu, uint64_t task, int64_t fd, char* buf,
                                    size_t* len) const {
  *len = 0;
  const FileLayout& L = files_;
  if (!L.usable || fd < 0 || fd >= kMaxFd || !is_kernel_pointer(task))
    return event::Capture::none;
  auto kptr = [&](uint64_t va, uint64_t& out) {
    return read_pointer(cpu, va, out) && is_kernel_pointer(out);
  };

  uint64_t files = 0, file = 0;
  if (!kptr(task + L.task_files, files)) return event::Capture::unreadable;
  switch (open_file(cpu, files, fd, file)) {
    case event::Capture::ok: break;
    case event::Capture::none: return event::Capture::none;  // not open
    default: return event::Capture::unreadable;
  }
  if (!is_kernel_pointer(file)) return event::Capture::unreadable;
  return path_text(cpu, file + L.file_path, buf, len);
}

event::Capture LinuxKernel::cwd_path(vmi::Vcpu& cpu, uint64_t task, char* buf, size_t* len) const {
  *len = 0;
  const FileLayout& L = files_;
  if (!L.usable || L.task_fs == kNoOffset || L.fs_pwd == kNoOffset || !is_kernel_pointer(task))
    return event::Capture::none;
  uint64_t fs = 0;
  if (!read_pointer(cpu, task + L.task_fs, fs) || !is_kernel_pointer(fs))
    return event::Capture::unreadable;
  return path_text(cpu, fs + L.fs_pwd, buf, len);
}

// The text of the struct path at path_va ({mnt, dentry}): d_path from outside.
event::Capture LinuxKernel::path_text(vmi::Vcpu& cpu, uint64_t path_va, char* buf,
                                      size_t* len) const {
  *len = 0;
  const FileLayout& L = files_;
  const unsigned ps = ptr_size_;
  auto get = [ps](const uint8_t* w, uint32_t at) { return guest_word(w, at, ps); };
  // struct path {mnt, dentry}: both in one read.
  uint64_t mnt = 0, dentry = 0;
  {
    uint8_t pw[16];
    const uint32_t lo = std::min(L.path_mnt, L.path_dentry);
    const uint32_t n = std::max(L.path_mnt, L.path_dentry) + ps - lo;
    if (n > sizeof pw || cpu.read_virt(path_va + lo, pw, n) != n)
      return event::Capture::unreadable;
    mnt = get(pw, L.path_mnt - lo);
    dentry = get(pw, L.path_dentry - lo);
    if (!is_kernel_pointer(mnt) || !is_kernel_pointer(dentry)) return event::Capture::unreadable;
  }

  uint8_t dw[kMaxWindow], mw[kMaxWindow];
  auto read_dentry = [&](uint64_t d) {
    return is_kernel_pointer(d) && cpu.read_virt(d + L.dentry_lo, dw, L.dentry_win) == L.dentry_win;
  };
  auto dfield = [&](uint32_t o) { return get(dw, o - L.dentry_lo); };
  if (!read_dentry(dentry)) return event::Capture::unreadable;

  // The dentry's name: from the inline copy when it points there, else one read.
  char name[kMaxName];
  auto read_name = [&](uint64_t d, uint32_t& n) {
    uint32_t qlen = 0;
    std::memcpy(&qlen, dw + (L.dentry_name + L.qstr_len - L.dentry_lo), 4);
    const uint64_t np = dfield(L.dentry_name + L.qstr_name);
    n = std::min(qlen, kMaxName);
    const uint64_t inl = d + L.dentry_iname;
    if (L.iname_len && np >= inl && np + n <= inl + L.iname_len) {
      std::memcpy(name, dw + (L.dentry_iname - L.dentry_lo) + (np - inl), n);
      return true;
    }
    return n == 0 || (is_kernel_pointer(np) && cpu.read_virt(np, name, n) == n);
  };

  // Pseudo filesystems: named by their kind and inode number, as /proc does.
  uint64_t magic = 0;
  const uint64_t sb = dfield(L.dentry_sb);
  if (is_kernel_pointer(sb) && read_pointer(cpu, sb + L.sb_magic, magic)) {
    if (magic == kSockfsMagic || magic == kPipefsMagic) {
      uint64_t ino = 0;
      const uint64_t inode = dfield(L.dentry_inode);
      if (!is_kernel_pointer(inode) || !read_pointer(cpu, inode + L.inode_ino, ino))
        return event::Capture::unreadable;
      *len = bracketed(buf, magic == kSockfsMagic ? "socket" : "pipe", ino);
      return event::Capture::ok;
    }
    if (magic == kAnonInodeMagic) {  // d_name is "[eventfd]", "[timerfd]"...
      uint32_t n = 0;
      if (!read_name(dentry, n)) return event::Capture::unreadable;
      static constexpr char kAnon[] = "anon_inode:";
      std::memcpy(buf, kAnon, sizeof kAnon - 1);
      std::memcpy(buf + sizeof kAnon - 1, name, n);
      *len = sizeof kAnon - 1 + n;
      return event::Capture::ok;
    }
  }

  // d_path: components from the file up to the root, prepended right to left.
  uint64_t mount = mnt - L.mount_mnt;
  auto read_mount = [&](uint64_t m) {
    return is_kernel_pointer(m) && cpu.read_virt(m + L.mount_lo, mw, L.mount_win) == L.mount_win;
  };
  if (!read_mount(mount)) return event::Capture::unreadable;
  char* const end = buf + kMaxPathLen;
  char* pos = end;
  event::Capture state = event::Capture::truncated;  // unless the root is reached
  for (unsigned depth = 0; depth < kMaxPathDepth; ++depth) {
    const uint64_t parent = dfield(L.dentry_parent);
    if (dentry == get(mw, L.mount_mnt + L.vfsmount_root - L.mount_lo)) {
      const uint64_t mparent = get(mw, L.mount_parent - L.mount_lo);
      if (mparent == mount || mparent == 0) { state = event::Capture::ok; break; }
      // Cross to the mount point in the parent mount (no path component).
      dentry = get(mw, L.mount_mountpoint - L.mount_lo);
      mount = mparent;
      if (!read_mount(mount) || !read_dentry(dentry)) break;
      continue;
    }
    if (parent == dentry) { state = event::Capture::ok; break; }  // root of a detached tree
    uint32_t n = 0;
    if (!read_name(dentry, n)) break;
    if (!prepend(buf, pos, name, n) || !prepend(buf, pos, "/", 1)) break;  // too long: keep the tail
    dentry = parent;
    if (!read_dentry(dentry)) break;
  }
  if (pos == end) prepend(buf, pos, "/", 1);
  *len = static_cast<size_t>(end - pos);
  std::memmove(buf, pos, *len);
  return state;
}

}  // namespace vmitrace::oslinux

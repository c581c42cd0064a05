// A synthetic fd table, dentries and mounts in fake guest memory, with the profile
// types that describe them (offsets chosen here, not a real kernel's).
#pragma once
#include <string>

#include "fake_guest.hpp"

namespace vmitrace::testing {

struct FilesOff {
  static constexpr uint64_t task_files = 0x180, files_fdt = 0x20, fdt_max = 0, fdt_fd = 8,
                            file_path = 0x40, d_parent = 0x18, d_name = 0x20, d_inode = 0x30,
                            d_iname = 0x38, d_sb = 0x68, i_ino = 0x40, s_magic = 0x60,
                            mnt_parent = 0x10, mnt_mountpoint = 0x18, mnt = 0x20;
};

inline void add_file_types(profile::Profile& p) {
  auto st = [&](const char* name, uint64_t size,
                std::initializer_list<std::pair<const char*, uint64_t>> fs) {
    auto& t = p.user_types[name];
    t.kind = "struct";
    t.size = size;
    for (auto& [n, o] : fs) t.fields[n] = field_at(o);
  };
  p.user_types["task_struct"].fields["files"] = field_at(FilesOff::task_files);
  st("files_struct", 0x40, {{"fdt", FilesOff::files_fdt}});
  st("fdtable", 0x38, {{"max_fds", FilesOff::fdt_max}, {"fd", FilesOff::fdt_fd}});
  st("file", 0x100, {{"f_path", FilesOff::file_path}});
  st("path", 16, {{"mnt", 0}, {"dentry", 8}});
  st("dentry", 0xc0, {{"d_parent", FilesOff::d_parent}, {"d_name", FilesOff::d_name},
                      {"d_inode", FilesOff::d_inode}, {"d_iname", FilesOff::d_iname},
                      {"d_sb", FilesOff::d_sb}});
  auto& iname = p.user_types["dentry"].fields["d_iname"];
  iname.type.kind = "array";
  iname.type.count = 32;
  st("qstr", 16, {{"len", 4}, {"name", 8}});
  st("inode", 0x100, {{"i_ino", FilesOff::i_ino}});
  st("super_block", 0x100, {{"s_magic", FilesOff::s_magic}});
  st("mount", 0x100, {{"mnt_parent", FilesOff::mnt_parent},
                      {"mnt_mountpoint", FilesOff::mnt_mountpoint}, {"mnt", FilesOff::mnt}});
  st("vfsmount", 32, {{"mnt_root", 0}});
}

// Builds kernel objects at increasing addresses of fake guest memory.
class FakeFiles {
 public:
  explicit FakeFiles(FakeMemory& m, uint64_t base = 0xffff888010000000ull) : m_(m), next_(base) {}
  uint64_t alloc(size_t n) {
    uint64_t a = next_;
    next_ += (n + 0xff) & ~uint64_t{0xff};
    m_.map(a, n);
    return a;
  }
  uint64_t super_block(uint64_t magic) {
    uint64_t sb = alloc(0x100);
    m_.write_u64(sb + FilesOff::s_magic, magic);
    return sb;
  }
  // A dentry named `name` (inline when short, else out of line); parent 0 = itself.
  uint64_t dentry(const std::string& name, uint64_t parent, uint64_t sb, uint64_t inode = 0) {
    uint64_t d = alloc(0xc0);
    m_.write_u64(d + FilesOff::d_parent, parent ? parent : d);
    m_.write_u32(d + FilesOff::d_name + 4, static_cast<uint32_t>(name.size()));
    uint64_t np = d + FilesOff::d_iname;
    if (name.size() >= 32) np = alloc(name.size() + 1);
    m_.write_str(np, name);
    m_.write_u64(d + FilesOff::d_name + 8, np);
    m_.write_u64(d + FilesOff::d_inode, inode);
    m_.write_u64(d + FilesOff::d_sb, sb);
    return d;
  }
  uint64_t inode(uint64_t ino) {
    uint64_t i = alloc(0x100);
    m_.write_u64(i + FilesOff::i_ino, ino);
    return i;
  }
  // A struct mount; returns the address of its embedded vfsmount. parent 0 = itself.
  uint64_t mount(uint64_t root_dentry, uint64_t parent_vfsmount, uint64_t mountpoint) {
    uint64_t m = alloc(0x100);
    m_.write_u64(m + FilesOff::mnt_parent, parent_vfsmount ? parent_vfsmount - FilesOff::mnt : m);
    m_.write_u64(m + FilesOff::mnt_mountpoint, mountpoint ? mountpoint : root_dentry);
    m_.write_u64(m + FilesOff::mnt, root_dentry);  // vfsmount.mnt_root at 0
    return m + FilesOff::mnt;
  }
  uint64_t file(uint64_t vfsmount, uint64_t dentry) {
    uint64_t f = alloc(0x100);
    m_.write_u64(f + FilesOff::file_path, vfsmount);
    m_.write_u64(f + FilesOff::file_path + 8, dentry);
    return f;
  }
  // task->files->fdt with `max` slots; returns the fd array.
  uint64_t fd_table(uint64_t task, uint32_t max) {
    uint64_t files = alloc(0x40), fdt = alloc(0x38), arr = alloc(max * 8ull);
    m_.write_u64(task + FilesOff::task_files, files);
    m_.write_u64(files + FilesOff::files_fdt, fdt);
    m_.write_u32(fdt + FilesOff::fdt_max, max);
    m_.write_u64(fdt + FilesOff::fdt_fd, arr);
    return arr;
  }

 private:
  FakeMemory& m_;
  uint64_t next_;
};

}  // namespace vmitrace::testing

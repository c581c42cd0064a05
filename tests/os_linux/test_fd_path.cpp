// fd -> path over synthetic guest memory: regular files across mounts, pseudo files,
// and the hostile cases (a dentry loop, a lying name length, unmapped pointers).
#include <gtest/gtest.h>

#include "fake_files.hpp"
#include "os/linux/kernel.hpp"

namespace vmitrace::testing {
namespace {

using event::Capture;
using oslinux::LinuxKernel;

constexpr uint64_t kTask = 0xffff888000200000ull;
constexpr uint64_t kTmpfsMagic = 0x01021994;

struct Guest {
  FakeMemory mem;
  FakeFiles f{mem};
  profile::Profile prof = [] {
    auto p = synthetic_profile();
    add_file_types(p);
    return p;
  }();
  LinuxKernel k{prof, "synth.json"};
  uint64_t fds = 0;
  uint64_t root_mnt = 0, root = 0, tmp = 0, tmp_mnt = 0, tmp_root = 0, sb = 0;

  Guest() {
    mem.map(kTask, 0x300);
    fds = f.fd_table(kTask, 64);
    sb = f.super_block(kTmpfsMagic);
    root = f.dentry("/", 0, sb);
    root_mnt = f.mount(root, 0, 0);
    tmp = f.dentry("tmp", root, sb);
    tmp_root = f.dentry("/", 0, sb);
    tmp_mnt = f.mount(tmp_root, root_mnt, tmp);
  }
  void open(int fd, uint64_t vfsmount, uint64_t dentry) {
    mem.write_u64(fds + fd * 8ull, f.file(vfsmount, dentry));
  }
  std::pair<Capture, std::string> path(int64_t fd, uint64_t* reads = nullptr) {
    FakeVcpu cpu(mem, 0);
    char buf[oslinux::kMaxPathLen];
    size_t len = 0;
    Capture c = k.fd_path(cpu, kTask, fd, buf, &len);
    if (reads) *reads = cpu.reads;
    EXPECT_LE(len, sizeof buf);
    return {c, std::string(buf, len)};
  }
};

TEST(FdPath, LayoutFromProfile) {
  Guest g;
  EXPECT_TRUE(g.k.file_layout().usable);
  EXPECT_EQ(g.k.file_layout().iname_len, 32u);
  // Without the types: not usable, and every lookup says "none".
  auto bare = synthetic_profile();
  LinuxKernel k(bare, "bare.json");
  EXPECT_FALSE(k.file_layout().usable);
  FakeVcpu cpu(g.mem, 0);
  char buf[oslinux::kMaxPathLen];
  size_t len = 9;
  EXPECT_EQ(k.fd_path(cpu, kTask, 3, buf, &len), Capture::none);
  EXPECT_EQ(len, 0u);
}

TEST(FdPath, FileAcrossAMount) {
  Guest g;
  uint64_t dir = g.f.dentry("vmitrace-lab", g.tmp_root, g.sb);
  uint64_t file = g.f.dentry("a-file-name-longer-than-the-inline-copy.txt", dir, g.sb);
  g.open(3, g.tmp_mnt, file);
  g.open(4, g.tmp_mnt, g.tmp_root);
  g.open(5, g.root_mnt, g.root);
  uint64_t reads = 0;
  EXPECT_EQ(g.path(3, &reads),
            std::make_pair(Capture::ok,
                           std::string("/tmp/vmitrace-lab/a-file-name-longer-than-the-inline-copy.txt")));
  EXPECT_LE(reads, 16u);  // bounded: the chain, one read per dentry/mount, one long name
  EXPECT_EQ(g.path(4), std::make_pair(Capture::ok, std::string("/tmp")));
  EXPECT_EQ(g.path(5), std::make_pair(Capture::ok, std::string("/")));
}

TEST(FdPath, PseudoFilesAsProcShowsThem) {
  Guest g;
  uint64_t pipe_sb = g.f.super_block(0x50495045), sock_sb = g.f.super_block(0x534F434B),
           anon_sb = g.f.super_block(0x09041934);
  g.open(3, g.root_mnt, g.f.dentry("", 0, pipe_sb, g.f.inode(678)));
  g.open(4, g.root_mnt, g.f.dentry("", 0, sock_sb, g.f.inode(12345)));
  g.open(5, g.root_mnt, g.f.dentry("[eventfd]", 0, anon_sb, g.f.inode(1)));
  EXPECT_EQ(g.path(3), std::make_pair(Capture::ok, std::string("pipe:[678]")));
  EXPECT_EQ(g.path(4), std::make_pair(Capture::ok, std::string("socket:[12345]")));
  EXPECT_EQ(g.path(5), std::make_pair(Capture::ok, std::string("anon_inode:[eventfd]")));
}

TEST(FdPath, NotOpenIsNone) {
  Guest g;
  EXPECT_EQ(g.path(7).first, Capture::none);     // empty slot
  EXPECT_EQ(g.path(64).first, Capture::none);    // >= max_fds
  EXPECT_EQ(g.path(-100).first, Capture::none);  // AT_FDCWD
  EXPECT_EQ(g.path(int64_t{1} << 40).first, Capture::none);
}

TEST(FdPath, DentryLoopEndsBoundedAndMarked) {
  Guest g;
  uint64_t a = g.f.dentry("a", 0, g.sb), b = g.f.dentry("b", a, g.sb);
  g.mem.write_u64(a + FilesOff::d_parent, b);  // a <-> b, never reaching a root
  g.open(3, g.tmp_mnt, a);
  uint64_t reads = 0;
  auto [c, p] = g.path(3, &reads);
  EXPECT_EQ(c, Capture::truncated);
  EXPECT_LE(reads, 8u + 2 * oslinux::kMaxPathDepth);
  EXPECT_NE(p.find("/a/b/a"), std::string::npos) << p;
}

TEST(FdPath, MountLoopEnds) {
  Guest g;
  // Two mounts, each mounted on the other's root.
  uint64_t r1 = g.f.dentry("/", 0, g.sb), r2 = g.f.dentry("/", 0, g.sb);
  uint64_t m1 = g.f.mount(r1, 0, 0), m2 = g.f.mount(r2, m1, r1);
  g.mem.write_u64(m1 - FilesOff::mnt + FilesOff::mnt_parent, m2 - FilesOff::mnt);
  g.mem.write_u64(m1 - FilesOff::mnt + FilesOff::mnt_mountpoint, r2);
  g.open(3, m2, r2);
  EXPECT_EQ(g.path(3).first, Capture::truncated);
}

TEST(FdPath, LongPathKeepsTheTail) {
  Guest g;
  uint64_t d = g.tmp_root;
  const std::string comp(40, 'x');
  for (int i = 0; i < 20; ++i) d = g.f.dentry(comp + std::to_string(i % 10), d, g.sb);
  g.open(3, g.tmp_mnt, d);
  auto [c, p] = g.path(3);
  EXPECT_EQ(c, Capture::truncated);
  EXPECT_LE(p.size(), oslinux::kMaxPathLen);
  EXPECT_EQ(p.substr(p.size() - 42), "/" + comp + "9");
}

TEST(FdPath, HostilePointersAndLengths) {
  Guest g;
  // A file pointer into unmapped memory, and one that is not a kernel address.
  g.mem.write_u64(g.fds + 3 * 8, 0xffff888077770000ull);
  g.mem.write_u64(g.fds + 4 * 8, 0x00007fff00001000ull);
  EXPECT_EQ(g.path(3).first, Capture::unreadable);
  EXPECT_EQ(g.path(4).first, Capture::unreadable);
  // A name length of 4 GiB whose pointer is unmapped: a marked, bounded result.
  uint64_t bad = g.f.dentry("x", g.tmp_root, g.sb);
  g.mem.write_u32(bad + FilesOff::d_name + 4, 0xffffffffu);
  g.mem.write_u64(bad + FilesOff::d_name + 8, 0xffff888066660000ull);
  g.open(5, g.tmp_mnt, bad);
  uint64_t reads = 0;
  auto [c, p] = g.path(5, &reads);
  EXPECT_EQ(c, Capture::truncated);
  EXPECT_LE(reads, 12u);
  // A huge max_fds with an fd array that is unmapped past its first page.
  g.mem.write_u32(g.fds - 0x100 + FilesOff::fdt_max, 0xffffffffu);
  EXPECT_NE(g.path(1000).first, Capture::ok);
}

}  // namespace
}  // namespace vmitrace::testing

namespace vmitrace::testing {
namespace {

// task->fs->pwd (AT_FDCWD) and the fd table embedded in files_struct.
constexpr uint32_t kTaskFs = 0x188, kFsPwd = 0x28, kFdtab = 0x28, kFdArray = 0x80;

TEST(CwdPath, WorkingDirectoryThroughFsStruct) {
  Guest g;
  g.prof.user_types["task_struct"].fields["fs"] = field_at(kTaskFs);
  auto& fs_t = g.prof.user_types["fs_struct"];
  fs_t.kind = "struct";
  fs_t.size = 0x38;
  fs_t.fields["pwd"] = field_at(kFsPwd);
  LinuxKernel k(g.prof, "synth.json");
  const uint64_t dir = g.f.dentry("vmitrace-lab", g.tmp_root, g.sb);
  const uint64_t fs = g.f.alloc(0x40);
  g.mem.write_u64(kTask + kTaskFs, fs);
  g.mem.write_u64(fs + kFsPwd, g.tmp_mnt);
  g.mem.write_u64(fs + kFsPwd + 8, dir);
  FakeVcpu cpu(g.mem, 0);
  char buf[oslinux::kMaxPathLen];
  size_t len = 0;
  ASSERT_EQ(k.cwd_path(cpu, kTask, buf, &len), Capture::ok);
  EXPECT_EQ(std::string(buf, len), "/tmp/vmitrace-lab");
  // An fs pointer into nowhere: marked unreadable, nothing written.
  g.mem.write_u64(kTask + kTaskFs, 0xffff88800dead000ull);
  EXPECT_EQ(k.cwd_path(cpu, kTask, buf, &len), Capture::unreadable);
  EXPECT_EQ(len, 0u);
  // A profile without task_struct.fs: no cwd path at all.
  EXPECT_EQ(g.k.cwd_path(cpu, kTask, buf, &len), Capture::none);
}

TEST(FdPath, EmbeddedFdTableInOneRead) {
  Guest g;
  auto& files_t = g.prof.user_types["files_struct"];
  files_t.size = kFdArray + 64 * 8;
  files_t.fields["fdtab"] = field_at(kFdtab);
  files_t.fields["fd_array"] = field_at(kFdArray);
  LinuxKernel k(g.prof, "synth.json");
  // files->fdt points at the embedded fdtable whose fd is the embedded array.
  const uint64_t files = g.f.alloc(kFdArray + 64 * 8);
  g.mem.write_u64(kTask + FilesOff::task_files, files);
  g.mem.write_u64(files + FilesOff::files_fdt, files + kFdtab);
  g.mem.write_u32(files + kFdtab + FilesOff::fdt_max, 64);
  g.mem.write_u64(files + kFdtab + FilesOff::fdt_fd, files + kFdArray);
  const uint64_t file = g.f.dentry("embedded.txt", g.tmp_root, g.sb);
  g.mem.write_u64(files + kFdArray + 5 * 8, g.f.file(g.tmp_mnt, file));
  FakeVcpu cpu(g.mem, 0);
  char buf[oslinux::kMaxPathLen];
  size_t len = 0;
  ASSERT_EQ(k.fd_path(cpu, kTask, 5, buf, &len), Capture::ok);
  EXPECT_EQ(std::string(buf, len), "/tmp/embedded.txt");
  EXPECT_EQ(k.fd_path(cpu, kTask, 6, buf, &len), Capture::none);  // empty slot
  // A grown table elsewhere: the general walk still finds the file.
  const uint64_t arr = g.f.fd_table(kTask, 128);
  g.mem.write_u64(kTask + FilesOff::task_files, files);
  const uint64_t fdt = g.f.alloc(0x38);
  g.mem.write_u64(files + FilesOff::files_fdt, fdt);
  g.mem.write_u32(fdt + FilesOff::fdt_max, 128);
  g.mem.write_u64(fdt + FilesOff::fdt_fd, arr);
  g.mem.write_u64(arr + 100 * 8, g.f.file(g.tmp_mnt, file));
  ASSERT_EQ(k.fd_path(cpu, kTask, 100, buf, &len), Capture::ok);
  EXPECT_EQ(std::string(buf, len), "/tmp/embedded.txt");
}

}  // namespace
}  // namespace vmitrace::testing

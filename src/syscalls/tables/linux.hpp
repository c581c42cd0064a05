// Syscall knowledge as data: the tables in data/ are turned into C++ arrays at build
// time (data/gen_tables.py); this is how the rest of the code looks them up.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "event/record.hpp"

namespace vmitrace::syscalls {

struct ConstSet;  // syscalls/tables/constants.hpp

// How an argument is captured and rendered. The generator derives it from the
// argument's C type and name in the data file (or an explicit override there).
enum class ArgKind : uint8_t {
  int_,        // signed integer
  uint_,       // unsigned integer / size
  ptr,         // opaque pointer: hex
  string,      // const char * read from guest memory (NUL-terminated, bounded)
  string_array,// char *const argv[] (execve)
  fd,          // file descriptor
  dirfd,       // *at dirfd (AT_FDCWD)
  mode,        // umode_t (octal)
  open_flags,
  prot,        // mmap/mprotect PROT_*
  mmap_flags,
  prctl_option,
  arch_prctl_code,
  signal,
  buffer,      // pointer to len bytes (read/write buffers)
  out_ptr,     // pointer the kernel writes to (captured at return)
  flags,       // generic bit set: {flags:SET} in the data file (ArgInfo::set)
  enum_,       // generic enumeration: {enum:SET}
  clone_flags, // clone flags + exit signal in the low byte
  socket_type, // SOCK_* type in the low 4 bits + SOCK_NONBLOCK/SOCK_CLOEXEC
  ioctl_cmd,   // ioctl request: a known name, else _IOC(dir, type, nr, size)
  hex,         // integer whose meaning depends on another argument (prctl's
               // arg2..5): hex, as strace prints an undecoded value
  // Structures read at entry (blob = the raw bytes, decoded by the rich style):
  sockaddr,    // struct sockaddr * with its length in argument len_arg
  timespec,    // struct __kernel_timespec * (two 64-bit fields)
  timespec32,  // struct old_timespec32 * (ia32: two 32-bit fields)
  iovec,       // struct iovec * with the count in len_arg: {base, len} pairs
  iovec_data,  // the same for the buffers the kernel reads (writev): with
               // --capture-buffers, the first bytes of each buffer too
  msghdr,      // struct user_msghdr * (sendmsg): header, then msg_name and msg_iov
               // (see the blob conventions below)
  mmsghdr,     // struct mmsghdr * (sendmmsg), len_arg = vlen: the first message
  // Kinds whose meaning depends on another argument (len_arg: its index):
  futex_op,    // futex op: FUTEX_* command, _PRIVATE, |FUTEX_CLOCK_REALTIME
  futex_timeout,   // futex utime (len_arg = op): a __kernel_timespec * for the
                   // waiting commands (read at entry), else the integer val2
  futex_timeout32, // the same with an old_timespec32 * (ia32 futex)
  prctl_arg,   // prctl arg2 (len_arg = option): PR_SET_NAME's name read at entry,
               // PR_GET_NAME's written at return; else hex
  socket_protocol, // socket/socketpair protocol (len_arg = family): IPPROTO_* for
                   // AF_INET/AF_INET6, else decimal
  fcntl_arg,   // fcntl arg (len_arg = cmd): FD_CLOEXEC for F_SETFD, open flags for
               // F_SETFL, decimal for F_DUPFD*, else hex
  statx_flags, // statx flags: the AT_STATX_* sync type (0 is AT_STATX_SYNC_AS_STAT)
               // first, then the at_flags bits
  futex_val3,  // futex val3 (len_arg = op): FUTEX_BITSET_MATCH_ANY for the bitset
               // commands, else decimal
  ioctl_arg,   // ioctl arg (len_arg = cmd): decimal for FICLONE/TIOCSCTTY, else a
               // pointer; TCGETS's termios, TIOCGWINSZ's winsize come at return (rich style)
  sockopt_name, // setsockopt/getsockopt optname (len_arg = level): SO_* for SOL_SOCKET,
                // else decimal
  // More structures read at entry:
  sigset,      // sigset_t * (8 bytes): [HUP INT], ~[RTMIN] when most bits are set
  sigaction,   // const struct sigaction * (x86-64 32 bytes; ia32 compat 20)
  rlimit,      // const struct rlimit64 * (16 bytes)
  rlimit32,    // const struct compat_rlimit * (8 bytes: arm32's setrlimit)
  timespec_pair,   // utimensat's struct __kernel_timespec[2] (32 bytes)
  timespec32_pair, // the same with old_timespec32[2] (ia32 utimensat, 16 bytes)
  sockopt_val,     // setsockopt optval (len_arg = optlen): the int when optlen is 4
  // Written by the kernel, captured at return (Extra::out_arg on the sysret):
  sockaddr_out,// struct sockaddr *, its length behind the int * of len_arg
  len_out,     // int * holding a length (accept's addrlen)
  stat_out,    // struct stat * (x86-64 layout)
  stat32_out,  // struct compat_stat * (ia32 / i386 struct stat)
  stat64_out,  // struct stat64 * (ia32)
  stat_arm_out,// arm64's struct stat (asm-generic) and arm's struct stat64 (EABI): the
               // same st_mode @16, st_rdev @32, st_size @48
  statx_out,   // struct statx *
  fd_pair_out, // int[2] of pipe/pipe2
  out_buffer,  // read/recv buffer: the first bytes of what the kernel wrote
               // (--capture-buffers), len_arg = its capacity
  wait_status_out, // int * wait status of wait4 (written when a child was reaped)
  siginfo_out, // struct siginfo * of waitid (compat_siginfo for ia32)
  clone_ptid_out,  // clone parent_tidptr (len_arg = clone_flags): the tid written
                   // there with CLONE_PARENT_SETTID (or the pidfd with CLONE_PIDFD)
  msghdr_out,  // struct user_msghdr * (recvmsg): as msghdr, read again at return
  mmsghdr_out, // struct mmsghdr * (recvmmsg): the first message, at return (ret = count)
  // Out kinds shown by the rich style only (the raw style's keys stay DRAKVUF's plus
  // the out arguments above):
  sigset_out,    // sigset_t * (rt_sigprocmask oset)
  sigaction_out, // struct sigaction * (rt_sigaction oact)
  rlimit_out,    // struct rlimit64 * (prlimit64 old_rlim)
  rlimit32_out,  // struct compat_rlimit * (arm32's ugetrlimit)
  timespec_out,  // struct __kernel_timespec * (clock_gettime tp)
  utsname_out,   // struct new_utsname * (uname)
  sysinfo_out,   // struct sysinfo *
  statfs_out,    // struct statfs * (x86-64 layout)
  dirent64_out,  // struct linux_dirent64 * (getdents64): the first min(ret,
                 // kMaxDirentBytes) bytes
  out_string,    // char * the kernel fills with ret bytes (readlink; getcwd, whose ret
                 // counts the NUL): at most the string limit
  random_out,    // getrandom's buffer: the first min(ret, --capture-buffers) bytes
  gid_list_out,  // gid_t * of getgroups: ret entries (at most kMaxGroups)
  cpu_mask_out,  // sched_getaffinity's mask: ret bytes (at most kMaxCpuMaskBytes)
};

// True for kinds the kernel writes: captured at return, not at entry.
// (prctl_arg is both: see capture.cpp.)
inline bool is_out_kind(ArgKind k) {
  return k >= ArgKind::sockaddr_out && k <= ArgKind::cpu_mask_out;
}
// True for the out kinds the raw style shows too (those it showed before the rich
// style gained more; the raw style's keys do not change).
inline bool raw_shows_out_kind(ArgKind k) {
  return k == ArgKind::prctl_arg || (k >= ArgKind::sockaddr_out && k <= ArgKind::mmsghdr_out);
}

// What a successful return value is (the `->KIND` column of the data tables).
enum class RetKind : uint8_t {
  value,  // a count, an id, 0...
  fd,     // a new file descriptor (open, socket, dup...): gets Ret_path
  dupfd,  // fcntl: a new fd when cmd (argument 1) is F_DUPFD or F_DUPFD_CLOEXEC
};

struct ArgInfo {
  const char* name;   // "pathname"
  const char* ctype;  // "const char *"
  ArgKind kind;
  uint8_t bits;       // width of the value the kernel uses (16/32/64; ia32: at most 32):
                      // raw values are masked to it
  int8_t len_arg;     // buffer, out_buffer, sockaddr, iovec: index of the argument holding
                      // the length / count; sockaddr_out: of the int * length; else -1
  const ConstSet* set;  // named constants the rich style decodes the value with
                        // (flags/enum_ and the decoded kinds), else nullptr
};

struct SyscallInfo {
  uint32_t nr;
  const char* name;     // "openat" (the user-space name, as in <asm/unistd_64.h>)
  const char* symbol;   // "__x64_sys_openat" (entry point in a 64-bit kernel; ia32 table:
                        // the __ia32_compat_sys_* / __ia32_sys_* one); "" when the kernel
                        // does not implement the number (sys_ni_syscall)
  uint8_t nargs;
  ArgInfo args[6];
  const char* symbol_native32;  // ia32 table: entry point in a native 32-bit kernel
                                // ("" when absent there); x64 table: ""
  RetKind ret = RetKind::value;
};

// True when this call, returning ret with these argument values, created a file
// descriptor (ret is that fd).
bool returns_fd(const SyscallInfo& info, const uint64_t* args, int64_t ret);

// Blob conventions for captured arguments (event::Record blobs):
//   string:       the bytes before the NUL (Capture::truncated when the limit hit first)
//   string_array: the strings one after the other, each followed by a NUL
//   buffer:       the first bytes of the buffer (--capture-buffers)
//   sockaddr:     at most kMaxSockaddr bytes of the address (truncated when longer)
//   timespec(32): the 16 (8) bytes of the structure
//   iovec:        at most kMaxIovecs {base, len} pairs of the user's pointer size
//   iovec_data:   u16 bytes of pairs, those pairs (as iovec), then per pair in order a
//                 u16 n and the first n bytes of its buffer (n <= --capture-buffers;
//                 fewer pairs' data when the scratch space or a read ran out)
//   msghdr:       two u16 (bytes of msg_name and of msg_iov that follow), the
//                 user_msghdr (56 bytes; ia32 28), then min(msg_namelen, kMaxSockaddr)
//                 bytes of msg_name, then at most kMaxIovecs {base, len} pairs of
//                 msg_iov (0 bytes: NULL, empty or unreadable; the header tells which).
//                 Truncated when a part was cut or unreadable.
//   mmsghdr:      the first message as msghdr, then its msg_len (4 bytes; absent when
//                 unreadable). The count is the vlen argument (entry) or ret.
//   futex_timeout(32): as timespec(32), only for the waiting commands
//   prctl_arg:    PR_SET_NAME's string (at most 16 bytes)
// Out kinds travel as Extra::out_arg on the sysret: stat*: the structure's bytes;
// fd_pair_out: 8 bytes; len_out: 4 bytes; sockaddr_out: the address (length from
// *len_arg); out_buffer: the first min(ret, --capture-buffers) bytes;
// wait_status_out, clone_ptid_out: 4 bytes; siginfo_out: 128 bytes; msghdr_out: as
// msghdr; mmsghdr_out: as mmsghdr; prctl_arg (PR_GET_NAME): the name, at most 16 bytes;
// sigset_out 8, sigaction_out as sigaction, rlimit_out 16, rlimit32_out 8, timespec_out 16,
// utsname_out 390, sysinfo_out 112, statfs_out 120 bytes; dirent64_out: the first
// min(ret, kMaxDirentBytes) bytes; out_string: min(ret, string limit) bytes (a final
// NUL dropped); random_out: as out_buffer; gid_list_out: min(ret, kMaxGroups) u32;
// cpu_mask_out: min(ret, kMaxCpuMaskBytes) bytes.
// ioctl_arg: ioctl_out_size(cmd) bytes (TCGETS's struct termios, TIOCGWINSZ's winsize,
// SIOCGIFFLAGS's ifreq).
// Entry blobs of the structures: sigset 8 bytes, sigaction 32 (ia32 20), rlimit 16, rlimit32 8,
// timespec_pair 32, timespec32_pair 16, sockopt_val 4 (only when optlen is 4),
// ioctl_arg kIfreqSize for SIOCSIFFLAGS (the ifreq the kernel reads).
inline constexpr uint32_t kMaxSockaddr = 128;  // sizeof(struct sockaddr_storage)
// getdents64 entries captured: strace -v prints them all, and a directory such as
// /usr/lib/python3.11 fills 7 KiB of glibc's 32 KiB buffer in one call.
inline constexpr uint32_t kMaxDirentBytes = 16384;
inline constexpr uint32_t kMaxGroups = 64;          // getgroups entries captured
inline constexpr uint32_t kMaxCpuMaskBytes = 128;   // sched_getaffinity: 1024 CPUs
inline constexpr uint32_t kMaxIovecs = 16;

// nullptr when the number is not in the table (the caller prints "sys_<nr>").
const SyscallInfo* lookup(event::Abi abi, uint32_t nr);
const SyscallInfo* lookup(event::Abi abi, std::string_view name);
std::span<const SyscallInfo> table(event::Abi abi);
// "x64" / "x32" (ia32 and compat calls are "x32", as the specification says);
// arm64 kernels: "arm64", and "arm32" for AArch32 tasks (arm EABI numbers).
// Windows tables are not there yet: "nt" / "win32k".
const char* abi_type_name(event::Abi abi);

// Values the conditional kinds look at (the kernel's uapi numbers).
inline constexpr uint64_t kPrSetName = 15, kPrGetName = 16;  // prctl options
inline constexpr uint64_t kTcgets = 0x5401;                  // ioctl: struct termios out
inline constexpr uint32_t kTermiosSize = 36;                 // the kernel's struct termios
inline constexpr uint64_t kTiocgwinsz = 0x5413;              // ioctl: struct winsize out
inline constexpr uint32_t kWinsizeSize = 8;                  // struct winsize
inline constexpr uint64_t kSiocgifflags = 0x8913;            // ioctl: struct ifreq in/out
inline constexpr uint64_t kSiocsifflags = 0x8914;            // ioctl: struct ifreq in
inline constexpr uint32_t kIfreqSize = 40;                   // struct ifreq (x86-64)
// The bytes an ioctl request writes back that the rich style shows (0: none).
inline uint32_t ioctl_out_size(uint64_t cmd) {
  switch (cmd & 0xffffffffu) {
    case kTcgets: return kTermiosSize;
    case kTiocgwinsz: return kWinsizeSize;
    case kSiocgifflags: return kIfreqSize;
    default: return 0;
  }
}
inline constexpr uint32_t kTaskCommLen = 16;                 // PR_*_NAME buffer size
inline constexpr uint64_t kCloneParentSettid = 0x00100000, kClonePidfd = 0x00001000;
// True for the futex commands whose fourth argument is a timeout pointer (WAIT,
// LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2); for the others it is val2.
inline bool futex_has_timeout(uint64_t op) {
  const uint64_t cmd = op & ~uint64_t{128 | 256} & 0xffffffffu;  // FUTEX_CMD_MASK
  return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
}
// struct user_msghdr (x86-64) / compat_msghdr (ia32): field offsets by pointer size.
struct MsghdrLayout {
  uint32_t size, name, namelen, iov, iovlen, control, controllen, flags;
  unsigned word;  // bytes of msg_iovlen / msg_controllen (size_t / compat_size_t)
};
inline MsghdrLayout msghdr_layout(unsigned ptr_size) {
  if (ptr_size == 4) return {28, 0, 4, 8, 12, 16, 20, 24, 4};
  return {56, 0, 8, 16, 24, 32, 40, 48, 8};
}

// Masks a raw argument value to the width the kernel uses (see ArgInfo::bits).
inline uint64_t mask_arg(uint64_t v, unsigned bits) {
  return bits >= 64 ? v : v & ((uint64_t{1} << bits) - 1);
}

}  // namespace vmitrace::syscalls

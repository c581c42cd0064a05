// Internal: the generic decoders of the rich argument style. Each appends the plain
// text strace would print for a value ("O_RDONLY|O_CLOEXEC", "0644", "\"a\\n\"...");
// the caller then writes that text as one escaped string of the output format.
// Decoders are per kind of value (flag set, enum, string...), never per syscall: which
// syscall argument uses which constant set is data (data/*.tbl).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "syscalls/tables/constants.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::output::decode {

// Sign-extends the low `bits` bits of v (an int argument as the kernel sees it).
int64_t sign_extend(uint64_t v, unsigned bits);

void hex(std::string& out, uint64_t v);          // 0x2a
void dec(std::string& out, int64_t v);           // -1
void udec(std::string& out, uint64_t v);         // 4096
void ptr(std::string& out, uint64_t v);          // NULL or 0x7ffd...
// %#x as strace writes it inside _IOC(...): "0" for zero, else 0x...
void alt_hex(std::string& out, uint64_t v);

// Bit set: names joined by '|' in the set's order (a name is used when all its bits
// are set), then the unknown remainder in hex; 0 is the set's zero name or "0".
void flags(std::string& out, const syscalls::ConstSet& set, uint64_t v);
// Enumeration: the name, else the value in hex.
void enumeration(std::string& out, const syscalls::ConstSet& set, uint64_t v);
// open(2) flags: the access mode first (O_RDONLY...), then the other flags.
// `flags`: the architecture's set above the access mode (nullptr: x86's).
void open_flags(std::string& out, uint64_t v, const syscalls::ConstSet* open_set = nullptr);
// clone(2) flags: CLONE_* names then the exit signal of the low byte ("...|SIGCHLD").
void clone_flags(std::string& out, uint64_t v);
// socket(2) type: SOCK_* of the low 4 bits, then SOCK_CLOEXEC/SOCK_NONBLOCK.
void socket_type(std::string& out, uint64_t v);
// ioctl(2) request: a known name, else _IOC(dir, type, nr, size).
void ioctl_cmd(std::string& out, uint64_t v);
// futex(2) op: FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME; hex when the command
// or a bit is unknown.
void futex_op(std::string& out, uint64_t v);
// Signal number (an int): name, "0", or the decimal value when out of range.
void signal(std::string& out, int64_t sig);
// File mode in octal as strace's %#03o: "0644", "000".
void mode(std::string& out, uint64_t v);
// *at dirfd: "AT_FDCWD" for -100, else the fd in decimal.
void dirfd(std::string& out, int64_t fd);
// socket(2) protocol: IPPROTO_* for AF_INET/AF_INET6 (hex when unnamed), else decimal.
void socket_protocol(std::string& out, uint64_t family, uint64_t v);
// fcntl(2) third argument by command: FD_CLOEXEC (F_SETFD), open flags (F_SETFL), a
// pointer (the F_*LK and F_*OWN_EX structures), else decimal.
// open_set: the O_* set of F_SETFL's argument (the architecture's; nullptr: x86's).
void fcntl_arg(std::string& out, uint64_t cmd, uint64_t v, const syscalls::ConstSet* open_set = nullptr);
// statx(2) flags: the sync type by name (AT_STATX_SYNC_AS_STAT for 0) then the AT_* bits.
void statx_flags(std::string& out, uint64_t v);
// setsockopt/getsockopt optname at `level`: SO_* for SOL_SOCKET (hex when unnamed),
// else decimal.
void sockopt_name(std::string& out, uint64_t level, uint64_t v);
// prctl(2) arg2 when it is a number (option: arg1): a capability (CAP_SYS_ADMIN) for
// PR_CAPBSET_READ/PR_CAPBSET_DROP ("0x30 /* CAP_??? */" when unnamed), else as
// alt_hex.
void prctl_arg2(std::string& out, uint64_t option, uint64_t v);
// futex(2) val3: FUTEX_BITSET_MATCH_ANY (all bits) for the bitset commands, else hex
// for them, decimal for the others.
void futex_val3(std::string& out, uint64_t op, uint64_t v);

// How quoted() writes the bytes that are not printable ASCII.
enum class Escapes : uint8_t {
  strace,  // strace's: \" \\ \t \n \v \f \r, every other byte outside 0x20..0x7e in
           // octal with as few digits as possible ("\177ELF\2\1", "\0" but "\0001"
           // when an octal digit follows)
  hex_all, // every byte as \xNN (strace's forced hex: getrandom's buffer)
  utf8,    // \" \\ \t \n \v \f \r, other control bytes, DEL and bytes that are not
           // valid UTF-8 as \xNN; valid UTF-8 kept (Windows names; the raw style's out
           // arguments, unchanged since they first appeared)
};
// A string as strace quotes it: "..." escaped as `e` says. At most `limit` bytes (0:
// no limit); when cut (or `truncated`), "..." follows the closing quote.
void quoted(std::string& out, std::string_view s, size_t limit, bool truncated,
            Escapes e = Escapes::strace);
// NUL-separated strings (execve argv/envp as captured): ["a", "b"], each element
// quoted as above; `truncated` (the capture stopped before the array's end) adds
// a final ", ..." element marker.
void string_array(std::string& out, std::string_view blob, size_t limit, bool truncated);

}  // namespace vmitrace::output::decode

// --- structures (decode_struct.cpp): the captured bytes of a pointed-to struct,
// as strace prints it; `truncated` (the capture was cut) adds "..." after it.
namespace vmitrace::output::decode {

// {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, AF_INET6
// with inet_pton(...), AF_UNIX with sun_path ("@..." when abstract); other families
// by name with their bytes elided.
void sockaddr(std::string& out, std::string_view bytes, bool truncated,
              Escapes e = Escapes::strace);  // e: how sun_path is quoted
// {tv_sec=1, tv_nsec=500} from 16 (64-bit fields) or 8 (ia32 old_timespec32) bytes.
void timespec(std::string& out, std::string_view bytes);
// utimensat's times: [{tv_sec=1700000000, tv_nsec=0} /* 2023-11-14T22:13:20+0000 */,
// {tv_sec=0, tv_nsec=UTIME_NOW}] from two timespecs of elem_size (16, or 8 for ia32).
// The date is UTC: the guest's time zone is not known from outside.
void utime_pair(std::string& out, std::string_view bytes, size_t elem_size);
// getgroups' list: [0, 1000] from u32 values (", ..." when cut).
void gid_list(std::string& out, std::string_view bytes, bool truncated);
// sched_getaffinity's mask: the numbers of the CPUs in it, [0, 2] (", ..." when cut).
void cpu_list(std::string& out, std::string_view bytes, bool truncated);
// --- signals (decode_signal.cpp)
// A 64-signal sigset_t (8 bytes): [HUP INT] by name without SIG, or ~[RTMIN RT_1] (the
// signals not in it) when at least half are in it.
void sigset(std::string& out, std::string_view bytes);
// struct sigaction (x86-64, 32 bytes; ptr_size 4: the ia32 compat one, 20):
// {sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x...} (sa_restorer
// only with SA_RESTORER).
void sigaction(std::string& out, std::string_view bytes, unsigned ptr_size);
// --- process and system information (decode_info.cpp)
// struct rlimit64 (word 8): {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}; struct
// compat_rlimit (word 4): its u32 fields, RLIM_INFINITY for ~0u.
void rlimit(std::string& out, std::string_view bytes, unsigned word);
// struct new_utsname: {sysname="Linux", nodename=..., release=..., version=...,
// machine=..., domainname=...}.
void utsname(std::string& out, std::string_view bytes);
// struct sysinfo (x86-64): {uptime=9, loads=[5248, 1088, 352], totalram=..., mem_unit=1}.
void sysinfo(std::string& out, std::string_view bytes);
// --- terminals (decode_tty.cpp)
// struct termios (36 bytes): {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR,
// c_cflag=B9600|CS8|CREAD, c_lflag=ISIG|ICANON, c_line=N_TTY, c_cc=[[VINTR]=0x3, ...]}.
void termios(std::string& out, std::string_view bytes);
// struct winsize (8 bytes): {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}.
void winsize(std::string& out, std::string_view bytes);
// struct ifreq of SIOCGIFFLAGS: {ifr_name="lo", ifr_flags=IFF_UP|IFF_LOOPBACK|IFF_RUNNING}.
void ifreq_flags(std::string& out, std::string_view bytes);
// What an ioctl wrote back (syscalls::ioctl_out_size: cmd says which structure).
void ioctl_out(std::string& out, uint64_t cmd, std::string_view bytes);
// ioctl(2) third argument at entry (cmd: the request): decimal for the requests that
// take an int (FICLONE's descriptor, TIOCSCTTY), else a pointer.
void ioctl_arg(std::string& out, uint64_t cmd, uint64_t v);
// --- file systems (decode_fs.cpp)
// The linux_dirent64 records getdents64 returned: [{d_ino=6, d_off=1, d_reclen=24,
// d_type=DT_DIR, d_name="."}, ...]; ", ..." ends the list when the capture was cut.
void dirents64(std::string& out, std::string_view bytes, bool truncated);
// struct statfs (x86-64): {f_type=TMPFS_MAGIC, f_bsize=4096, ..., f_fsid={val=[0x1,
// 0x2]}, f_namelen=255, f_frsize=4096, f_flags=ST_VALID|ST_RELATIME}.
void statfs(std::string& out, std::string_view bytes);
// [{iov_base=0x..., iov_len=5}, ...] from {base, len} pairs of ptr_size each.
void iovec(std::string& out, std::string_view bytes, unsigned ptr_size, bool truncated);
// iovec_data's blob (syscalls/tables/linux.hpp): as iovec, each iov_base shown as the quoted
// bytes of its buffer when they were captured ("..." after it when cut).
void iovec_data(std::string& out, std::string_view bytes, unsigned ptr_size, bool truncated);
// struct stat as strace abbreviates it: {st_mode=S_IFREG|0644, st_size=123, ...}
// (st_rdev=makedev(...) for devices). which: syscalls::ArgKind::stat_out,
// stat32_out, stat64_out, stat_arm_out or statx_out ({stx_mask=..., stx_mode=...,
// stx_size=..., ...}).
void stat(std::string& out, std::string_view bytes, syscalls::ArgKind which);
// int[2] of pipe/pipe2: [3, 4].
void fd_pair(std::string& out, std::string_view bytes);
// An int written back (accept's addrlen): [16].
void int_ref(std::string& out, std::string_view bytes);
// wait4's status: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], [{WIFSIGNALED(s) &&
// WTERMSIG(s) == SIGKILL}], ... ("[0x...]" when it is none of the four).
void wait_status(std::string& out, std::string_view bytes);
// waitid's siginfo: {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=95, si_uid=0,
// si_status=7, si_utime=0, si_stime=0} ("{}" when nothing was reported);
// ptr_size 4: compat_siginfo.
void siginfo(std::string& out, std::string_view bytes, unsigned ptr_size);
// A user_msghdr as captured (blob layout of ArgKind::msghdr): {msg_name=..., msg_namelen=16,
// msg_iov=[{iov_base=0x..., iov_len=5}], msg_iovlen=1, msg_controllen=0, msg_flags=0}.
// A part that was cut carries its own marker ("...}" / ", ...]"), one not read is
// "0x... (unreadable)".
void msghdr(std::string& out, std::string_view bytes, unsigned ptr_size,
            Escapes e = Escapes::strace);
// The first of `count` struct mmsghdr (blob layout of ArgKind::mmsghdr):
// [{msg_hdr={...}, msg_len=5}, ...] (", ..." when count > 1: only the first is read).
void mmsghdr(std::string& out, std::string_view bytes, unsigned ptr_size, uint64_t count,
             Escapes e = Escapes::strace);

}  // namespace vmitrace::output::decode

// Named constants as data (data/const/*.tbl, generated into C++ at build time):
// errno names, prctl options, arch_prctl codes, PROT_* bits... Enum sets map one
// value to one name; flag sets split a value into named bits plus a remainder.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace vmitrace::syscalls {

struct NamedValue {
  uint64_t value;
  const char* name;  // "ENOENT"
  const char* text;  // "No such file or directory" ("" when the set has no texts)
};

struct ConstSet {
  const char* id;      // file name without .tbl
  bool flags;          // bit set (else: enum)
  const char* zero;    // flag sets: name of 0 ("PROT_NONE"), or nullptr
  std::span<const NamedValue> values;  // enums: sorted by value
};

// nullptr when v has no name (enum sets only).
const NamedValue* find_value(const ConstSet& set, uint64_t v);
// nullptr when no entry has that name.
const NamedValue* find_name(const ConstSet& set, std::string_view name);

namespace consts {
extern const ConstSet errno_names;      // 1..133 and the kernel-internal 512..531
extern const ConstSet prctl_option;
extern const ConstSet arch_prctl_code;
extern const ConstSet prot;             // flags
extern const ConstSet open_accmode;     // O_RDONLY.. (low 2 bits of open flags)
extern const ConstSet open_flags;       // flags above the access mode
extern const ConstSet open_flags_arm;   // the same on arm and arm64 (other O_DIRECTORY.. bits)
extern const ConstSet mmap_flags;       // flags
extern const ConstSet signals;          // SIGHUP..SIGSYS, SIGRTMIN, SIGRT_1..SIGRT_32
extern const ConstSet clone_flags;      // flags (without the CSIGNAL byte)
extern const ConstSet socket_domain;
extern const ConstSet socket_type;      // low 4 bits of socket()'s type
extern const ConstSet socket_flags;     // SOCK_CLOEXEC, SOCK_NONBLOCK
extern const ConstSet ipproto;
extern const ConstSet access_mode;      // flags, 0 = F_OK
extern const ConstSet at_flags;
extern const ConstSet madvise_advice;
extern const ConstSet sigprocmask_how;
extern const ConstSet fcntl_cmd;
extern const ConstSet wait_options;
extern const ConstSet ioctl_dir;        // flags, 0 = _IOC_NONE
extern const ConstSet ioctl_cmd;        // known full request numbers
extern const ConstSet statx_mask;       // flags: statx stx_mask
extern const ConstSet futex_cmd;        // futex op & FUTEX_CMD_MASK
extern const ConstSet waitid_which;     // P_ALL, P_PID...
extern const ConstSet sigchld_code;     // CLD_EXITED...
extern const ConstSet seek_whence;      // SEEK_SET...
extern const ConstSet rlimit_resource;  // RLIMIT_CPU...
extern const ConstSet getrandom_flags;  // flags
extern const ConstSet mremap_flags;     // MREMAP_*
extern const ConstSet clocks;           // CLOCK_REALTIME...
extern const ConstSet fadvise_advice;   // POSIX_FADV_*
extern const ConstSet epoll_flags;      // flags
extern const ConstSet fd_flags;         // flags: FD_CLOEXEC
extern const ConstSet sa_flags;         // flags: struct sigaction sa_flags
extern const ConstSet dirent_type;      // DT_*
extern const ConstSet fs_magic;         // statfs f_type
extern const ConstSet statfs_flags;     // flags: statfs f_flags
extern const ConstSet termios_iflag;    // flags: struct termios c_iflag
extern const ConstSet termios_oflag;    // flags: c_oflag single bits
extern const ConstSet termios_cflag;    // flags: c_cflag single bits
extern const ConstSet termios_lflag;    // flags: c_lflag
extern const ConstSet termios_baud;     // c_cflag & CBAUD
extern const ConstSet termios_cc;       // c_cc indices: VINTR...
extern const ConstSet tty_ldisc;        // c_line: N_TTY...
extern const ConstSet faccessat_flags;  // flags: faccessat2 (AT_EACCESS)
extern const ConstSet rename_flags;     // flags: renameat2 RENAME_*
extern const ConstSet sockopt_level;    // enum: SOL_*
extern const ConstSet socket_options;   // enum: SOL_SOCKET's SO_*
extern const ConstSet capability;       // enum: CAP_* numbers
extern const ConstSet statx_attributes; // flags: stx_attributes STATX_ATTR_*
extern const ConstSet iff_flags;        // flags: struct ifreq ifr_flags IFF_*
}  // namespace consts

// "ENOENT" for ret in -4095..-1 when the errno has a name; "" otherwise.
std::string_view errno_name(int64_t ret);
// The errno's entry (name and strerror text) for ret in -4095..-1, else nullptr.
const NamedValue* errno_entry(int64_t ret);

}  // namespace vmitrace::syscalls

#include "syscalls/linux/capture.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::syscalls {
namespace {
constexpr uint64_t kPage = 4096;
constexpr size_t kFirstChunk = 64;  // most paths are short: do not read a whole page
// struct sigaction: x86-64 handler, flags, restorer, mask (8 bytes each); the ia32
// compat one has 4-byte pointers and flags.
uint32_t sigaction_size(unsigned ptr_size) { return ptr_size == 4 ? 20 : 32; }
}  // namespace

event::Capture read_string(vmi::Vcpu& cpu, uint64_t va, size_t limit, char* buf, size_t* len) {
  *len = 0;
  if (va == 0) return event::Capture::unreadable;
  // One byte past the limit tells "exactly limit bytes" from "longer".
  const size_t want_total = limit + 1;
  size_t total = 0;
  while (total < want_total) {
    const uint64_t cur = va + total;
    if (cur < va) break;  // wrapped around the address space
    size_t want = std::min<uint64_t>(want_total - total, kPage - (cur & (kPage - 1)));
    if (total == 0) want = std::min(want, kFirstChunk);
    const size_t n = cpu.read_virt(cur, buf + total, want);
    if (const void* z = std::memchr(buf + total, 0, n)) {
      *len = static_cast<const char*>(z) - buf;
      return event::Capture::ok;
    }
    total += n;
    if (n < want) break;  // unmapped page
  }
  *len = std::min(total, limit);
  if (total == 0) return event::Capture::unreadable;
  return event::Capture::truncated;
}

event::Capture read_string_array(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size,
                                 unsigned max_items, size_t limit, char* buf, size_t* len) {
  *len = 0;
  if (va == 0) return event::Capture::unreadable;
  size_t used = 0;
  for (unsigned i = 0; i < max_items; ++i) {
    uint64_t p = 0;
    const uint64_t slot = va + uint64_t{i} * ptr_size;
    if (slot < va || cpu.read_virt(slot, &p, ptr_size) != ptr_size) {
      *len = used;
      return i == 0 ? event::Capture::unreadable : event::Capture::truncated;
    }
    if (p == 0) {
      *len = used;
      return event::Capture::ok;
    }
    // Room for this element: limit + 1 bytes (one past the limit marks it cut) + NUL.
    if (used + 2 > kMaxArrayBytes) break;
    const size_t room = std::min(limit + 1, kMaxArrayBytes - used - 1);
    size_t n = 0;
    const event::Capture c = read_string(cpu, p, room, buf + used, &n);
    used += n;
    buf[used++] = '\0';
    // An unreadable element, or the byte budget cut it: the array stops here.
    if (c == event::Capture::unreadable || (c == event::Capture::truncated && room <= limit))
      break;
  }
  *len = used;
  return event::Capture::truncated;
}

event::Capture read_bytes(vmi::Vcpu& cpu, uint64_t va, size_t n, char* buf, size_t* len) {
  *len = 0;
  if (va == 0) return event::Capture::unreadable;
  n = std::min(n, kScratchBytes);
  if (va + n < va) n = 0 - va;  // no wrap around the address space
  *len = cpu.read_virt(va, buf, n);
  if (*len == n) return event::Capture::ok;
  return *len == 0 ? event::Capture::unreadable : event::Capture::truncated;
}

uint32_t out_struct_size(ArgKind k) {
  switch (k) {
    case ArgKind::stat_out: return 144;    // x86-64 struct stat
    case ArgKind::stat32_out: return 64;   // struct compat_stat
    case ArgKind::stat64_out: return 96;   // i386 struct stat64
    case ArgKind::stat_arm_out: return 104;  // arm's struct stat64 (arm64's stat: 128)
    case ArgKind::statx_out: return 256;   // struct statx
    case ArgKind::fd_pair_out: return 8;   // int[2]
    case ArgKind::len_out: return 4;       // int
    case ArgKind::wait_status_out: return 4;  // int
    case ArgKind::clone_ptid_out: return 4;   // int (pid_t)
    case ArgKind::siginfo_out: return 128;    // siginfo_t / compat_siginfo_t
    case ArgKind::sigset_out: return 8;       // sigset_t (64 signals)
    case ArgKind::rlimit_out: return 16;      // struct rlimit64
    case ArgKind::rlimit32_out: return 8;     // struct compat_rlimit
    case ArgKind::timespec_out: return 16;    // struct __kernel_timespec
    case ArgKind::utsname_out: return 6 * 65; // struct new_utsname
    case ArgKind::sysinfo_out: return 112;    // struct sysinfo (x86-64)
    case ArgKind::statfs_out: return 120;     // struct statfs (x86-64)
    default: return 0;
  }
}

event::Capture read_mmsghdr(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size, char* buf,
                            size_t* len) {
  event::Capture c = read_msghdr(cpu, va, ptr_size, buf, len);
  if (c == event::Capture::unreadable) return c;
  uint32_t msg_len = 0;  // right after the header (struct mmsghdr)
  if (!cpu.read_u32(va + msghdr_layout(ptr_size).size, msg_len)) return event::Capture::truncated;
  std::memcpy(buf + *len, &msg_len, 4);
  *len += 4;
  return c;
}

event::Capture read_iovec_data(vmi::Vcpu& cpu, uint64_t va, uint64_t count,
                               const CaptureLimits& lim, char* buf, size_t* len) {
  *len = 0;
  const unsigned ptr_size = lim.user_ptr;
  const uint64_t items = std::min<uint64_t>(count, kMaxIovecs);
  size_t pairs = 0;
  event::Capture state = read_bytes(cpu, va, items * 2 * ptr_size, buf + 2, &pairs);
  if (state == event::Capture::unreadable) return state;
  pairs -= pairs % (2 * ptr_size);  // whole pairs only
  if (state == event::Capture::ok && count > kMaxIovecs) state = event::Capture::truncated;
  const uint16_t pair_bytes = static_cast<uint16_t>(pairs);
  std::memcpy(buf, &pair_bytes, 2);
  size_t off = 2 + pairs;
  for (size_t p = 0; lim.buffer_limit != 0 && p < pairs; p += 2 * ptr_size) {
    uint64_t base = 0, blen = 0;
    std::memcpy(&base, buf + 2 + p, ptr_size);
    std::memcpy(&blen, buf + 2 + p + ptr_size, ptr_size);
    const uint64_t want = std::min<uint64_t>(blen, lim.buffer_limit);
    if (off + 2 + want > kScratchBytes) {  // no room for this buffer: the rest goes
      state = event::Capture::truncated;
      break;
    }
    size_t n = 0;
    if (want != 0 && read_bytes(cpu, base, want, buf + off + 2, &n) != event::Capture::ok) {
      state = event::Capture::truncated;  // an unreadable buffer ends the data
      break;
    }
    const uint16_t n16 = static_cast<uint16_t>(n);
    std::memcpy(buf + off, &n16, 2);
    off += 2 + n;
  }
  *len = off;
  return state;
}

namespace {

// The value of argument i as an unsigned 32-bit length (an int in the kernel: a
// negative one is huge and gets capped like any other).
uint64_t arg_at(const uint64_t* args, int idx) { return idx >= 0 && idx < 6 ? args[idx] : 0; }

template <class T>
T field_at(const char* p, uint32_t off, unsigned width) {
  uint64_t v = 0;
  std::memcpy(&v, p + off, width);  // little-endian guest
  return static_cast<T>(v);
}

}  // namespace

event::Capture read_msghdr(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size, char* buf,
                           size_t* len) {
  *len = 0;
  const MsghdrLayout L = msghdr_layout(ptr_size);
  char* hdr = buf + 4;
  size_t got = 0;
  if (read_bytes(cpu, va, L.size, hdr, &got) != event::Capture::ok) return event::Capture::unreadable;
  event::Capture state = event::Capture::ok;
  size_t off = 4 + L.size;
  // msg_name: msg_namelen is an int the caller chose (4 GiB and negatives are capped).
  const uint64_t name = field_at<uint64_t>(hdr, L.name, ptr_size);
  const uint32_t namelen = field_at<uint32_t>(hdr, L.namelen, 4);
  uint16_t name_bytes = 0;
  if (name != 0 && namelen != 0) {
    size_t n = 0;
    const event::Capture c =
        read_bytes(cpu, name, std::min<uint32_t>(namelen, kMaxSockaddr), buf + off, &n);
    if (c != event::Capture::ok || namelen > kMaxSockaddr) state = event::Capture::truncated;
    name_bytes = static_cast<uint16_t>(n);
    off += n;
  }
  // msg_iov: at most kMaxIovecs of msg_iovlen {base, len} pairs.
  const uint64_t iov = field_at<uint64_t>(hdr, L.iov, ptr_size);
  const uint64_t iovlen = field_at<uint64_t>(hdr, L.iovlen, L.word);
  uint16_t iov_bytes = 0;
  if (iov != 0 && iovlen != 0) {
    size_t n = 0;
    const uint64_t items = std::min<uint64_t>(iovlen, kMaxIovecs);
    const event::Capture c = read_bytes(cpu, iov, items * 2 * ptr_size, buf + off, &n);
    if (c != event::Capture::ok || iovlen > kMaxIovecs) state = event::Capture::truncated;
    n -= n % (2 * ptr_size);  // whole pairs only
    iov_bytes = static_cast<uint16_t>(n);
    off += n;
  }
  std::memcpy(buf, &name_bytes, 2);
  std::memcpy(buf + 2, &iov_bytes, 2);
  *len = off;
  return state;
}

namespace {

}  // namespace

unsigned capture_entry_args(vmi::Vcpu& cpu, event::Builder& b, const SyscallInfo& info,
                            const CaptureLimits& lim, char* scratch) {
  unsigned failed = 0;
  const unsigned n = std::min<unsigned>(info.nargs, 6);
  const uint64_t* args = b.rec().args;
  for (unsigned i = 0; i < n; ++i) {
    const ArgInfo& a = info.args[i];
    const uint64_t va = args[i];
    size_t len = 0;
    event::Capture c = event::Capture::none;
    switch (a.kind) {
      case ArgKind::string:
        c = read_string(cpu, va, lim.string_limit, scratch, &len);
        break;
      case ArgKind::string_array:
        c = read_string_array(cpu, va, lim.user_ptr, kMaxArrayItems, lim.string_limit, scratch,
                              &len);
        break;
      case ArgKind::buffer: {
        if (lim.buffer_limit == 0 || a.len_arg < 0 || a.len_arg >= 6) continue;
        const uint64_t want = mask_arg(args[a.len_arg], info.args[a.len_arg].bits);
        if (want == 0) continue;
        c = read_bytes(cpu, va, std::min<uint64_t>(want, lim.buffer_limit), scratch, &len);
        if (c == event::Capture::ok && want > lim.buffer_limit) c = event::Capture::truncated;
        break;
      }
      case ArgKind::sockaddr: {
        // addrlen is an int the caller chose: 4 GiB (or -1) is capped, and marked.
        const uint64_t want = arg_at(args, a.len_arg) & 0xffffffffu;
        if (va == 0 || want == 0) continue;
        c = read_bytes(cpu, va, std::min<uint64_t>(want, kMaxSockaddr), scratch, &len);
        if (c == event::Capture::ok && want > kMaxSockaddr) c = event::Capture::truncated;
        break;
      }
      case ArgKind::timespec:
      case ArgKind::timespec32:
      case ArgKind::timespec_pair:
      case ArgKind::timespec32_pair:
        if (va == 0) continue;
        c = read_bytes(cpu, va,
                       a.kind == ArgKind::timespec_pair                                 ? 32
                       : a.kind == ArgKind::timespec || a.kind == ArgKind::timespec32_pair ? 16
                                                                                        : 8,
                       scratch, &len);
        break;
      case ArgKind::ioctl_arg:
        if (va == 0 || (arg_at(args, a.len_arg) & 0xffffffffu) != kSiocsifflags) continue;
        c = read_bytes(cpu, va, kIfreqSize, scratch, &len);
        break;
      case ArgKind::sockopt_val:
        // An int option (strace's [1]); other sizes stay a pointer.
        if (va == 0 || (arg_at(args, a.len_arg) & 0xffffffffu) != 4) continue;
        c = read_bytes(cpu, va, 4, scratch, &len);
        break;
      case ArgKind::iovec: {
        const uint64_t count = arg_at(args, a.len_arg);
        if (va == 0 || count == 0) continue;
        const uint64_t items = std::min<uint64_t>(count, kMaxIovecs);
        c = read_bytes(cpu, va, items * 2 * lim.user_ptr, scratch, &len);
        if (c == event::Capture::ok && count > kMaxIovecs) c = event::Capture::truncated;
        break;
      }
      case ArgKind::iovec_data: {
        const uint64_t count = arg_at(args, a.len_arg);
        if (va == 0 || count == 0) continue;
        c = read_iovec_data(cpu, va, count, lim, scratch, &len);
        break;
      }
      case ArgKind::msghdr:
        if (va == 0) continue;
        c = read_msghdr(cpu, va, lim.user_ptr, scratch, &len);
        break;
      case ArgKind::mmsghdr:
        if (va == 0 || arg_at(args, a.len_arg) == 0) continue;
        c = read_mmsghdr(cpu, va, lim.user_ptr, scratch, &len);
        break;
      case ArgKind::futex_timeout:
      case ArgKind::futex_timeout32:
        // Only the waiting commands take a pointer here (the others: val2, a number).
        if (va == 0 || !futex_has_timeout(arg_at(args, a.len_arg))) continue;
        c = read_bytes(cpu, va, a.kind == ArgKind::futex_timeout ? 16 : 8, scratch, &len);
        break;
      case ArgKind::prctl_arg:
        if (arg_at(args, a.len_arg) != kPrSetName) continue;  // PR_GET_NAME: at return
        c = read_string(cpu, va, kTaskCommLen, scratch, &len);
        break;
      case ArgKind::sigset:
      case ArgKind::sigaction:
      case ArgKind::rlimit:
      case ArgKind::rlimit32:
        if (va == 0) continue;
        c = read_bytes(cpu, va,
                       a.kind == ArgKind::sigaction ? sigaction_size(lim.user_ptr)
                       : a.kind == ArgKind::sigset || a.kind == ArgKind::rlimit32 ? 8
                                                                                   : 16,
                       scratch, &len);
        break;
      default: continue;
    }
    // A NULL pointer is a value (e.g. execve's envp), not a failed read.
    if (c == event::Capture::unreadable && va != 0) ++failed;
    b.add_blob(i, scratch, len, c);
  }
  return failed;
}

unsigned capture_return_args(vmi::Vcpu& cpu, event::Builder& b, const SyscallInfo& info,
                             const uint64_t* args, int64_t ret, const CaptureLimits& lim,
                             char* scratch) {
  if (ret < 0) return 0;  // the call failed: the kernel wrote nothing we could show
  unsigned failed = 0;
  const unsigned n = std::min<unsigned>(info.nargs, 6);
  for (unsigned i = 0; i < n; ++i) {
    const ArgInfo& a = info.args[i];
    const bool get_name = a.kind == ArgKind::prctl_arg && arg_at(args, a.len_arg) == kPrGetName;
    const uint32_t ioctl_out = a.kind == ArgKind::ioctl_arg ? ioctl_out_size(arg_at(args, a.len_arg)) : 0;
    if (!is_out_kind(a.kind) && !get_name && ioctl_out == 0) continue;
    const uint64_t va = args[i];
    if (va == 0) continue;  // NULL: the caller did not want it
    size_t len = 0;
    event::Capture c = event::Capture::none;
    if (a.kind == ArgKind::out_buffer || a.kind == ArgKind::random_out) {
      if (lim.buffer_limit == 0) continue;
      // ret 0 (end of file): an empty capture, shown as "" as strace does.
      c = read_bytes(cpu, va, std::min<uint64_t>(ret, lim.buffer_limit), scratch, &len);
      if (c == event::Capture::ok && static_cast<uint64_t>(ret) > lim.buffer_limit)
        c = event::Capture::truncated;
    } else if (a.kind == ArgKind::gid_list_out || a.kind == ArgKind::cpu_mask_out) {
      // getgroups(0, list) only counts: the kernel wrote none of its ret entries ([]).
      const bool gids = a.kind == ArgKind::gid_list_out;
      const uint64_t n = gids ? std::min<uint64_t>(ret, arg_at(args, 0) & 0xffffffffu) : ret;
      const uint64_t want = gids ? uint64_t{4} * std::min<uint64_t>(n, kMaxGroups)
                                 : std::min<uint64_t>(n, kMaxCpuMaskBytes);
      const uint64_t full = gids ? uint64_t{4} * n : n;
      c = read_bytes(cpu, va, want, scratch, &len);
      if (c == event::Capture::ok && full > want) c = event::Capture::truncated;
    } else if (a.kind == ArgKind::dirent64_out) {
      static_assert(kMaxDirentBytes <= kScratchBytes);
      c = read_bytes(cpu, va, std::min<uint64_t>(ret, kMaxDirentBytes), scratch, &len);
      if (c == event::Capture::ok && static_cast<uint64_t>(ret) > kMaxDirentBytes)
        c = event::Capture::truncated;
    } else if (a.kind == ArgKind::out_string) {
      // readlink: ret bytes, no NUL; getcwd: ret counts the NUL.
      c = read_bytes(cpu, va, std::min<uint64_t>(ret, lim.string_limit), scratch, &len);
      if (len > 0 && scratch[len - 1] == '\0') --len;
      if (c == event::Capture::ok && static_cast<uint64_t>(ret) > lim.string_limit)
        c = event::Capture::truncated;
    } else if (ioctl_out != 0) {
      if (ret != 0) continue;
      c = read_bytes(cpu, va, ioctl_out, scratch, &len);
    } else if (a.kind == ArgKind::sigaction_out) {
      if (ret != 0) continue;
      c = read_bytes(cpu, va, sigaction_size(lim.user_ptr), scratch, &len);
    } else if (a.kind == ArgKind::sockaddr_out) {
      // The length the kernel wrote back (the full address size, possibly larger
      // than the caller's buffer, which then holds only the first bytes).
      uint32_t want = 0;
      const uint64_t lp = arg_at(args, a.len_arg);
      if (lp == 0 || !cpu.read_u32(lp, want)) {
        ++failed;
        b.add_extra(event::Extra::out_arg, static_cast<uint8_t>(i), nullptr, 0,
                    event::Capture::unreadable);
        continue;
      }
      if (want == 0) continue;
      c = read_bytes(cpu, va, std::min<uint32_t>(want, kMaxSockaddr), scratch, &len);
      if (c == event::Capture::ok && want > kMaxSockaddr) c = event::Capture::truncated;
    } else if (get_name) {
      if (ret != 0) continue;
      c = read_string(cpu, va, kTaskCommLen, scratch, &len);
    } else if (a.kind == ArgKind::msghdr_out) {
      c = read_msghdr(cpu, va, lim.user_ptr, scratch, &len);
    } else if (a.kind == ArgKind::mmsghdr_out) {
      if (ret == 0) continue;  // no message received
      c = read_mmsghdr(cpu, va, lim.user_ptr, scratch, &len);
    } else if (a.kind == ArgKind::wait_status_out) {
      if (ret == 0) continue;  // WNOHANG and no child changed state: nothing written
      c = read_bytes(cpu, va, 4, scratch, &len);
    } else if (a.kind == ArgKind::clone_ptid_out) {
      // Written (in the parent) only with these flags; ret is the child's tid.
      if (ret == 0 || !(arg_at(args, a.len_arg) & (kCloneParentSettid | kClonePidfd))) continue;
      c = read_bytes(cpu, va, 4, scratch, &len);
    } else {
      // Structures and fd pairs are written only on success (ret == 0).
      if (ret != 0 && a.kind != ArgKind::len_out) continue;
      c = read_bytes(cpu, va, out_struct_size(a.kind), scratch, &len);
    }
    if (c == event::Capture::unreadable) ++failed;
    b.add_extra(event::Extra::out_arg, static_cast<uint8_t>(i), scratch, len, c);
  }
  return failed;
}

}  // namespace vmitrace::syscalls

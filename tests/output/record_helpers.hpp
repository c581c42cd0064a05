// Builds event records the way the capture side does (event::Builder), for tests.
#pragma once
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "event/record.hpp"

namespace vmitrace::test {

struct RecordBuf {
  alignas(8) unsigned char bytes[8192];
  event::Builder b{bytes, sizeof(bytes)};
  event::Record& rec() { return b.rec(); }
  void blob(unsigned i, std::string_view s, event::Capture st = event::Capture::ok) {
    b.add_blob(i, s.data(), s.size(), st);
  }
  const event::Record& done() {
    b.finish();
    return b.rec();
  }
};

// A cat process in a 64-bit guest, as the lab workload shows it.
inline void fill_context(event::Record& r) {
  r.vcpu = 1;
  r.time_ns = 1700000000123456789ull;
  r.cr3 = 0x1ad2c000;
  r.pid = 1234;
  r.ppid = 1000;
  r.tid = 1234;
  r.uid = 0;
  std::memcpy(r.process_name, "cat", 3);
  std::memcpy(r.thread_name, "cat", 3);
  std::memcpy(r.module, "x64_sys_call", 12);
  std::memcpy(r.user_name, "root", 4);
}

// openat(AT_FDCWD, "/etc/passwd", O_RDONLY, 0) entry. AT_FDCWD is sign-extended to
// 64 bits, as a caller may leave it: the kernel (and we) use the low 32 bits.
inline const event::Record& openat_entry(RecordBuf& rb) {
  event::Record& r = rb.rec();
  fill_context(r);
  r.kind = event::Kind::syscall;
  r.abi = event::Abi::linux_x64;
  r.nr = 257;
  r.nargs = 4;
  r.args[0] = 0xffffffffffffff9cull;
  r.args[1] = 0x7ffd5e4c1000ull;
  r.args[2] = 0;
  r.args[3] = 0;
  rb.blob(1, "/etc/passwd");
  return rb.done();
}

inline const event::Record& openat_return(RecordBuf& rb, int64_t ret) {
  event::Record& r = rb.rec();
  fill_context(r);
  r.kind = event::Kind::sysret;
  r.abi = event::Abi::linux_x64;
  r.nr = 257;
  r.time_ns = 1700000000123457000ull;
  r.ret = ret;
  return rb.done();
}

// ---- Windows records (the seed's notepad.exe NtCreateFile) ----

// UTF-16LE bytes of an ASCII string, as the capture side copies guest strings.
inline std::string utf16le(std::string_view ascii) {
  std::string s;
  for (char c : ascii) {
    s += c;
    s += '\0';
  }
  return s;
}

inline void add_extra(RecordBuf& rb, event::Extra tag, uint8_t arg, std::string_view bytes,
                      event::Capture st = event::Capture::ok) {
  rb.b.add_extra(tag, arg, bytes.data(), bytes.size(), st);
}

inline void fill_windows_context(event::Record& r) {
  r.os = event::Os::windows;
  r.abi = event::Abi::win_nt;
  r.vcpu = 0;
  r.time_ns = 1706000000000000000ull;
  r.cr3 = 0x1a2b3c4d;
  r.pid = 4567;
  r.ppid = 1000;
  r.tid = 4568;
  r.uid = 1;  // the session id
  std::memcpy(r.process_name, "notepad.exe", 11);
  std::memcpy(r.module, "nt", 2);
}

// NtCreateFile(&h, GENERIC_READ|SYNCHRONIZE, &oa, &iosb, NULL, FILE_ATTRIBUTE_NORMAL,
//              FILE_SHARE_READ, FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT, NULL, 0)
// from ntdll.dll in user mode, with the ObjectAttributes text decoded.
inline const event::Record& ntcreatefile_entry(RecordBuf& rb) {
  event::Record& r = rb.rec();
  fill_windows_context(r);
  r.kind = event::Kind::syscall;
  r.nr = 85;
  r.nargs = 11;
  const uint64_t args[11] = {0, 0x80100000, 0x5ff7a0, 0x5ff790, 0, 0x80, 1, 1, 0x20, 0, 0};
  for (unsigned i = 0; i < 11; ++i) r.args[i] = args[i];
  add_extra(rb, event::Extra::method, 0, "NtCreateFile");
  add_extra(rb, event::Extra::previous_mode, 0, std::string_view("\1", 1));
  add_extra(rb, event::Extra::from_module, 0, utf16le("\\windows\\system32\\ntdll.dll"));
  add_extra(rb, event::Extra::arg_text, 2, utf16le("\\??\\C:\\Users\\test\\document.txt"));
  return rb.done();
}

inline const event::Record& ntcreatefile_return(RecordBuf& rb, uint32_t status) {
  event::Record& r = rb.rec();
  fill_windows_context(r);
  r.kind = event::Kind::sysret;
  r.nr = 85;
  r.time_ns = 1706000000000001000ull;
  r.ret = status;
  add_extra(rb, event::Extra::method, 0, "NtCreateFile");
  return rb.done();
}

}  // namespace vmitrace::test

// Builds event records the way the capture side does (event::Builder), for tests.
#pragma once
#include <cstring>
#include <new>
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

}  // namespace vmitrace::test

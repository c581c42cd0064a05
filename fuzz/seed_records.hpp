// Realistic event records built with event::Builder, the way the capture side
// builds them (openat with a path, execve with strings, a sysret, an ia32 call,
// an unreadable argument). Used to write seed corpora at run time.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "event/record.hpp"

namespace vmitrace::fuzz {

inline std::vector<std::vector<uint8_t>> seed_records() {
  using namespace vmitrace::event;
  std::vector<std::vector<uint8_t>> out;
  auto make = [&](Kind kind, Abi abi, uint32_t nr, uint8_t nargs, auto&& fill) {
    std::vector<uint8_t> buf(kMaxRecord);
    Builder b(buf.data(), buf.size());
    Record& r = b.rec();
    r.kind = kind;
    r.abi = abi;
    r.nr = nr;
    r.nargs = nargs;
    r.vcpu = 1;
    r.time_ns = 1700000000123456789ull;
    r.cr3 = 0x12345000;
    r.pid = 42, r.ppid = 1, r.tid = 43, r.uid = 0;
    std::memcpy(r.process_name, "lab64", 5);
    std::memcpy(r.thread_name, "lab64-worker", 12);
    std::memcpy(r.module, "x64_sys_call", 12);
    std::memcpy(r.user_name, "root", 4);
    fill(b, r);
    buf.resize(b.finish());
    out.push_back(std::move(buf));
  };
  make(Kind::syscall, Abi::linux_x64, 257, 4, [](Builder& b, Record& r) {  // openat
    r.args[0] = static_cast<uint64_t>(-100);
    r.args[1] = 0x7ffd0000;
    r.args[2] = 0x241;
    r.args[3] = 0644;
    const char path[] = "/tmp/lab/\"quoted\"\tfile\xff.txt";
    b.add_blob(1, path, sizeof path - 1, Capture::ok);
  });
  make(Kind::sysret, Abi::linux_x64, 257, 4, [](Builder&, Record& r) { r.ret = -2; });
  make(Kind::syscall, Abi::linux_x64, 59, 3, [](Builder& b, Record& r) {  // execve
    r.args[0] = 0x400000;
    const char p[] = "/bin/busybox";
    b.add_blob(0, p, sizeof p - 1, Capture::truncated);
  });
  make(Kind::syscall, Abi::linux_ia32, 5, 3, [](Builder& b, Record& r) {  // ia32 open
    r.flags = kFlagUserUnknown;
    r.uid = -1;
    b.add_blob(0, "", 0, Capture::unreadable);
  });
  make(Kind::syscall, Abi::linux_x64, 1, 3, [](Builder& b, Record& r) {  // write
    r.args[0] = 1;
    r.args[2] = 5;
    b.add_blob(1, "hi\n\0x", 5, Capture::ok);
  });
  // Windows: NtCreateFile with its extras (UTF-16LE texts), and a win32k return.
  auto utf16 = [](const char* s) {
    std::vector<uint8_t> v;
    for (; *s; ++s) v.insert(v.end(), {static_cast<uint8_t>(*s), 0});
    return v;
  };
  make(Kind::syscall, Abi::win_nt, 85, 11, [&](Builder& b, Record& r) {
    r.os = Os::windows;
    std::memcpy(r.module, "nt\0\0\0\0\0\0\0\0\0\0", 12);
    r.args[1] = 0x80100000;
    r.args[2] = 0x5ff7a0;
    b.add_extra(Extra::method, 0, "NtCreateFile", 12);
    b.add_extra(Extra::previous_mode, 0, "\1", 1);
    auto from = utf16("\\windows\\system32\\ntdll.dll");
    b.add_extra(Extra::from_module, 0, from.data(), from.size());
    auto oa = utf16("\\??\\C:\\Users\\test\\document.txt");
    oa.insert(oa.end(), {0x00, 0xd8, 0x41});  // a lone surrogate, an odd byte
    b.add_extra(Extra::arg_text, 2, oa.data(), oa.size(), Capture::truncated);
    b.add_extra(Extra::handle_name, 0, from.data(), from.size());
  });
  make(Kind::sysret, Abi::win_win32k, 63, 0, [](Builder& b, Record& r) {
    r.os = Os::windows;
    r.ret = 0xd10508f0;
    b.add_extra(Extra::method, 0, "NtUserGetProp", 13);
  });
  return out;
}

}  // namespace vmitrace::fuzz

// The rich rendering of the kinds that depend on another argument or on the return
// (futex op and timeout, prctl names, wait status, waitid siginfo, clone's parent
// tid, msghdr) and Ret_path, as strace prints them; raw mode keeps DRAKVUF's hex.
#include <gtest/gtest.h>

#include <string>

#include "output/decode.hpp"
#include "json_line.hpp"
#include "syscalls/tables/linux.hpp"

using namespace vmitrace;
using event::Capture;
using event::Extra;
using output::ArgStyle;
using output::Format;
using test::RecordBuf;

namespace {

using test::json_line;
using test::bytes;
using test::json_str;


std::string futex_op(uint64_t v) {
  std::string s;
  output::decode::futex_op(s, v);
  return s;
}

TEST(Cond, FutexOps) {
  EXPECT_EQ(futex_op(0), "FUTEX_WAIT");
  EXPECT_EQ(futex_op(128), "FUTEX_WAIT_PRIVATE");
  EXPECT_EQ(futex_op(129), "FUTEX_WAKE_PRIVATE");
  EXPECT_EQ(futex_op(9 | 128 | 256), "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME");
  EXPECT_EQ(futex_op(13), "FUTEX_LOCK_PI2");
  EXPECT_EQ(futex_op(99), "0x63");            // unknown command
  EXPECT_EQ(futex_op(0x10000), "0x10000");    // unknown bits
}

TEST(Cond, FutexArguments) {
  RecordBuf rb;  // futex(0x404460, FUTEX_WAIT, 96, NULL)
  event::Record& r = test::entry_of(rb, "futex");
  r.args[0] = 0x404460;
  r.args[1] = 0;
  r.args[2] = 96;
  const event::Record& w = rb.done();
  std::string l = json_line(w, ArgStyle::rich);
  EXPECT_EQ(json_str(l, "op"), "FUTEX_WAIT");
  EXPECT_EQ(json_str(l, "val"), "96");
  EXPECT_EQ(json_str(l, "utime"), "NULL");
  EXPECT_EQ(json_str(json_line(w, ArgStyle::raw), "op"), "0x0");  // raw: unchanged

  RecordBuf rt;  // a timeout read at entry
  event::Record& t = test::entry_of(rt, "futex");
  t.args[1] = 9 | 128;
  t.args[3] = 0x7ffd0000;
  const int64_t ts[2] = {1, 500};
  rt.blob(3, bytes(ts, 16));
  EXPECT_EQ(json_str(json_line(rt.done(), ArgStyle::rich), "utime"), "{tv_sec=1, tv_nsec=500}");

  RecordBuf rq;  // FUTEX_CMP_REQUEUE_PRIVATE: the fourth argument is val2, a number
  event::Record& q = test::entry_of(rq, "futex");
  q.args[1] = 4 | 128;
  q.args[3] = 2147483647;
  EXPECT_EQ(json_str(json_line(rq.done(), ArgStyle::rich), "utime"), "2147483647");

  RecordBuf ru;  // a waiting command with an unreadable timeout
  event::Record& u = test::entry_of(ru, "futex");
  u.args[3] = 0x7ffd0000;
  ru.blob(3, "", Capture::unreadable);
  EXPECT_EQ(json_str(json_line(ru.done(), ArgStyle::rich), "utime"), "0x7ffd0000 (unreadable)");

  RecordBuf r32;  // ia32 futex: old_timespec32
  event::Record& f32 = test::entry_of(r32, "futex", event::Abi::linux_ia32);
  f32.args[3] = 0xffd00000;
  const int32_t ts32[2] = {3, 4};
  r32.blob(3, bytes(ts32, 8));
  EXPECT_EQ(json_str(json_line(r32.done(), ArgStyle::rich), "utime"), "{tv_sec=3, tv_nsec=4}");
}

TEST(Cond, PrctlNames) {
  RecordBuf rb;  // prctl(PR_SET_NAME, "vmt-renamed")
  event::Record& r = test::entry_of(rb, "prctl");
  r.args[0] = 15;
  r.args[1] = 0x4033f0;
  rb.blob(1, "vmt-renamed");
  const event::Record& s = rb.done();
  EXPECT_EQ(json_str(json_line(s, ArgStyle::rich), "arg2"), "\"vmt-renamed\"");
  EXPECT_EQ(json_str(json_line(s, ArgStyle::raw), "arg2"), "0x4033f0");  // raw: unchanged

  RecordBuf rg;  // PR_GET_NAME: the name on the sysret
  event::Record& g = test::sysret_of(rg, "prctl", 0);
  g.args[0] = 16;
  g.args[1] = 0x7ffd0000;
  rg.b.add_extra(Extra::out_arg, 1, "lab64", 5);
  EXPECT_EQ(json_str(json_line(rg.done(), ArgStyle::rich), "arg2"), "\"lab64\"");

  RecordBuf ro;  // other options: hex as before
  event::Record& o = test::entry_of(ro, "prctl");
  o.args[0] = 38;
  o.args[1] = 1;
  EXPECT_EQ(json_str(json_line(ro.done(), ArgStyle::rich), "arg2"), "0x1");
}

std::string status(uint32_t s) {
  std::string out;
  output::decode::wait_status(out, bytes(&s, 4));
  return out;
}

TEST(Cond, WaitStatus) {
  EXPECT_EQ(status(0x700), "[{WIFEXITED(s) && WEXITSTATUS(s) == 7}]");
  EXPECT_EQ(status(0), "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]");
  EXPECT_EQ(status(9), "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]");
  EXPECT_EQ(status(0x8b), "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]");
  EXPECT_EQ(status(0x137f), "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]");
  EXPECT_EQ(status(0xffff), "[{WIFCONTINUED(s)}]");
  EXPECT_EQ(status(0x3057f), "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP} | 0x3 << 16]");
  std::string cut;
  output::decode::wait_status(cut, "ab");
  EXPECT_EQ(cut, "[...]");

  RecordBuf rb;
  event::Record& r = test::sysret_of(rb, "wait4", 95);
  r.args[1] = 0x7ffd0000;
  const uint32_t st = 0x700;
  rb.b.add_extra(Extra::out_arg, 1, &st, 4);
  EXPECT_EQ(json_str(json_line(rb.done(), ArgStyle::rich), "stat_addr"),
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 7}]");
}

TEST(Cond, WaitidSiginfo) {
  uint8_t si[128] = {};
  const int32_t signo = 17, code = 1, pid = 95, status = 7;
  std::memcpy(si + 0, &signo, 4);
  std::memcpy(si + 8, &code, 4);
  std::memcpy(si + 16, &pid, 4);
  std::memcpy(si + 24, &status, 4);
  std::string s;
  output::decode::siginfo(s, bytes(si, 128), 8);
  EXPECT_EQ(s, "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=95, si_uid=0, si_status=7, "
               "si_utime=0, si_stime=0}");
  uint8_t c[128] = {};  // compat: the union at 12; killed by SIGKILL
  const int32_t killed = 2, sig = 9;
  std::memcpy(c + 0, &signo, 4);
  std::memcpy(c + 8, &killed, 4);
  std::memcpy(c + 12, &pid, 4);
  std::memcpy(c + 20, &sig, 4);
  s.clear();
  output::decode::siginfo(s, bytes(c, 128), 4);
  EXPECT_EQ(s, "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=95, si_uid=0, si_status=SIGKILL, "
               "si_utime=0, si_stime=0}");
  s.clear();
  output::decode::siginfo(s, std::string(128, '\0'), 8);
  EXPECT_EQ(s, "{}");
  s.clear();
  output::decode::siginfo(s, "short", 8);
  EXPECT_EQ(s, "{...}");
}

TEST(Cond, CloneParentTid) {
  RecordBuf rb;
  event::Record& r = test::sysret_of(rb, "clone", 96);
  r.args[0] = 0x350f00;
  r.args[2] = 0x7ffd0000;
  const int32_t tid = 96;
  rb.b.add_extra(Extra::out_arg, 2, &tid, 4);
  EXPECT_EQ(json_str(json_line(rb.done(), ArgStyle::rich), "parent_tidptr"), "[96]");
}

// user_msghdr blob as the capture side writes it.
std::string msghdr_blob(uint64_t name, uint32_t namelen, uint64_t iov, uint64_t iovlen,
                        const std::string& name_bytes, const std::string& iov_bytes) {
  uint8_t h[56] = {};
  std::memcpy(h + 0, &name, 8);
  std::memcpy(h + 8, &namelen, 4);
  std::memcpy(h + 16, &iov, 8);
  std::memcpy(h + 24, &iovlen, 8);
  const uint16_t nb = static_cast<uint16_t>(name_bytes.size()), ib = static_cast<uint16_t>(iov_bytes.size());
  return bytes(&nb, 2) + bytes(&ib, 2) + bytes(h, 56) + name_bytes + iov_bytes;
}

TEST(Cond, Msghdr) {
  const uint8_t sin[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
  const uint64_t iov[2] = {0x503000, 5};
  std::string s;
  output::decode::msghdr(s, msghdr_blob(0x501000, 16, 0x502000, 1, bytes(sin, 16), bytes(iov, 16)), 8);
  EXPECT_EQ(s, "{msg_name={sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}, "
               "msg_namelen=16, msg_iov=[{iov_base=0x503000, iov_len=5}], msg_iovlen=1, "
               "msg_controllen=0, msg_flags=0}");
  // NULL name; an iovlen of 2^40 of which 1 pair was kept; unreadable parts.
  s.clear();
  output::decode::msghdr(s, msghdr_blob(0, 0, 0x502000, uint64_t{1} << 40, "", bytes(iov, 16)), 8);
  EXPECT_EQ(s, "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=0x503000, iov_len=5}, ...], "
               "msg_iovlen=1099511627776, msg_controllen=0, msg_flags=0}");
  s.clear();
  output::decode::msghdr(s, msghdr_blob(0xdead0000, 16, 0xbeef0000, 2, "", ""), 8);
  EXPECT_EQ(s, "{msg_name=0xdead0000 (unreadable), msg_namelen=16, msg_iov=0xbeef0000 (unreadable), "
               "msg_iovlen=2, msg_controllen=0, msg_flags=0}");
  // A lying blob (part lengths past its end): no field is invented.
  s.clear();
  std::string bad = msghdr_blob(0, 0, 0, 0, "", "");
  bad[0] = '\x7f';
  output::decode::msghdr(s, bad, 8);
  EXPECT_EQ(s, "{...}");

  RecordBuf rb;  // sendmsg entry (rich) and recvmsg's sysret
  event::Record& r = test::entry_of(rb, "sendmsg");
  r.args[0] = 3;
  r.args[1] = 0x500000;
  rb.blob(1, msghdr_blob(0, 0, 0x502000, 1, "", bytes(iov, 16)));
  const event::Record& e = rb.done();
  EXPECT_EQ(json_str(json_line(e, ArgStyle::rich), "msg"),
            "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=0x503000, iov_len=5}], msg_iovlen=1, "
            "msg_controllen=0, msg_flags=0}");
  EXPECT_EQ(json_str(json_line(e, ArgStyle::raw), "msg"), "0x500000");
  RecordBuf rr;
  event::Record& v = test::sysret_of(rr, "recvmsg", 5);
  v.args[1] = 0x500000;
  const std::string blob = msghdr_blob(0x501000, 16, 0x502000, 1, bytes(sin, 16), bytes(iov, 16));
  rr.b.add_extra(Extra::out_arg, 1, blob.data(), blob.size());
  EXPECT_NE(json_str(json_line(rr.done(), ArgStyle::rich), "msg").find("sin_port=htons(8080)"), std::string::npos);
}

TEST(Cond, Mmsghdr) {
  const uint64_t iov[2] = {0x503000, 5};
  const uint32_t msg_len = 5;
  const std::string first = msghdr_blob(0, 0, 0x502000, 1, "", bytes(iov, 16)) + bytes(&msg_len, 4);
  const std::string hdr = "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=0x503000, iov_len=5}], "
                          "msg_iovlen=1, msg_controllen=0, msg_flags=0}";
  RecordBuf rb;  // sendmmsg(3, [...], 2, 0): the first message, then a marker
  event::Record& r = test::entry_of(rb, "sendmmsg");
  r.args[0] = 3;
  r.args[1] = 0x500000;
  r.args[2] = 2;
  rb.blob(1, first);
  EXPECT_EQ(json_str(json_line(rb.done(), ArgStyle::rich), "mmsg"), "[{msg_hdr=" + hdr + ", msg_len=5}, ...]");
  RecordBuf rr;  // recvmmsg returned 1: the one message
  event::Record& v = test::sysret_of(rr, "recvmmsg", 1);
  v.args[1] = 0x500000;
  rr.b.add_extra(Extra::out_arg, 1, first.data(), first.size());
  EXPECT_EQ(json_str(json_line(rr.done(), ArgStyle::rich), "mmsg"), "[{msg_hdr=" + hdr + ", msg_len=5}]");
  std::string s;  // msg_len unreadable: left out; a lying blob: no field invented
  output::decode::mmsghdr(s, first.substr(0, first.size() - 4), 8, 1);
  EXPECT_EQ(s, "[{msg_hdr=" + hdr + "}]");
  s.clear();
  output::decode::mmsghdr(s, "\xff\xff", 8, 1);
  EXPECT_EQ(s, "[{msg_hdr={...}}]");
}

TEST(Cond, RetPathAfterInfoInBothStyles) {
  RecordBuf rb;
  event::Record& r = test::sysret_of(rb, "openat", 3);
  r.args[0] = static_cast<uint64_t>(-100);
  rb.b.add_extra(Extra::ret_path, 0, "/tmp/x", 6);
  rb.b.add_extra(Extra::ret_path, 0, "/second", 7);  // a lying record: one key only
  const event::Record& rec = rb.done();
  for (ArgStyle st : {ArgStyle::raw, ArgStyle::rich}) {
    std::string l = json_line(rec, st);
    EXPECT_EQ(json_str(l, "Ret_path"), "/tmp/x") << l;
    EXPECT_LT(l.find("\"Info\""), l.find("\"Ret_path\""));
    EXPECT_EQ(l.find("/second"), std::string::npos);
  }
  std::string kv = json_line(rec, ArgStyle::raw, Format::kv);
  EXPECT_NE(kv.find(",Ret_path=\"/tmp/x\""), std::string::npos) << kv;

  RecordBuf ru;
  test::sysret_of(ru, "socket", 4);
  ru.b.add_extra(Extra::ret_path, 0, nullptr, 0, Capture::unreadable);
  EXPECT_EQ(json_str(json_line(ru.done(), ArgStyle::rich), "Ret_path"), "(unreadable)");
}

}  // namespace

// GdbBackend against a fake stub listening on a unix socket: target description with
// includes, registers by name, threads, physical reads, breakpoints and detach, and the
// bad inputs (not a gdbstub, another architecture, a bad RAM file).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/gdb/detach_guard.hpp"
#include "backends/gdb/gdb_backend.hpp"
#include "backends/gdb/target_desc.hpp"
#include "../vmi/fake_phys.hpp"

using namespace vmitrace;
using namespace vmitrace::gdb;

namespace {

// Answers each request with reply(payload); "<silent>" = no answer (not even an
// ack), "<noreply>" = an ack only. Ack mode only.
// An interrupt (0x03) is offered to reply() as "<interrupt>".
class UnixStub {
 public:
  using Reply = std::function<std::string(const std::string&)>;
  explicit UnixStub(Reply reply) : reply_(std::move(reply)) {
    path_ = "/tmp/vmitrace-gdbtest-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".sock";
    ::unlink(path_.c_str());
    lfd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
    EXPECT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(lfd_, 1), 0);
    th_ = std::thread([this] { serve(); });
  }
  ~UnixStub() {
    stop_ = true;
    th_.join();
    ::close(lfd_);
    ::unlink(path_.c_str());
  }
  std::string endpoint() const { return "unix:" + path_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return reqs_;
  }

 private:
  void serve() {
    pollfd p{lfd_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 50) == 0) {
    }
    if (stop_) return;
    int fd = ::accept(lfd_, nullptr, nullptr);
    std::string buf;
    PacketParser parser(1 << 20);
    while (!stop_) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 50) <= 0) continue;
      char tmp[4096];
      ssize_t n = ::read(fd, tmp, sizeof tmp);
      if (n <= 0) break;
      // Ctrl-C (0x03) is outside the packet framing: answered as "<interrupt>".
      if (std::memchr(tmp, 0x03, static_cast<size_t>(n))) {
        {
          std::lock_guard<std::mutex> l(mu_);
          reqs_.push_back("<interrupt>");
        }
        std::string r = reply_("<interrupt>");
        if (r != "<silent>") {
          std::string out = encode_packet(r);
          (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        }
      }
      size_t used = 0;
      for (;;) {
        auto ev = parser.feed(tmp, static_cast<size_t>(n), used);
        if (ev == PacketParser::Event::none) break;
        if (ev != PacketParser::Event::packet) continue;
        std::string req = parser.payload();
        {
          std::lock_guard<std::mutex> l(mu_);
          reqs_.push_back(req);
        }
        std::string r = reply_(req);
        if (r == "<silent>") continue;
        if (r == "<noreply>") {  // acknowledged, no answer (yet): e.g. 'c'
          (void)!::send(fd, "+", 1, MSG_NOSIGNAL);
          continue;
        }
        std::string out = "+" + encode_packet(r);
        (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      }
    }
    ::close(fd);
  }
  static inline std::atomic<int> counter_{0};
  Reply reply_;
  std::string path_;
  int lfd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread th_;
  std::mutex mu_;
  std::vector<std::string> reqs_;
};

// A small x86-64 description split over an include, as QEMU sends it.
const char* kTarget =
    "<?xml version=\"1.0\"?><target><architecture>i386:x86-64</architecture>"
    "<xi:include href=\"core.xml\"/></target>";
std::string core_xml() {
  std::string x = "<feature name=\"org.gnu.gdb.i386.core\"><!-- <reg name=\"fake\" bitsize=\"8\"/> -->";
  const char* regs64[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
                          "r11", "r12", "r13", "r14", "r15", "rip"};
  for (auto* r : regs64) x += std::string("<reg name=\"") + r + "\" bitsize=\"64\"/>";
  x += "<reg name=\"eflags\" bitsize=\"32\"/>";
  for (auto* r : {"cr0", "cr3", "cr4", "gs_base", "efer"}) x += std::string("<reg name=\"") + r + "\" bitsize=\"64\"/>";
  return x + "</feature>";
}

// 'g' covers rax..eflags (17*8 + 4 bytes); cr0.. come through 'p'.
std::string g_reply() {
  std::string g;
  for (int i = 0; i < 17; ++i) {
    uint64_t v = i == 16 ? 0xffffffff81000000ull : 0x1000u + i;
    g += to_hex(&v, 8);
  }
  uint32_t fl = 0x246;
  return g + to_hex(&fl, 4);
}

std::string qemu_like(const std::string& req, const char* arch = "i386:x86-64") {
  if (req == "<interrupt>") return "<silent>";  // the guest is stopped already
  if (req.rfind("qSupported", 0) == 0) return "PacketSize=1000;qXfer:features:read+;vContSupported+";
  if (req == "QStartNoAckMode") return "";
  if (req.rfind("qXfer:features:read:target.xml:", 0) == 0) {
    std::string t = kTarget;
    t.replace(t.find("i386:x86-64"), 11, arch);
    return "l" + t;
  }
  if (req.rfind("qXfer:features:read:core.xml:", 0) == 0) return "l" + core_xml();
  if (req == "g") return g_reply();
  if (req == "qfThreadInfo") return "m01,02";
  if (req == "qsThreadInfo") return "l";
  if (req.rfind("Hg", 0) == 0 || req.rfind("Z0", 0) == 0 || req.rfind("z0", 0) == 0) return "OK";
  if (req.rfind("Qqemu.PhyMemMode", 0) == 0 || req == "D") return "OK";
  if (req.rfind("p", 0) == 0) {
    unsigned n = std::stoul(req.substr(1), nullptr, 16);
    uint64_t v = n == 18 ? 0x80000001ull : n == 19 ? 0x1000 : n == 20 ? 0x20 : n == 22 ? 0x500 : 0;
    return to_hex(&v, 8);
  }
  if (req[0] == 'm') return "E14";
  if (req == "c" || req.rfind("vCont;s", 0) == 0) return "T05thread:01;";
  return "";
}

GdbBackendOptions opts(const std::string& ep) {
  GdbBackendOptions o;
  o.endpoint = ep;
  o.timeout_ms = 400;
  return o;
}

}  // namespace

TEST(TargetDesc, IncludesCommentsAndOffsets) {
  TargetDesc d = read_target_desc([](const std::string& annex) -> std::string {
    if (annex == "target.xml") return kTarget;
    if (annex == "core.xml") return core_xml();
    throw Error(annex, "unknown");
  });
  EXPECT_EQ(d.architecture, "i386:x86-64");
  EXPECT_EQ(d.find("fake"), nullptr);  // inside a comment
  ASSERT_NE(d.find("rip"), nullptr);
  EXPECT_EQ(d.find("rip")->regnum, 16u);
  EXPECT_EQ(d.find("rip")->offset, 128u);
  ASSERT_NE(d.find("cr0"), nullptr);
  EXPECT_EQ(d.find("cr0")->offset, 17 * 8 + 4u);
}

TEST(TargetDesc, IncludeLoopIsBounded) {
  EXPECT_THROW(read_target_desc([](const std::string&) {
                 return std::string("<target><xi:include href=\"target.xml\"/></target>");
               }),
               Error);
  EXPECT_THROW(read_target_desc([](const std::string&) { return std::string("<target><reg name=\"x\""); }),
               Error);
}

TEST(GdbBackend, AttachReadsLayoutThreadsAndRegisters) {
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  GdbBackend b(opts(stub.endpoint()));
  EXPECT_EQ(b.vcpu_count(), 2u);
  EXPECT_EQ(b.target().architecture, "i386:x86-64");
  bool called = false;
  std::atomic<bool> stop{false};
  b.when_in_kernel(vmi::KernelSpace{vmi::kUpperHalf, {0xc0000000ull, 0xffffffffull}}, [&](vmi::Vcpu& v) {
    uint64_t rip = 0, rbx = 0, cr3 = 0;
    EXPECT_TRUE(v.read_reg(vmi::Reg::rip, rip));
    EXPECT_EQ(rip, 0xffffffff81000000ull);
    EXPECT_TRUE(v.read_reg(vmi::Reg::rbx, rbx));
    EXPECT_EQ(rbx, 0x1001u);
    EXPECT_TRUE(v.read_reg(vmi::Reg::cr3, cr3));  // through 'p'
    EXPECT_EQ(cr3, 0x1000u);
    uint64_t fsb = 0;
    EXPECT_FALSE(v.read_reg(vmi::Reg::fs_base, fsb));  // not in this description
    EXPECT_EQ(v.pointer_size(), 8u);
    char buf[8];
    EXPECT_EQ(v.read_virt(0xffffffff81000000ull, buf, 8), 0u);  // stub says E14
    called = true;
    stop = true;
    return true;
  });
  auto id = b.add_hook(0xffffffff81001000ull, [](vmi::Vcpu&, uint64_t) {});
  b.run(stop);  // probes the kernel once (the guest is stopped after attach), then returns
  EXPECT_TRUE(called);
  b.remove_hook(id);
  EXPECT_TRUE(b.detach());
  auto reqs = stub.requests();
  auto has = [&](const std::string& s) { return std::find(reqs.begin(), reqs.end(), s) != reqs.end(); };
  EXPECT_TRUE(has("Z0,ffffffff81001000,1"));
  EXPECT_TRUE(has("z0,ffffffff81001000,1"));
  EXPECT_TRUE(has("Qqemu.PhyMemMode:1"));
  EXPECT_TRUE(has("Qqemu.PhyMemMode:0"));
  EXPECT_EQ(reqs.back(), "D");
}

// The caller says where its kernel runs. A vCPU in 32-bit mode (EFER.LMA clear) at
// 0x82a01000, where 32-bit Windows runs and Linux does not: offered to the caller with
// Windows' kernel space, not to the one with Linux's.
TEST(GdbBackend, KernelSpaceIsTheCallers) {
  UnixStub stub([](const std::string& r) {
    if (r == "g") {  // eip 0x82a01000
      std::string g = g_reply();
      uint64_t eip = 0x82a01000ull;
      return g.replace(16 * 16, 16, to_hex(&eip, 8));
    }
    if (r == "p16") {  // efer = 0: no long mode
      uint64_t v = 0;
      return to_hex(&v, 8);
    }
    return qemu_like(r);
  });
  GdbBackend b(opts(stub.endpoint()));
  std::atomic<bool> stop{false};
  int win = 0, lin = 0;
  b.when_in_kernel(vmi::KernelSpace{vmi::kUpperHalf, {0xc0000000ull, 0xffffffffull}}, [&](vmi::Vcpu&) {
    ++lin;
    return true;
  });
  b.when_in_kernel(vmi::KernelSpace{vmi::kUpperHalf, {0x80000000ull, 0xffffffffull}}, [&](vmi::Vcpu& v) {
    EXPECT_EQ(v.pointer_size(), 4u);
    ++win;
    stop = true;  // the Linux caller still waits: run returns on stop
    return true;
  });
  b.run(stop);
  EXPECT_EQ(win, 1);
  EXPECT_EQ(lin, 0);
  EXPECT_TRUE(b.detach());
}

TEST(GdbBackend, DetachRemovesEveryBreakpoint) {
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  GdbBackend b(opts(stub.endpoint()));
  b.add_hook(0x1000, [](vmi::Vcpu&, uint64_t) {});
  b.add_hook(0x1000, [](vmi::Vcpu&, uint64_t) {});  // same site: one breakpoint
  b.add_hook(0x2000, [](vmi::Vcpu&, uint64_t) {});
  EXPECT_TRUE(b.detach());
  auto reqs = stub.requests();
  EXPECT_EQ(std::count(reqs.begin(), reqs.end(), "Z0,1000,1"), 1);
  EXPECT_EQ(std::count(reqs.begin(), reqs.end(), "z0,1000,1"), 1);
  EXPECT_EQ(std::count(reqs.begin(), reqs.end(), "z0,2000,1"), 1);
}

// A gated hook's breakpoint is in the guest only while the gate is open (a return
// site every syscall passes costs no stop while no traced entry waits for it).
TEST(GdbBackend, GatedBreakpointFollowsTheGate) {
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  GdbBackend b(opts(stub.endpoint()));
  auto count = [&](const std::string& s) {
    auto reqs = stub.requests();
    return std::count(reqs.begin(), reqs.end(), s);
  };
  auto id = b.add_gated_hook(0x3000, [](vmi::Vcpu&, uint64_t) {});
  EXPECT_EQ(count("Z0,3000,1"), 0);
  b.set_gate(true);
  EXPECT_EQ(count("Z0,3000,1"), 1);
  b.set_gate(true);  // no change, no packet
  EXPECT_EQ(count("Z0,3000,1"), 1);
  b.set_gate(false);
  EXPECT_EQ(count("z0,3000,1"), 1);
  // A site with a plain hook too keeps its breakpoint whatever the gate.
  b.add_hook(0x3000, [](vmi::Vcpu&, uint64_t) {});
  EXPECT_EQ(count("Z0,3000,1"), 2);
  b.set_gate(true);
  b.set_gate(false);
  EXPECT_EQ(count("z0,3000,1"), 1);
  b.remove_hook(id);
  EXPECT_TRUE(b.detach());
  EXPECT_EQ(count("z0,3000,1"), 2);
}

// At a stop on a breakpoint shared with a plain hook, a gated hook runs only while the
// gate is open.
TEST(GdbBackend, GatedHookSkippedWhileClosed) {
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  GdbBackend b(opts(stub.endpoint()));
  std::atomic<bool> stop{false};
  int plain = 0, gated = 0;
  b.add_gated_hook(0xffffffff81000000ull, [&](vmi::Vcpu&, uint64_t) { ++gated; });
  b.add_hook(0xffffffff81000000ull, [&](vmi::Vcpu&, uint64_t) {
    if (++plain == 1) b.set_gate(true);  // the second hit finds it open
    else stop = true;
  });
  b.run(stop);
  EXPECT_EQ(plain, 2);
  EXPECT_EQ(gated, 1);
  EXPECT_TRUE(b.detach());
}

TEST(GdbBackend, SilentPeerIsNotAGdbstub) {
  UnixStub stub([](const std::string&) { return std::string("<silent>"); });
  auto t0 = std::chrono::steady_clock::now();
  try {
    GdbBackend b(opts(stub.endpoint()));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a gdbstub"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(GdbBackend, OtherArchitectureRejected) {
  UnixStub stub([](const std::string& r) { return qemu_like(r, "riscv:rv64"); });
  try {
    GdbBackend b(opts(stub.endpoint()));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'riscv:rv64', not x86"), std::string::npos) << e.what();
  }
}

// An aarch64 stub as QEMU's (qemu-system-aarch64 -M virt): the core feature in 'g'
// (x0..x30, sp, pc, cpsr: 268 bytes), the system registers through 'p' by their
// regnum, guest-physical memory through 'm' in physical mode. A kernel page mapped
// through TTBR1_EL1's four levels is read by virtual address.
constexpr uint64_t kArmTtbr1 = 0x40100000, kArmPc = 0xffff800008010000ull, kArmData = 0xffff800009123456ull;
constexpr uint64_t kArmTcr = 16 | (16ull << 16) | (2ull << 30);  // 48-bit VAs, 4 KiB granules

std::string aarch64_stub(const std::string& req, vmitrace::testing::FakePhys& ram) {
  if (req.rfind("qXfer:features:read:target.xml:", 0) == 0)
    return "l<target><architecture>aarch64</architecture><xi:include href=\"aarch64-core.xml\"/>"
           "<xi:include href=\"system-registers.xml\"/></target>";
  if (req.rfind("qXfer:features:read:aarch64-core.xml:", 0) == 0) {
    std::string x = "l<feature name=\"org.gnu.gdb.aarch64.core\">";
    for (int i = 0; i < 31; ++i) x += "<reg name=\"x" + std::to_string(i) + "\" bitsize=\"64\"/>";
    return x + "<reg name=\"sp\" bitsize=\"64\"/><reg name=\"pc\" bitsize=\"64\"/>"
               "<reg name=\"cpsr\" bitsize=\"32\"/></feature>";
  }
  if (req.rfind("qXfer:features:read:system-registers.xml:", 0) == 0)
    return "l<feature name=\"org.qemu.gdb.arm.sys.regs\"><reg name=\"TTBR0_EL1\" bitsize=\"64\" regnum=\"93\"/>"
           "<reg name=\"TTBR1_EL1\" bitsize=\"64\" regnum=\"94\"/><reg name=\"TCR_EL1\" bitsize=\"64\" "
           "regnum=\"95\"/><reg name=\"SP_EL0\" bitsize=\"64\" regnum=\"154\"/><reg name=\"VBAR\" "
           "bitsize=\"64\" regnum=\"282\"/></feature>";
  if (req == "g") {
    std::string g;
    for (uint64_t i = 0; i < 31; ++i) {
      uint64_t v = 0x100 + i;
      g += to_hex(&v, 8);
    }
    uint64_t sp = 0xffff800010003f00ull, pc = kArmPc;
    uint32_t cpsr = 0x3c5;  // EL1h, interrupts masked
    return g + to_hex(&sp, 8) + to_hex(&pc, 8) + to_hex(&cpsr, 4);
  }
  if (req[0] == 'p') {
    unsigned n = std::stoul(req.substr(1), nullptr, 16);
    uint64_t v = n == 93 ? 0x41000000 : n == 94 ? kArmTtbr1 : n == 95 ? kArmTcr
               : n == 154 ? 0xffff000002c24600ull : n == 282 ? 0xffff800008010800ull : 0;
    return to_hex(&v, 8);
  }
  if (req[0] == 'm') {
    size_t comma = req.find(',');
    uint64_t pa = std::stoull(req.substr(1, comma - 1), nullptr, 16);
    size_t len = std::stoul(req.substr(comma + 1), nullptr, 16);
    std::string buf(len, '\0');
    size_t n = ram.read(pa, buf.data(), len);
    return n ? to_hex(buf.data(), n) : "E14";
  }
  return qemu_like(req);
}

TEST(GdbBackend, Aarch64RegistersPagesAndBreakpoints) {
  vmitrace::testing::FakePhys ram;
  const uint64_t t1 = kArmTtbr1, t2 = t1 + 0x1000, t3 = t1 + 0x2000, t4 = t1 + 0x3000;
  auto idx = [](uint64_t va, unsigned level) { return (va >> (39 - 9 * level)) & 0x1ff; };
  ram.put64(t1 + idx(kArmData, 0) * 8, t2 | 3);
  ram.put64(t2 + idx(kArmData, 1) * 8, t3 | 3);
  ram.put64(t3 + idx(kArmData, 2) * 8, t4 | 3);
  ram.put64(t4 + idx(kArmData, 3) * 8, 0x41234000 | 3 | (1u << 10));
  ram.write(0x41234456, "hello");
  UnixStub stub([&](const std::string& r) { return aarch64_stub(r, ram); });
  GdbBackend b(opts(stub.endpoint()));
  EXPECT_EQ(b.target().architecture, "aarch64");
  EXPECT_EQ(b.machine(), "arm64");
  std::atomic<bool> stop{false};
  bool called = false;
  // Linux arm64's kernel space: TTBR1's half.
  b.when_in_kernel(vmi::KernelSpace{{0xffff000000000000ull, UINT64_MAX}, {}}, [&](vmi::Vcpu& v) {
    uint64_t pc = 0, x1 = 0, sp = 0, cur = 0, vbar = 0, cpsr = 0, tcr = 0;
    EXPECT_TRUE(v.read_reg(vmi::Reg::pc, pc));
    EXPECT_EQ(pc, kArmPc);
    EXPECT_TRUE(v.read_reg(vmi::arm64_x(1), x1));
    EXPECT_EQ(x1, 0x101u);
    EXPECT_TRUE(v.read_reg(vmi::Reg::sp, sp));
    EXPECT_EQ(sp, 0xffff800010003f00ull);
    EXPECT_TRUE(v.read_reg(vmi::Reg::pstate, cpsr));
    EXPECT_EQ(cpsr, 0x3c5u);
    EXPECT_TRUE(v.read_reg(vmi::Reg::sp_el0, cur));  // through 'p', by regnum
    EXPECT_EQ(cur, 0xffff000002c24600ull);
    EXPECT_TRUE(v.read_reg(vmi::Reg::vbar_el1, vbar));
    EXPECT_EQ(vbar, 0xffff800008010800ull);
    EXPECT_TRUE(v.read_reg(vmi::Reg::tcr_el1, tcr));
    EXPECT_EQ(tcr, kArmTcr);
    uint64_t rax = 0;
    EXPECT_FALSE(v.read_reg(vmi::Reg::rax, rax));  // an x86 register
    EXPECT_EQ(v.pointer_size(), 8u);
    char buf[8] = {};
    EXPECT_EQ(v.read_virt(kArmData, buf, 5), 5u);
    EXPECT_STREQ(buf, "hello");
    EXPECT_EQ(v.read_virt(kArmData & 0x0000ffffffffffffull, buf, 5), 0u);  // TTBR0's half: unmapped
    called = true;
    stop = true;
    return true;
  });
  b.add_hook(0xffff800008020000ull, [](vmi::Vcpu&, uint64_t) {});
  b.run(stop);
  EXPECT_TRUE(called);
  EXPECT_TRUE(b.detach());
  auto reqs = stub.requests();
  auto has = [&](const std::string& s) { return std::find(reqs.begin(), reqs.end(), s) != reqs.end(); };
  // A64 instructions are 4 bytes: the breakpoint's kind.
  EXPECT_TRUE(has("Z0,ffff800008020000,4"));
  EXPECT_TRUE(has("z0,ffff800008020000,4"));
  EXPECT_TRUE(has("p5e"));  // TTBR1_EL1 (regnum 94) for the walk
  EXPECT_EQ(reqs.back(), "D");
}

// --guest-ram has x86 layouts only: on an aarch64 guest it is refused with one line
// naming the file, before anything is read from it.
TEST(GdbBackend, Aarch64GuestRamRefused) {
  std::string path = "/tmp/vmitrace-gdbtest-ram-arm-" + std::to_string(::getpid());
  { std::ofstream(path) << std::string(4096, 'a'); }
  vmitrace::testing::FakePhys ram;
  UnixStub stub([&](const std::string& r) { return aarch64_stub(r, ram); });
  GdbBackendOptions o = opts(stub.endpoint());
  o.guest_ram = path;
  try {
    GdbBackend b(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": the RAM layouts known are x86's"), std::string::npos) << e.what();
  }
  ::unlink(path.c_str());
}

TEST(GdbBackend, BadGuestRamFile) {
  std::string path = "/tmp/vmitrace-gdbtest-ram-" + std::to_string(::getpid());
  { std::ofstream(path) << "not a multiple of 4 KiB"; }
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  GdbBackendOptions o = opts(stub.endpoint());
  o.guest_ram = path;
  try {
    GdbBackend b(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  ::unlink(path.c_str());
  o.guest_ram = "/nonexistent/ram";
  EXPECT_THROW(GdbBackend b(o), Error);
}

TEST(GuestRam, PcAndQ35Layout) {
  EXPECT_EQ(ram_below_4g(Machine::pc, 512ull << 20), 512ull << 20);
  EXPECT_EQ(ram_below_4g(Machine::pc, 4ull << 30), 0xc0000000ull);
  EXPECT_EQ(ram_below_4g(Machine::q35, 2ull << 30), 2ull << 30);
  EXPECT_EQ(ram_below_4g(Machine::q35, 4ull << 30), 0x80000000ull);
  // A small file: RAM at 0, nothing in the hole or past the end.
  std::string path = "/tmp/vmitrace-gdbtest-ram2-" + std::to_string(::getpid());
  {
    std::ofstream f(path, std::ios::binary);
    std::string page(8192, 'a');
    page[4096] = 'b';
    f << page;
  }
  GuestRam r(path, Machine::pc);
  char c = 0;
  EXPECT_EQ(r.read(4096, &c, 1), 1u);
  EXPECT_EQ(c, 'b');
  char buf[16];
  EXPECT_EQ(r.read(8190, buf, 16), 2u);
  EXPECT_EQ(r.read(1ull << 32, buf, 1), 0u);
  ::unlink(path.c_str());
}

TEST(GdbBackend, HookFiresThenStepsOver) {
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  GdbBackend b(opts(stub.endpoint()));
  std::atomic<bool> stop{false};
  int hits = 0;
  // The fake's vCPU always stops at 0xffffffff81000000.
  b.add_hook(0xffffffff81000000ull, [&](vmi::Vcpu& v, uint64_t addr) {
    EXPECT_EQ(addr, 0xffffffff81000000ull);
    EXPECT_EQ(v.index(), 0u);
    if (++hits == 2) stop = true;
  });
  b.run(stop);
  EXPECT_EQ(hits, 2);
  EXPECT_EQ(b.stats().hook_hits, 2u);
  EXPECT_TRUE(b.detach());
  auto reqs = stub.requests();
  EXPECT_GE(std::count(reqs.begin(), reqs.end(), "vCont;s:01"), 2);
  // The fake's rip does not move on a step, as with an int3 under KVM: from then on
  // the breakpoint is removed around each step.
  EXPECT_GE(std::count(reqs.begin(), reqs.end(), "z0,ffffffff81000000,1"), 2);
}

// QEMU stopped with SIGSTOP: the guest was resumed and the stub never answers again.
// run() notices within two deadlines (the heartbeat interrupt gets no stop reply);
// detach() then says so at once and still sends the whole detach (breakpoints
// removed, D) for when QEMU runs again.
TEST(GdbBackend, StubThatStopsAnsweringIsNoticedAndDetachIsQueued) {
  std::atomic<bool> frozen{false};
  UnixStub stub([&](const std::string& r) -> std::string {
    if (frozen) return "<silent>";
    if (r == "c") {
      frozen = true;  // resumed, then SIGSTOPped
      return "<noreply>";
    }
    return qemu_like(r);
  });
  GdbBackend b(opts(stub.endpoint()));  // timeout 400 ms
  b.add_hook(0x1000, [](vmi::Vcpu&, uint64_t) {});
  std::atomic<bool> stop{false};
  auto t0 = std::chrono::steady_clock::now();
  try {
    b.run(stop);
    FAIL() << "run() returned although the stub stopped answering";
  } catch (const GdbTimeout& e) {
    EXPECT_NE(std::string(e.what()).find("no answer to an interrupt within 400 ms"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2000));
  std::string why;
  t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(b.detach(&why));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_NE(why.find("no answer"), std::string::npos) << why;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the stub reads what was queued
  auto reqs = stub.requests();
  auto z = std::find(reqs.begin(), reqs.end(), "z0,1000,1");
  EXPECT_NE(z, reqs.end());
  EXPECT_NE(std::find(z, reqs.end(), "D"), reqs.end()) << "no detach queued after the breakpoint removal";
}

// A guest that runs without hitting anything is interrupted once per deadline and
// resumed (the stub proves it is alive); run() ends normally when asked to stop.
TEST(GdbBackend, QuietGuestIsCheckedAndRunsOn) {
  UnixStub stub([](const std::string& r) -> std::string {
    if (r == "c") return "<noreply>";
    if (r == "<interrupt>") return "T02thread:01;";
    return qemu_like(r);
  });
  GdbBackend b(opts(stub.endpoint()));
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
  });
  EXPECT_NO_THROW(b.run(stop));
  stopper.join();
  auto reqs = stub.requests();
  EXPECT_GE(std::count(reqs.begin(), reqs.end(), "<interrupt>"), 3);  // 2 heartbeats + the stop
  EXPECT_GE(std::count(reqs.begin(), reqs.end(), "c"), 3);
  EXPECT_GE(b.stats().interrupts, 2u);
  EXPECT_EQ(b.stats().other_stops, 0u);
  EXPECT_TRUE(b.detach());
}

// The guard sends the detach when vmitrace goes away without disarming it (here:
// destroyed armed, which is what a SIGKILL amounts to), and nothing once disarmed.
TEST(DetachGuard, DetachesOnlyWhenAbandoned) {
  auto read_all = [](int fd) {
    std::string got;
    char buf[64];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 500) > 0) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  };
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  {
    DetachGuard g;
    ASSERT_TRUE(g.arm(sv[0]));
    EXPECT_TRUE(g.armed());
  }  // abandoned
  EXPECT_EQ(read_all(sv[1]), std::string(DetachGuard::kDetach));
  {
    DetachGuard g;
    ASSERT_TRUE(g.arm(sv[0]));
    g.disarm();
    EXPECT_FALSE(g.armed());
  }
  EXPECT_EQ(read_all(sv[1]), "");
  ::close(sv[0]);
  ::close(sv[1]);
}

// A detach by vmitrace disarms the guard: the stub sees one detach, no extra bytes.
TEST(GdbBackend, DetachDisarmsTheGuard) {
  UnixStub stub([](const std::string& r) { return qemu_like(r); });
  {
    GdbBackend b(opts(stub.endpoint()));
    EXPECT_TRUE(b.detach());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto reqs = stub.requests();
  EXPECT_EQ(std::count(reqs.begin(), reqs.end(), "D"), 1);
  EXPECT_EQ(std::count(reqs.begin(), reqs.end(), "<interrupt>"), 0);
}

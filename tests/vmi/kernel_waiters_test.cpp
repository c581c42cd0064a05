// Backend::when_in_kernel as every backend implements it (vmi::KernelWaiters): a
// vCPU is offered only to callers whose kernel space holds its instruction pointer,
// for its pointer size; done callers are dropped; offers never block.
#include "vmi/kernel_waiters.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "fake_guest.hpp"

namespace vmitrace::testing {
namespace {

using vmi::KernelSpace;
using vmi::KernelWaiters;
using Offer = KernelWaiters::Offer;

// 32-bit Windows (system space from 0x80000000) and Linux (PAGE_OFFSET 0xc0000000).
constexpr KernelSpace kWin{vmi::kUpperHalf, {0x80000000ull, 0xffffffffull}};
constexpr KernelSpace kLinux{vmi::kUpperHalf, {0xc0000000ull, 0xffffffffull}};

struct Cpu {
  FakeMemory mem;
  FakeVcpu v32{mem, 0, 4}, v64{mem, 1, 8};
};

TEST(KernelSpace, RangesIncludeBothEnds) {
  EXPECT_TRUE(kWin.contains(0x80000000ull, 4));
  EXPECT_TRUE(kWin.contains(0xffffffffull, 4));
  EXPECT_FALSE(kWin.contains(0x7fffffffull, 4));
  EXPECT_FALSE(kWin.contains(0x100000000ull, 4));
  EXPECT_TRUE(kWin.contains(UINT64_MAX, 8));
  EXPECT_TRUE(kWin.contains(0xffff800000000000ull, 8));
  EXPECT_FALSE(kWin.contains(0x00007fffffffffffull, 8));
  EXPECT_FALSE(kWin.contains(0x82a01000ull, 8));  // an x86-64 vCPU there runs user code
  EXPECT_TRUE(vmi::VaRange{}.empty());
}

// A 32-bit Windows kernel below Linux's split: offered with Windows' range, never
// with Linux's; user code below 0x80000000 never.
TEST(KernelWaiters, OffersOnlyInsideTheCallersRange) {
  Cpu c;
  int win = 0, lin = 0;
  KernelWaiters w;
  w.add(kWin, [&](vmi::Vcpu&) { ++win; return false; });
  w.add(kLinux, [&](vmi::Vcpu&) { ++lin; return false; });
  EXPECT_TRUE(w.may_want(0x82a01000ull, 4));
  EXPECT_FALSE(w.may_want(0x77e10000ull, 4));
  EXPECT_EQ(w.offer(c.v32, 0x77e10000ull), Offer::waiting);
  EXPECT_EQ(win + lin, 0);
  EXPECT_EQ(w.offer(c.v32, 0x82a01000ull), Offer::waiting);
  EXPECT_EQ(win, 1);
  EXPECT_EQ(lin, 0);
  EXPECT_EQ(w.offer(c.v32, 0xc1000000ull), Offer::waiting);
  EXPECT_EQ(win, 2);
  EXPECT_EQ(lin, 1);
  // The same address on a 64-bit vCPU is user space for both.
  EXPECT_FALSE(w.may_want(0x82a01000ull, 8));
  EXPECT_EQ(w.offer(c.v64, 0x82a01000ull), Offer::waiting);
  EXPECT_EQ(win + lin, 3);
  EXPECT_EQ(w.offer(c.v64, 0xfffff80312401000ull), Offer::waiting);
  EXPECT_EQ(win + lin, 5);
}

TEST(KernelWaiters, DoneWhenTheLastCallerIsDone) {
  Cpu c;
  KernelWaiters w;
  EXPECT_FALSE(w.wanted());
  EXPECT_FALSE(w.may_want(0x82a01000ull, 4));
  int calls = 0;
  w.add(kWin, [&](vmi::Vcpu&) { return ++calls == 2; });
  EXPECT_TRUE(w.wanted());
  EXPECT_EQ(w.offer(c.v32, 0x82a01000ull), Offer::waiting);
  EXPECT_EQ(w.offer(c.v32, 0x82a01000ull), Offer::done);
  EXPECT_FALSE(w.wanted());
  EXPECT_FALSE(w.may_want(0x82a01000ull, 4));  // QEMU drops its probes now
  EXPECT_EQ(w.offer(c.v32, 0x82a01000ull), Offer::waiting);  // nobody left to call
  EXPECT_EQ(calls, 2);
}

// A callback may ask again (taken up by the next offer); a vCPU arriving while
// another offers is turned away at once.
TEST(KernelWaiters, ReentrantAddAndBusy) {
  Cpu c;
  KernelWaiters w;
  int second = 0;
  Offer inner = Offer::waiting;
  w.add(kLinux, [&](vmi::Vcpu& v) {
    std::thread other([&] { inner = w.offer(v, 0xc1000000ull); });  // another vCPU
    other.join();
    w.add(kWin, [&](vmi::Vcpu&) { ++second; return true; });
    return true;
  });
  EXPECT_EQ(w.offer(c.v32, 0xc1000000ull), Offer::waiting);  // the new one waits
  EXPECT_EQ(inner, Offer::busy);
  EXPECT_EQ(second, 0);
  EXPECT_TRUE(w.may_want(0x80001000ull, 4));  // the hull grew to the new range
  EXPECT_EQ(w.offer(c.v32, 0x80001000ull), Offer::done);
  EXPECT_EQ(second, 1);
}

TEST(KernelWaiters, ThrowingCallerIsDroppedAndTheErrorPropagates) {
  Cpu c;
  KernelWaiters w;
  w.add(kWin, [](vmi::Vcpu&) -> bool { throw std::runtime_error("x"); });
  EXPECT_THROW(w.offer(c.v32, 0x82a01000ull), std::runtime_error);
  EXPECT_FALSE(w.wanted());
}

}  // namespace
}  // namespace vmitrace::testing

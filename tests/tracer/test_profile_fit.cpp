// The tracer's side of the start-up self-check: a verdict that the profile does not
// fit, confirmed on further samples, stops tracing through the fatal path (one
// message, on_fatal once, no hook placed); a pass is said once; a vCPU without its
// per-CPU base is waited out.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/error.hpp"
#include "tracer_fixture.hpp"

namespace vmitrace::testing {
namespace {

std::string hex_of(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

syscalls::TracerConfig named(const char* path, int* fatal_calls, std::string* fatal_msg) {
  syscalls::TracerConfig cfg;
  cfg.profile_path = path;
  cfg.on_fatal = [=](const std::string& m) {
    ++*fatal_calls;
    *fatal_msg = m;
  };
  return cfg;
}

TEST(ProfileFit, HookWithoutCodeStopsTracingWithOneMessage) {
  int fatal_calls = 0;
  std::string fatal_msg;
  TracerGuest g(dispatcher_profile(), named("kernel.json", &fatal_calls, &fatal_msg));
  uint8_t zeros[16] = {};
  g.mem.write(g.rt(Sym::x64_sys_call), zeros, sizeof zeros);
  g.tracer->start();
  ::testing::internal::CaptureStderr();
  int offers = 0;
  while (!g.backend.run_kernel(*g.cpus[0]) && offers < 10) ++offers;
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(offers, 2);  // the third failing sample confirms it
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_EQ(g.backend.hooks.size(), 0u);
  EXPECT_EQ(fatal_calls, 1);
  EXPECT_EQ(fatal_msg, "kernel.json: x64_sys_call does not fit the running kernel (its code at " +
                           hex_of(g.rt(Sym::x64_sys_call)) + " reads as zeros)");
  EXPECT_EQ(err, "vmitrace: error: " + fatal_msg + "\n");
  EXPECT_EQ(g.tracer->error(), fatal_msg);
}

TEST(ProfileFit, CurrentTaskPointingNowhereStopsTracing) {
  int fatal_calls = 0;
  std::string fatal_msg;
  TracerGuest g(dispatcher_profile(), named("kernel.json", &fatal_calls, &fatal_msg));
  for (unsigned c = 0; c < 2; ++c) g.mem.write_u64(TracerGuest::gs(c) + Synth::kPcpuHot + Synth::kCurrentOff, 0);
  g.tracer->start();
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) g.backend.run_kernel(*g.cpus[i % 2]);
  ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_EQ(fatal_calls, 1);
  EXPECT_NE(fatal_msg.find("kernel.json: pcpu_hot.current_task does not fit the running kernel (the per-CPU "
                           "slot at "),
            std::string::npos)
      << fatal_msg;
}

TEST(ProfileFit, AFailureThenAPassTraces) {
  // A sample that fails (e.g. the task list changing under the walk on another vCPU)
  // does not stop tracing when a later one passes.
  TracerGuest g(dispatcher_profile());
  g.mem.write_u64(TracerGuest::gs(0) + Synth::kPcpuHot + Synth::kCurrentOff, 0);
  g.tracer->start();
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(g.backend.run_kernel(*g.cpus[0]));
  EXPECT_TRUE(g.backend.run_kernel(*g.cpus[1]));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(g.tracer->tracing());
  EXPECT_EQ(g.tracer->error(), "");
  EXPECT_NE(err.find("vmitrace: self-check: profile: the profile fits the running kernel: 3 hooked functions, "
                     "the current task (pid 1 \"init\", parent pid 1)"),
            std::string::npos)
      << err;
}

TEST(ProfileFit, NoPerCpuBaseYetIsWaitedOut) {
  TracerGuest g(dispatcher_profile());
  g.tracer->start();
  g.cpus[0]->reg(vmi::Reg::gs_base) = 0;  // early boot
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(g.backend.run_kernel(*g.cpus[0]));
  EXPECT_FALSE(g.tracer->tracing());
  EXPECT_EQ(g.tracer->error(), "");
  g.cpus[0]->reg(vmi::Reg::gs_base) = TracerGuest::gs(0);
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(g.backend.run_kernel(*g.cpus[0]));
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(g.tracer->tracing());
}

TEST(ProfileFit, HookOutsideTheTextIsRefusedAtConstruction) {
  auto p = dispatcher_profile();
  p.symbols["x64_sys_call"].address = 0xffffffff82100000ull;  // beyond linux_banner (.rodata)
  FakeBackend be;
  CollectSink sink;
  syscalls::TracerConfig cfg;
  cfg.profile_path = "kernel.json";
  try {
    syscalls::make_tracer(cfg, p, be, sink);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kernel.json: x64_sys_call at 0xffffffff82100000 lies outside the "
                                         "kernel text"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vmitrace::testing

// Watches the process-context reads while tracing: a profile that fits at start can
// still fail on some tasks (or a guest can start to lie), and events whose PID or
// user could not be read must not pass silently until the end-of-run count. When
// more than 1% of a window of 1,000 events failed to read their context, one line
// on stderr names the reads that failed, at most once every 10 s.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "os/linux/kernel.hpp"

namespace vmitrace::syscalls {

class ContextHealth {
 public:
  static constexpr uint32_t kWindow = 1000;
  static constexpr uint32_t kThreshold = kWindow / 100;  // more failed events than this: warn
  static constexpr int64_t kQuietNs = 10'000'000'000;    // between two warnings

  // names[i]: the read behind ContextRead bit 1 << i (LinuxKernel::describe_read).
  ContextHealth(std::string what, std::array<std::string, oslinux::kContextReads> names)
      : what_(std::move(what)), names_(std::move(names)) {}

  // Once per event, on vCPU threads: shared counters only, and the per-read ones
  // only when something failed. `failed`: ProcessContext::failed.
  void note(uint8_t failed) {
    if (failed) count_failure(failed);
    if (events_.fetch_add(1, std::memory_order_relaxed) % kWindow == kWindow - 1) close_window();
  }
  uint64_t warnings() const { return warnings_.load(std::memory_order_relaxed); }

 private:
  void count_failure(uint8_t failed);
  void close_window();

  const std::string what_;
  const std::array<std::string, oslinux::kContextReads> names_;
  std::atomic<uint64_t> events_{0};
  std::atomic<uint32_t> failed_events_{0};
  std::array<std::atomic<uint32_t>, oslinux::kContextReads> by_read_{};
  std::mutex warn_mu_;  // the warning's state below
  int64_t last_warning_ns_ = 0;
  uint64_t quiet_windows_ = 0;  // failing windows not reported since the last warning
  std::atomic<uint64_t> warnings_{0};
};

}  // namespace vmitrace::syscalls

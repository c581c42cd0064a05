#include "syscalls/linux/context_health.hpp"

#include <chrono>
#include <cstdio>

namespace vmitrace::syscalls {

void ContextHealth::count_failure(uint8_t failed) {
  failed_events_.fetch_add(1, std::memory_order_relaxed);
  for (unsigned i = 0; i < oslinux::kContextReads; ++i)
    if (failed & (1u << i)) by_read_[i].fetch_add(1, std::memory_order_relaxed);
}

// Runs on the vCPU thread whose event ends a window: rare, and it prints (no
// allocation: a fixed buffer) only when the window failed.
void ContextHealth::close_window() {
  const uint32_t failed = failed_events_.exchange(0, std::memory_order_relaxed);
  uint32_t by[oslinux::kContextReads];
  for (unsigned i = 0; i < oslinux::kContextReads; ++i) by[i] = by_read_[i].exchange(0, std::memory_order_relaxed);
  if (failed <= kThreshold) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard lock(warn_mu_);
  if (warnings_.load(std::memory_order_relaxed) > 0 && now - last_warning_ns_ < kQuietNs) {
    ++quiet_windows_;
    return;
  }
  char line[2048];
  size_t n = static_cast<size_t>(std::snprintf(
      line, sizeof line, "vmitrace: warning: %s: %u of the last %u events could not read their process context:",
      what_.c_str(), failed, kWindow));
  const char* sep = " ";
  for (unsigned i = 0; i < oslinux::kContextReads && n < sizeof line; ++i) {
    if (!by[i]) continue;
    n += static_cast<size_t>(std::snprintf(line + n, sizeof line - n, "%s%s failed %u times", sep,
                                           names_[i].c_str(), by[i]));
    sep = ", ";
  }
  if (n < sizeof line && quiet_windows_)
    n += static_cast<size_t>(std::snprintf(line + n, sizeof line - n, " (and in %llu more windows since the last warning)",
                                           static_cast<unsigned long long>(quiet_windows_)));
  std::fprintf(stderr, "%s; the profile may not fit the running kernel\n", line);
  last_warning_ns_ = now;
  quiet_windows_ = 0;
  warnings_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace vmitrace::syscalls

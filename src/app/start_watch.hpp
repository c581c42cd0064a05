// What `run` and `attach` say while the guest kernel has not been found, and
// --start-timeout. The capture publishes how far its start-up got
// (syscalls::StartPhase, in the ring header); this turns it into
//   vmitrace: waiting for the guest kernel: no kernel code seen after 30 s
// at most every 10 s (every minute after the first one), and into a clean failure
// once the timeout has passed.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace vmitrace::app {

class StartWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // timeout_s 0: wait for ever (only the waiting lines).
  explicit StartWatch(uint32_t timeout_s, Clock::time_point start = Clock::now());

  // Called about every 100 ms with the published phase; prints the waiting lines.
  // True once the timeout passed before tracing started (then the caller stops the
  // guest and reports timeout_error()).
  bool expired(uint64_t phase, Clock::time_point now = Clock::now());
  // The one-line error, e.g. "--start-timeout 3 s: the guest kernel was not found
  // (no kernel code seen)".
  std::string timeout_error() const;

 private:
  uint32_t timeout_s_;
  Clock::time_point start_;
  std::chrono::seconds next_say_{10};
  uint64_t last_phase_ = 0;
};

}  // namespace vmitrace::app

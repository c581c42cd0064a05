#include "app/start_watch.hpp"

#include <fmt/core.h>

#include "syscalls/tracer.hpp"

namespace vmitrace::app {
namespace {

using syscalls::StartPhase;

const char* waiting_for(uint64_t phase) {
  return phase == static_cast<uint64_t>(StartPhase::waiting)
             ? "no kernel code seen"
             : "kernel code seen, but not the profile's kernel yet";
}

}  // namespace

StartWatch::StartWatch(uint32_t timeout_s, Clock::time_point start)
    : timeout_s_(timeout_s), start_(start) {}

bool StartWatch::expired(uint64_t phase, Clock::time_point now) {
  if (phase >= static_cast<uint64_t>(StartPhase::tracing)) return false;
  last_phase_ = phase;
  const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - start_);
  if (timeout_s_ && waited >= std::chrono::seconds(timeout_s_)) return true;
  if (waited >= next_say_) {
    fmt::print(stderr, "vmitrace: waiting for the guest kernel: {} after {} s\n", waiting_for(phase),
               waited.count());
    next_say_ += next_say_ < std::chrono::seconds(60) ? std::chrono::seconds(10) : std::chrono::seconds(60);
  }
  return false;
}

std::string StartWatch::timeout_error() const {
  return fmt::format("--start-timeout {} s: the guest kernel was not found ({})", timeout_s_,
                     waiting_for(last_phase_));
}

}  // namespace vmitrace::app

// The capture side's closing words, shared by both backends: the syscalls tracer's
// counters and its rate-limit report go into the ring header, then the ring is
// marked closed (a clean end, as opposed to a producer that died).
#pragma once
#include <cstring>

#include "ipc/ring.hpp"
#include "syscalls/tracer.hpp"

namespace vmitrace::ipc {

inline void publish_tracer_stats(const syscalls::Tracer& tracer, EventRing& ring) {
  const syscalls::TracerStats st = tracer.stats();
  ring.set_counter(Counter::syscalls, st.syscalls);
  ring.set_counter(Counter::sysrets, st.sysrets);
  ring.set_counter(Counter::returns_unpaired, st.returns_unpaired);
  ring.set_counter(Counter::entries_lost, st.entries_lost);
  ring.set_counter(Counter::read_failures, st.read_failures);
  ring.set_counter(Counter::rate_limited, st.rate_limited);
  ProcessDrops top[EventRing::kMaxProcessDrops];
  size_t n = 0;
  for (const auto& p : tracer.rate_limited_top(EventRing::kMaxProcessDrops)) {
    top[n].pid = p.pid;
    top[n].count = p.dropped;
    static_assert(sizeof top[n].name == sizeof p.name);
    std::memcpy(top[n].name, p.name, sizeof p.name);
    ++n;
  }
  ring.set_process_drops(top, n);
  ring.mark_closed();
}

}  // namespace vmitrace::ipc

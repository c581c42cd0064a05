#include "syscalls/plugin/capture.hpp"

#include <algorithm>
#include <cstring>

namespace vmitrace::syscalls {
namespace {
constexpr uint64_t kPage = 4096;
constexpr size_t kFirstChunk = 64;  // most paths are short: do not read a whole page
}  // namespace

event::Capture read_string(vmi::Vcpu& cpu, uint64_t va, size_t limit, char* buf, size_t* len) {
  *len = 0;
  if (va == 0) return event::Capture::unreadable;
  // One byte past the limit tells "exactly limit bytes" from "longer".
  const size_t want_total = limit + 1;
  size_t total = 0;
  while (total < want_total) {
    const uint64_t cur = va + total;
    if (cur < va) break;  // wrapped around the address space
    size_t want = std::min<uint64_t>(want_total - total, kPage - (cur & (kPage - 1)));
    if (total == 0) want = std::min(want, kFirstChunk);
    const size_t n = cpu.read_virt(cur, buf + total, want);
    if (const void* z = std::memchr(buf + total, 0, n)) {
      *len = static_cast<const char*>(z) - buf;
      return event::Capture::ok;
    }
    total += n;
    if (n < want) break;  // unmapped page
  }
  *len = std::min(total, limit);
  if (total == 0) return event::Capture::unreadable;
  return event::Capture::truncated;
}

event::Capture read_string_array(vmi::Vcpu& cpu, uint64_t va, unsigned ptr_size,
                                 unsigned max_items, size_t limit, char* buf, size_t* len) {
  *len = 0;
  if (va == 0) return event::Capture::unreadable;
  size_t used = 0;
  for (unsigned i = 0; i < max_items; ++i) {
    uint64_t p = 0;
    const uint64_t slot = va + uint64_t{i} * ptr_size;
    if (cpu.read_virt(slot, &p, ptr_size) != ptr_size) {
      *len = used;
      return i == 0 ? event::Capture::unreadable : event::Capture::truncated;
    }
    if (p == 0) {
      *len = used;
      return event::Capture::ok;
    }
    if (used + 1 >= limit) break;
    size_t n = 0;
    event::Capture c = read_string(cpu, p, limit - used - 1, buf + used, &n);
    used += n;
    buf[used++] = '\0';
    if (c != event::Capture::ok) {
      *len = used;
      return event::Capture::truncated;
    }
  }
  *len = used;
  return event::Capture::truncated;
}

}  // namespace vmitrace::syscalls

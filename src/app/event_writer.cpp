#include "app/event_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "common/error.hpp"
#include "event/record.hpp"
#include "syscalls/tables/linux.hpp"

namespace vmitrace::app {

OutputFile::OutputFile(const std::string& path) : name_(path.empty() ? "stdout" : path) {
  if (path.empty()) {
    fd_ = 1;
  } else {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(path, std::string("cannot open output: ") + std::strerror(errno));
    own_ = true;
  }
  struct stat st {};
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
}

OutputFile::~OutputFile() {
  if (own_) ::close(fd_);
}

bool OutputFile::write_all(std::string& buf) {
  size_t off = 0;
  while (off < buf.size() && ok()) {
    ssize_t n = ::write(fd_, buf.data() + off, buf.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = name_ + ": write failed: " + std::strerror(errno);
      break;
    }
    // Track the end of the last whole line that reached the file.
    const char* nl = static_cast<const char*>(::memrchr(buf.data() + off, '\n', size_t(n)));
    if (nl) whole_end_ = written_ + uint64_t(nl - (buf.data() + off)) + 1;
    written_ += uint64_t(n);
    off += static_cast<size_t>(n);
  }
  if (!ok() && regular_ && written_ != whole_end_) {
    // A full disk cut a line: drop its head so the file ends with a whole line.
    if (::ftruncate(fd_, off_t(whole_end_)) == 0) written_ = whole_end_;
  }
  buf.erase(0, off);
  return ok();
}

bool OutputFile::close_file() {
  if (own_) {
    own_ = false;
    if (::close(fd_) != 0 && ok()) error_ = name_ + ": close failed: " + std::strerror(errno);
  }
  return ok();
}

void writer_loop(ipc::EventRing& ring, OutputFile& sink, const output::FormatOptions& fo,
                 const std::atomic<bool>& producer_done, EventCounts& counts,
                 const std::function<void()>& on_output_error, uint64_t max_events,
                 const std::function<void()>& on_limit) {
  std::vector<uint8_t> rec(event::kMaxRecord + 64);
  std::string out;
  out.reserve(1 << 20);
  // The writer shares the host's cores with QEMU: it sleeps while the ring is
  // empty (1 ms, doubling to 5 ms: the ring holds megabytes, so nothing waits for
  // it; a shorter first sleep made thousands of wake-ups a second, each a system
  // call, which on a virtualised host costs tens of microseconds) and writes when
  // its buffer is large or has waited 50 ms, not each time the ring runs dry.
  using clock = std::chrono::steady_clock;
  constexpr auto kMinIdle = std::chrono::microseconds(1000), kMaxIdle = std::chrono::microseconds(5000);
  constexpr auto kFlushAfter = std::chrono::milliseconds(50);
  auto idle = kMinIdle;
  auto last_write = clock::now();
  uint64_t uid = 0;
  for (;;) {
    size_t n = ring.pop(rec.data(), rec.size());
    if (n == 0) {
      const bool done = producer_done.load(std::memory_order_acquire) && ring.pending() == 0;
      if (!out.empty() && sink.ok() && (done || clock::now() - last_write >= kFlushAfter)) {
        if (!sink.write_all(out)) on_output_error();
        last_write = clock::now();
      }
      if (done) break;
      std::this_thread::sleep_for(idle);
      if (idle < kMaxIdle) idle = std::min(idle * 2, kMaxIdle);
      continue;
    }
    idle = kMinIdle;
    auto* r = reinterpret_cast<event::Record*>(rec.data());
    if (n < sizeof(event::Record) || n > rec.size() || r->size > n ||
        r->size < sizeof(event::Record)) {
      ++counts.malformed;
      continue;
    }
    ++counts.events;
    if (r->kind == event::Kind::syscall) {
      ++counts.syscalls;
      const uint64_t key = (uint64_t{static_cast<uint8_t>(r->abi)} << 32) | r->nr;
      // Windows service numbers differ by build: the name the record carries, once.
      if (++counts.by_call[key] == 1 && r->os == event::Os::windows)
        event::for_each_extra(*r, [&](const event::ExtraView& v) {
          if (v.tag == event::Extra::method)
            counts.call_names[key].assign(reinterpret_cast<const char*>(v.data), v.len);
        });
    } else if (r->kind == event::Kind::sysret) {
      ++counts.sysrets;
    }
    if (max_events && uid >= max_events) {
      ++counts.over_limit;
      continue;
    }
    if (!sink.ok()) {
      ++counts.unwritten_lines;
      continue;
    }
    output::format_event(*r, uid++, fo, out);
    if (out.size() >= (1 << 20)) {
      if (!sink.write_all(out)) on_output_error();
      last_write = clock::now();
    }
    if (max_events && uid == max_events) {
      if (!out.empty() && !sink.write_all(out)) on_output_error();
      on_limit();
    }
  }
  if (!out.empty() && sink.ok() && !sink.write_all(out)) on_output_error();
  // Lines still in the buffer never reached the output (write_all keeps the rest).
  const auto stuck = static_cast<uint64_t>(std::count(out.begin(), out.end(), '\n'));
  counts.unwritten_lines += stuck;
  counts.written = uid - stuck;
}

namespace {

// A guest process name for stderr: hostile bytes, so printable ASCII only.
std::string printable_name(const char* name, size_t cap) {
  std::string out;
  for (size_t i = 0; i < cap && name[i]; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace

void print_summary(const EventCounts& c, const ipc::EventRing& ring, double secs,
                   uint64_t max_events) {
  using ipc::Counter;
  auto rs = ring.stats();
  if (max_events && c.events >= max_events)
    fmt::print(stderr, "vmitrace: --max-events {} reached: tracing stopped; {} later events not "
               "written\n", max_events, c.over_limit);
  const uint64_t rate_limited = ring.counter(Counter::rate_limited);
  const uint64_t backpressure = rs.dropped - std::min(rs.dropped, rs.too_large);
  // QEMU died without its final count: the ring's own count stands in for it; a
  // record counted but never published was being copied when QEMU died.
  const bool died = !ring.closed() && ring.producer_attached();
  const uint64_t popped = c.events + c.malformed;
  const uint64_t lost = died && rs.pushed > popped ? rs.pushed - popped : 0;
  const uint64_t dropped =
      rs.dropped + rate_limited + c.over_limit + c.unwritten_lines + c.malformed + lost;
  fmt::print(stderr, "vmitrace: {} events in {:.1f} s: {} syscall, {} sysret; {} written, "
             "dropped {}", c.events, secs, c.syscalls, c.sysrets, c.written, dropped);
  if (dropped) {
    std::string why;
    auto add = [&](uint64_t n, const char* what) {
      if (n) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, what);
    };
    add(backpressure, "ring full");
    add(rs.too_large, "too large for the ring");
    add(rate_limited, "over --rate-limit");
    add(c.over_limit, "after --max-events");
    add(c.unwritten_lines, "output failed");
    add(c.malformed, "malformed records");
    add(lost, "lost when QEMU died");
    fmt::print(stderr, " ({})", why);
  }
  fmt::print(stderr, "\n");
  if (rate_limited) {
    std::string line;
    uint64_t listed = 0;
    for (const auto& p : ring.process_drops()) {
      line += fmt::format("{}{}[{}] {}", line.empty() ? "" : ", ",
                          printable_name(p.name, sizeof p.name), p.pid, p.count);
      listed += p.count;
    }
    if (listed < rate_limited) line += fmt::format("{}{} in other processes",
                                                   line.empty() ? "" : ", ", rate_limited - listed);
    fmt::print(stderr, "vmitrace: dropped by --rate-limit: {}\n", line);
  }
  std::vector<std::pair<uint64_t, uint64_t>> top(c.by_call.begin(), c.by_call.end());
  std::sort(top.begin(), top.end(), [](auto& a, auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (top.size() > 10) top.resize(10);
  if (!top.empty()) {
    std::string line;
    for (auto& [key, n] : top) {
      auto abi = static_cast<event::Abi>(key >> 32);
      auto nr = static_cast<uint32_t>(key);
      const syscalls::SyscallInfo* info = syscalls::lookup(abi, nr);
      const auto known = c.call_names.find(key);
      std::string name = known != c.call_names.end() ? known->second
                         : info                      ? info->name
                                                     : fmt::format("sys_{}", nr);
      if (abi != event::Abi::linux_x64 && abi != event::Abi::linux_arm64) name += fmt::format("/{}", syscalls::abi_type_name(abi));
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", name, n);
    }
    fmt::print(stderr, "vmitrace: top syscalls: {}\n", line);
  }
  if (ring.closed()) {
    fmt::print(stderr,
               "vmitrace: plugin: {} syscalls, {} sysrets, {} returns without entry, {} entries "
               "without return, {} guest reads failed\n",
               ring.counter(Counter::syscalls), ring.counter(Counter::sysrets),
               ring.counter(Counter::returns_unpaired), ring.counter(Counter::entries_lost),
               ring.counter(Counter::read_failures));
    // Every event the capture side produced is either written or dropped for a
    // reason counted above: the balance must be exact.
    const uint64_t captured =
        ring.counter(Counter::syscalls) + ring.counter(Counter::sysrets) + rate_limited;
    fmt::print(stderr, "vmitrace: accounting: {} captured = {} written + {} dropped{}\n",
               captured, c.written, dropped,
               captured == c.written + dropped ? "" : " (MISMATCH: please report)");
  } else if (died) {
    fmt::print(stderr, "vmitrace: QEMU ended without closing the capture (killed or crashed); "
                       "every event it published was read\n");
    // At most the one record being copied can be lost; more would be a bug.
    const uint64_t captured = rs.pushed + rs.dropped + rate_limited;
    fmt::print(stderr, "vmitrace: accounting: {} captured = {} written + {} dropped (counted by "
                       "the ring: QEMU gave no final count){}\n",
               captured, c.written, dropped,
               captured == c.written + dropped && lost <= 1 ? "" : " (MISMATCH: please report)");
  }
}

}  // namespace vmitrace::app

// The vmitrace side of every backend: records come out of an ipc::EventRing (the
// QEMU plugin's shared ring, or an in-process one for `attach`), get their EventUID
// in pop order, are formatted and written on one writer thread, and are counted for
// the summary at the end of a run. One implementation for `run` and `attach`.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "ipc/ring.hpp"
#include "output/format.hpp"

namespace vmitrace::app {

// Buffered writer on a file descriptor; remembers the first error. After a failed
// write to a regular file the file is cut back to its last whole line, so what was
// written stays valid line by line (JSON lines, kv, csv).
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);  // "" = stdout; throws Error naming path
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // Writes everything in buf; on error keeps the unwritten rest in buf.
  bool write_all(std::string& buf);
  bool close_file();

 private:
  std::string name_;
  int fd_ = -1;
  bool own_ = false;
  bool regular_ = false;
  uint64_t written_ = 0;     // bytes written so far
  uint64_t whole_end_ = 0;   // offset just after the last whole line written
  std::string error_;
};

// What the writer saw. Every record popped is in exactly one of: written,
// over_limit, unwritten_lines (events = their sum); malformed records are not events.
struct EventCounts {
  uint64_t events = 0, syscalls = 0, sysrets = 0, malformed = 0;
  uint64_t written = 0;          // lines that reached the output (EventUID 0..written-1)
  uint64_t unwritten_lines = 0;  // formatted or popped after the output failed
  uint64_t over_limit = 0;  // captured after --max-events was reached, not written
  std::unordered_map<uint64_t, uint64_t> by_call;  // (abi << 32 | nr) -> entries
  std::unordered_map<uint64_t, std::string> call_names;  // Windows: key -> service name
};

// The writer thread: pops until producer_done and the ring is empty; EventUID is one
// counter in pop order. With max_events, after that many lines the output is flushed,
// on_limit() asks the producer to stop and later records are drained (so the
// producer never blocks) but not written. on_output_error() runs once the output
// fails (the caller stops the capture).
void writer_loop(ipc::EventRing& ring, OutputFile& out, const output::FormatOptions& fo,
                 const std::atomic<bool>& producer_done, EventCounts& counts,
                 const std::function<void()>& on_output_error, uint64_t max_events,
                 const std::function<void()>& on_limit);

// The end-of-run summary on stderr: events by type, drops by reason (backpressure,
// too large, rate limit with the processes, --max-events, output failure), the most
// frequent syscalls, and the capture side's own counters when it closed the ring,
// with the balance "captured = written + dropped" (exact; a mismatch is a bug).
void print_summary(const EventCounts& c, const ipc::EventRing& ring, double secs,
                   uint64_t max_events);

}  // namespace vmitrace::app

// Event hand-over between the capture side (inside QEMU's process, many vCPU
// threads) and the vmitrace process (one reader), through a shared-memory file.
// Records already published survive the death of the producer process: the
// reader drains them after QEMU exits, whatever the cause.
//
// Layout of the file: one 4 KiB header page (magic, version, capacity, positions,
// flags, counters), then `capacity` bytes of data holding length-prefixed records
// aligned to 8. Positions are byte counts that only grow (offset = pos % capacity).
// Producers of one process are serialised by an in-process lock; a record is
// copied first and published afterwards by a release store of commit_pos, so the
// reader (acquire load) sees it whole or not at all, even if the producer dies
// in the middle of a copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vmitrace::ipc {

// Counters the producer publishes in the header at exit (plugin statistics), so
// the reader can print them in its summary; fatal and start_phase are set live.
// Indices into a small fixed array.
enum class Counter : unsigned {
  syscalls = 0,
  sysrets,
  returns_unpaired,
  entries_lost,
  read_failures,
  fatal,        // 1 when the plugin stopped tracing on an error (e.g. profile mismatch)
  rate_limited, // events dropped by the per-process rate limit (entries + returns)
  start_phase,  // syscalls::StartPhase, live: how far the start-up got
  count_  // number of counters
};

// One process's count of events dropped by the rate limit (the producer's top list,
// published at exit). name is the guest's comm: not necessarily NUL-terminated.
struct ProcessDrops {
  int64_t pid = -1;
  uint64_t count = 0;
  char name[16] = {};
};

struct RingStats {
  uint64_t pushed = 0;     // records published, plus one being copied if the producer died mid-copy
  uint64_t dropped = 0;   // records the producer could not publish (policy drop / too large)
  uint64_t too_large = 0; // of which: larger than the ring could ever hold
  bool torn = false;      // the producer died in the middle of a copy (that record is lost)
  bool reader_gone = false;
};

class EventRing {
 public:
  static constexpr size_t kHeaderSize = 4096;
  static constexpr size_t kMinCapacity = 4096;
  static constexpr size_t kMaxCapacity = size_t{1} << 32;
  static constexpr unsigned kMaxProcessDrops = 16;

  EventRing();
  EventRing(EventRing&&) noexcept;
  EventRing& operator=(EventRing&&) noexcept;
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;
  ~EventRing();

  // Reader side: creates (truncates) the file at path with `capacity` bytes of data
  // (rounded up to a multiple of 8, at least kMinCapacity). Throws Error naming path.
  static EventRing create(const std::string& path, size_t capacity);
  // Writer side: maps an existing ring; validates the header (magic, version,
  // capacity against the file size, positions); throws vmitrace::Error naming path.
  static EventRing attach(const std::string& path);

  bool valid() const { return shm_ != nullptr; }
  const std::string& path() const { return path_; }
  size_t capacity() const { return cap_; }

  // Writer (thread-safe among writers of one process). block=true waits for room
  // (short sleeps) while the reader is alive; false drops and counts. Returns false
  // if dropped. A record that can never fit (8 + len > capacity) is dropped and
  // counted as too_large. len must be > 0.
  bool push(const void* rec, size_t len, bool block);
  // Reader: copies the next published record into buf (up to cap bytes; a longer
  // record is truncated to cap and still consumed); returns its full size, 0 when
  // the ring is empty. Throws vmitrace::Error on a corrupt record or header (the
  // producer is another process: nothing in the shared page is trusted).
  size_t pop(void* buf, size_t cap);
  // Bytes published and not yet popped (reader side; for draining / tests).
  uint64_t pending() const;

  // Writer marks the end of capture (clean exit); reader can tell it from a crash.
  void mark_closed();
  bool closed() const;
  // Reader liveness, so a blocked writer can give up if the reader is gone. The
  // writer also checks that the reader's pid still exists while it waits.
  void mark_reader_gone();
  bool reader_alive() const;
  // True once a producer attached (QEMU loaded the plugin and found the ring).
  bool producer_attached() const;
  RingStats stats() const;

  void set_counter(Counter c, uint64_t v);
  uint64_t counter(Counter c) const;
  // Producer, at exit: the processes with the most rate-limited events (at most
  // kMaxProcessDrops kept). Reader: that list, bounds-checked.
  void set_process_drops(const ProcessDrops* p, size_t n);
  std::vector<ProcessDrops> process_drops() const;

  // Removes the file (reader side, at exit). The mapping stays valid until
  // destruction.
  void unlink_file();

 private:
  struct Shared;
  struct Local;
  Shared* shm_ = nullptr;
  size_t map_len_ = 0;
  uint64_t cap_ = 0;              // local copy: never re-read from the shared page
  std::string path_;
  std::unique_ptr<Local> local_;  // producer lock (not shared between processes)
};

}  // namespace vmitrace::ipc

// Event hand-over between the capture side (inside QEMU's process, many vCPU
// threads) and the vmitrace process (one reader), through a shared-memory file.
// Records already published survive the death of the producer process: the
// reader drains them after QEMU exits, whatever the cause.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vmitrace::ipc {

struct RingStats {
  uint64_t pushed = 0;
  uint64_t dropped = 0;  // records the producer could not publish (policy drop / too large)
};

class EventRing {
 public:
  EventRing() = default;
  EventRing(EventRing&&) noexcept;
  EventRing& operator=(EventRing&&) noexcept;
  EventRing(const EventRing&) = delete;
  ~EventRing();

  // Reader side: creates (truncates) the file at path with `capacity` bytes of data.
  static EventRing create(const std::string& path, size_t capacity);
  // Writer side: maps an existing ring; throws vmitrace::Error naming path.
  static EventRing attach(const std::string& path);

  // Writer (thread-safe among writers of one process). block=true waits for room
  // while the reader is alive; false drops and counts. Returns false if dropped.
  bool push(const void* rec, size_t len, bool block);
  // Reader: copies the next published record into buf (up to cap bytes); returns
  // its size, 0 when the ring is empty.
  size_t pop(void* buf, size_t cap);
  // Writer marks the end of capture (clean exit); reader can tell it from a crash.
  void mark_closed();
  bool closed() const;
  // Reader liveness, so a blocked writer can give up if the reader is gone.
  void mark_reader_gone();
  RingStats stats() const;

 private:
  struct Shared;
  Shared* shm_ = nullptr;
  size_t map_len_ = 0;
};

}  // namespace vmitrace::ipc

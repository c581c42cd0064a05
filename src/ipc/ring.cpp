#include "ipc/ring.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#include "common/error.hpp"

namespace vmitrace::ipc {
namespace {

constexpr uint64_t kMagic = 0x31474e5254494d56ull;  // "VMITRNG1" little-endian
constexpr uint32_t kVersion = 4;  // 3: rate-limit counter and per-process drops; 4: start phase
// Each record starts with {len, len ^ kCheck}: a cheap guard against a header that
// was never written or was overwritten (hostile or buggy producer).
constexpr uint32_t kCheck = 0x5a17c0deu;
constexpr uint32_t kSkip = 0xffffffffu;  // "rest of this lap is padding"
constexpr size_t kRecHdr = 8;

constexpr uint64_t pad8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

std::string errno_text() { return std::strerror(errno); }

}  // namespace

struct EventRing::Shared {
  uint64_t magic;
  uint32_t version;
  uint32_t header_size;
  uint64_t capacity;
  int32_t reader_pid;
  int32_t producer_pid;
  // Producer side. write_pos runs ahead of commit_pos only while a copy is in
  // progress: if they differ after the producer died, one record was torn (lost).
  alignas(64) std::atomic<uint64_t> write_pos;
  std::atomic<uint64_t> commit_pos;
  // Reader side, on its own cache line.
  alignas(64) std::atomic<uint64_t> read_pos;
  alignas(64) std::atomic<uint32_t> closed;
  std::atomic<uint32_t> reader_alive;
  std::atomic<uint64_t> pushed;
  std::atomic<uint64_t> dropped;
  std::atomic<uint64_t> too_large;
  std::atomic<uint64_t> counters[16];
  std::atomic<uint32_t> n_process_drops;
  ProcessDrops process_drops[EventRing::kMaxProcessDrops];
};
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "shared-memory atomics must be lock-free to work across processes");
static_assert(static_cast<unsigned>(Counter::count_) <= 16);

struct EventRing::Local {
  std::mutex producer;      // serialises the producers of this process
  uint64_t read_pos = 0;    // reader's own position (the shared copy is only published)
};

EventRing::EventRing() : local_(std::make_unique<Local>()) {}

EventRing::EventRing(EventRing&& o) noexcept
    : shm_(o.shm_), map_len_(o.map_len_), cap_(o.cap_), path_(std::move(o.path_)),
      local_(std::move(o.local_)) {
  o.shm_ = nullptr;
  o.map_len_ = 0;
  o.cap_ = 0;
  o.local_ = std::make_unique<Local>();
}

EventRing& EventRing::operator=(EventRing&& o) noexcept {
  if (this != &o) {
    if (shm_) munmap(shm_, map_len_);
    shm_ = o.shm_;
    map_len_ = o.map_len_;
    cap_ = o.cap_;
    path_ = std::move(o.path_);
    local_ = std::move(o.local_);
    o.shm_ = nullptr;
    o.map_len_ = 0;
    o.cap_ = 0;
    o.local_ = std::make_unique<Local>();
  }
  return *this;
}

EventRing::~EventRing() {
  if (shm_) munmap(shm_, map_len_);
}

EventRing EventRing::create(const std::string& path, size_t capacity) {
  if (capacity > kMaxCapacity) throw Error(path, "ring capacity too large");
  static_assert(sizeof(Shared) <= kHeaderSize);
  uint64_t cap = pad8(capacity < kMinCapacity ? kMinCapacity : capacity);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(path, "cannot create event ring: " + errno_text());
  size_t len = kHeaderSize + cap;
  if (::ftruncate(fd, static_cast<off_t>(len)) != 0) {
    std::string e = errno_text();
    ::close(fd);
    throw Error(path, "cannot size event ring: " + e);
  }
  // Allocated and mapped up front: a page first touched while the guest runs costs
  // the writing vCPU a page fault (tens of microseconds on a virtualised host,
  // one per 4 KiB of events), and a full /dev/shm is an error now, not a SIGBUS later.
  if (int err = ::posix_fallocate(fd, 0, static_cast<off_t>(len)); err != 0) {
    ::close(fd);
    throw Error(path, "cannot allocate event ring (" + std::to_string(len >> 20) +
                          " MiB; see --ring-mb): " + std::strerror(err));
  }
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  std::string e = errno_text();
  ::close(fd);
  if (p == MAP_FAILED) throw Error(path, "cannot map event ring: " + e);
  auto* s = new (p) Shared();
  s->magic = kMagic;
  s->version = kVersion;
  s->header_size = kHeaderSize;
  s->capacity = cap;
  s->reader_pid = static_cast<int32_t>(::getpid());
  s->producer_pid = 0;
  s->write_pos.store(0);
  s->commit_pos.store(0);
  s->read_pos.store(0);
  s->closed.store(0);
  s->pushed.store(0);
  s->dropped.store(0);
  s->too_large.store(0);
  for (auto& c : s->counters) c.store(0);
  s->n_process_drops.store(0);
  s->reader_alive.store(1, std::memory_order_release);
  EventRing r;
  r.shm_ = s;
  r.map_len_ = len;
  r.cap_ = cap;
  r.path_ = path;
  return r;
}

EventRing EventRing::attach(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw Error(path, "cannot open event ring: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path, "not a regular file");
  }
  auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderSize + kMinCapacity) {
    ::close(fd);
    throw Error(path, "not a vmitrace event ring (file too small: " + std::to_string(size) +
                          " bytes)");
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  std::string e = errno_text();
  ::close(fd);
  if (p == MAP_FAILED) throw Error(path, "cannot map event ring: " + e);
  auto* s = static_cast<Shared*>(p);
  auto fail = [&](const std::string& why) {
    ::munmap(p, size);
    throw Error(path, why);
  };
  if (s->magic != kMagic) fail("not a vmitrace event ring (bad magic)");
  if (s->version != kVersion)
    fail("event ring version " + std::to_string(s->version) + ", expected " +
         std::to_string(kVersion));
  if (s->header_size != kHeaderSize) fail("event ring header size mismatch");
  uint64_t cap = s->capacity;
  if (cap < kMinCapacity || cap > kMaxCapacity || cap % 8 != 0)
    fail("event ring capacity " + std::to_string(cap) + " is invalid");
  if (size != kHeaderSize + cap)
    fail("event ring file size " + std::to_string(size) + " does not match its capacity " +
         std::to_string(cap));
  uint64_t c = s->commit_pos.load(std::memory_order_acquire);
  uint64_t w = s->write_pos.load(std::memory_order_relaxed);
  uint64_t r = s->read_pos.load(std::memory_order_acquire);
  if (c % 8 || r % 8 || c < r || c - r > cap || w != c)
    fail("event ring positions are inconsistent (corrupt header)");
  s->producer_pid = static_cast<int32_t>(::getpid());
  EventRing ring;
  ring.shm_ = s;
  ring.map_len_ = size;
  ring.cap_ = cap;
  ring.path_ = path;
  ring.local_->read_pos = r;
  return ring;
}

bool EventRing::push(const void* rec, size_t len, bool block) {
  if (!shm_ || len == 0) return false;
  const uint64_t need = kRecHdr + pad8(len);
  if (len > UINT32_MAX - 8 || need > cap_) {
    shm_->too_large.fetch_add(1, std::memory_order_relaxed);
    shm_->dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  uint8_t* data = reinterpret_cast<uint8_t*>(shm_) + kHeaderSize;
  std::lock_guard<std::mutex> lock(local_->producer);
  uint64_t w = shm_->commit_pos.load(std::memory_order_relaxed);
  auto sleep_for = std::chrono::microseconds(20);
  auto waited = std::chrono::microseconds(0);
  for (;;) {
    uint64_t r = shm_->read_pos.load(std::memory_order_acquire);
    // A reader position outside [w - cap, w] means the shared page was scribbled
    // on: treat the ring as unusable rather than overwrite unread data.
    if (r > w || w - r > cap_) {
      shm_->dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const uint64_t free = cap_ - (w - r);
    const uint64_t off = w % cap_;
    const uint64_t tail = cap_ - off;
    if (need > tail) {
      // Not enough contiguous room before the end: pad the rest of the lap.
      if (free >= tail) {
        uint32_t hdr[2] = {kSkip, kSkip ^ kCheck};
        std::memcpy(data + off, hdr, sizeof hdr);
        w += tail;
        shm_->write_pos.store(w, std::memory_order_relaxed);
        shm_->commit_pos.store(w, std::memory_order_release);
        continue;
      }
    } else if (free >= need) {
      // Counted before it is reserved: if the producer dies from here on, the reader
      // finds one record fewer than counted and reports it lost (never unaccounted).
      shm_->pushed.fetch_add(1, std::memory_order_relaxed);
      shm_->write_pos.store(w + need, std::memory_order_relaxed);
      uint32_t hdr[2] = {static_cast<uint32_t>(len), static_cast<uint32_t>(len) ^ kCheck};
      std::memcpy(data + off, hdr, sizeof hdr);
      std::memcpy(data + off + kRecHdr, rec, len);
      if (need - kRecHdr > len) std::memset(data + off + kRecHdr + len, 0, need - kRecHdr - len);
      shm_->commit_pos.store(w + need, std::memory_order_release);
      return true;
    }
    // Full.
    if (!block || !reader_alive()) {
      shm_->dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::this_thread::sleep_for(sleep_for);
    waited += sleep_for;
    if (sleep_for < std::chrono::microseconds(1000)) sleep_for *= 2;
    if (waited >= std::chrono::milliseconds(100)) {
      waited = std::chrono::microseconds(0);
      // The reader may have been killed without saying so: do not wait forever.
      pid_t pid = shm_->reader_pid;
      if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
        shm_->reader_alive.store(0, std::memory_order_release);
    }
  }
}

size_t EventRing::pop(void* buf, size_t cap) {
  if (!shm_) return 0;
  const uint8_t* data = reinterpret_cast<const uint8_t*>(shm_) + kHeaderSize;
  uint64_t r = local_->read_pos;
  for (;;) {
    const uint64_t c = shm_->commit_pos.load(std::memory_order_acquire);
    if (c == r) return 0;
    if (c < r || c - r > cap_ || c % 8 != 0)
      throw Error(path_, "event ring corrupt: commit position " + std::to_string(c) +
                             " vs read position " + std::to_string(r));
    const uint64_t off = r % cap_;
    uint32_t hdr[2];
    std::memcpy(hdr, data + off, sizeof hdr);
    if (hdr[0] == kSkip) {
      const uint64_t tail = cap_ - off;
      if (hdr[1] != (kSkip ^ kCheck) || c - r < tail)
        throw Error(path_, "event ring corrupt: bad padding record at " + std::to_string(r));
      r += tail;
      local_->read_pos = r;
      shm_->read_pos.store(r, std::memory_order_release);
      continue;
    }
    const uint64_t len = hdr[0];
    const uint64_t need = kRecHdr + pad8(len);
    if (len == 0 || hdr[1] != (hdr[0] ^ kCheck) || need > cap_ - off || need > c - r)
      throw Error(path_, "event ring corrupt: bad record header at " + std::to_string(r));
    std::memcpy(buf, data + off + kRecHdr, len < cap ? len : cap);
    r += need;
    local_->read_pos = r;
    shm_->read_pos.store(r, std::memory_order_release);
    return len;
  }
}

uint64_t EventRing::pending() const {
  if (!shm_) return 0;
  uint64_t c = shm_->commit_pos.load(std::memory_order_acquire);
  uint64_t r = local_->read_pos;
  return c >= r ? c - r : 0;
}

void EventRing::mark_closed() {
  if (shm_) shm_->closed.store(1, std::memory_order_release);
}

bool EventRing::closed() const {
  return shm_ && shm_->closed.load(std::memory_order_acquire) != 0;
}

void EventRing::mark_reader_gone() {
  if (shm_) shm_->reader_alive.store(0, std::memory_order_release);
}

bool EventRing::reader_alive() const {
  return shm_ && shm_->reader_alive.load(std::memory_order_acquire) != 0;
}

bool EventRing::producer_attached() const {
  return shm_ && reinterpret_cast<const volatile int32_t&>(shm_->producer_pid) != 0;
}

RingStats EventRing::stats() const {
  RingStats s;
  if (!shm_) return s;
  s.pushed = shm_->pushed.load(std::memory_order_relaxed);
  s.dropped = shm_->dropped.load(std::memory_order_relaxed);
  s.too_large = shm_->too_large.load(std::memory_order_relaxed);
  s.torn = shm_->write_pos.load(std::memory_order_relaxed) !=
           shm_->commit_pos.load(std::memory_order_acquire);
  s.reader_gone = !reader_alive();
  return s;
}

void EventRing::set_counter(Counter c, uint64_t v) {
  auto i = static_cast<unsigned>(c);
  if (shm_ && i < static_cast<unsigned>(Counter::count_))
    shm_->counters[i].store(v, std::memory_order_relaxed);
}

uint64_t EventRing::counter(Counter c) const {
  auto i = static_cast<unsigned>(c);
  if (!shm_ || i >= static_cast<unsigned>(Counter::count_)) return 0;
  return shm_->counters[i].load(std::memory_order_relaxed);
}

void EventRing::set_process_drops(const ProcessDrops* p, size_t n) {
  if (!shm_) return;
  n = std::min<size_t>(n, kMaxProcessDrops);
  for (size_t i = 0; i < n; ++i) shm_->process_drops[i] = p[i];
  shm_->n_process_drops.store(static_cast<uint32_t>(n), std::memory_order_release);
}

std::vector<ProcessDrops> EventRing::process_drops() const {
  std::vector<ProcessDrops> out;
  if (!shm_) return out;
  // The count comes from the other process: clamp it.
  size_t n = std::min<size_t>(shm_->n_process_drops.load(std::memory_order_acquire),
                              kMaxProcessDrops);
  out.assign(shm_->process_drops, shm_->process_drops + n);
  return out;
}

void EventRing::unlink_file() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace vmitrace::ipc

#include "ipc/ring.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"

using vmitrace::Error;
using vmitrace::ipc::EventRing;

namespace {

// A unique file under /dev/shm, removed at the end of the test.
struct TempRingPath {
  std::string path;
  TempRingPath() {
    static std::atomic<int> n{0};
    path = "/dev/shm/vmitrace-test-ring-" + std::to_string(::getpid()) + "-" +
           std::to_string(n++);
  }
  ~TempRingPath() { ::unlink(path.c_str()); }
};

// Self-checking record: producer id, sequence number, length, then a byte
// pattern derived from them (a torn or mixed record fails verify()).
struct Msg {
  uint32_t producer;
  uint32_t seq;
  uint32_t len;
};

size_t make_msg(uint8_t* buf, uint32_t producer, uint32_t seq, uint32_t len) {
  Msg m{producer, seq, len};
  std::memcpy(buf, &m, sizeof m);
  for (uint32_t i = sizeof m; i < len; ++i)
    buf[i] = static_cast<uint8_t>(producer * 31 + seq * 7 + i);
  return len;
}

bool verify(const uint8_t* buf, size_t n, Msg& out) {
  if (n < sizeof(Msg)) return false;
  std::memcpy(&out, buf, sizeof out);
  if (out.len != n) return false;
  for (uint32_t i = sizeof(Msg); i < n; ++i)
    if (buf[i] != static_cast<uint8_t>(out.producer * 31 + out.seq * 7 + i)) return false;
  return true;
}

uint32_t len_for(uint32_t seq) { return 12 + (seq * 37) % 500; }

void poke(const std::string& path, off_t off, const void* data, size_t len) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data, len, off), static_cast<ssize_t>(len));
  ::close(fd);
}

}  // namespace

TEST(EventRing, RoundTripSingleThread) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 64 * 1024);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[1024], out[1024];
  for (uint32_t i = 0; i < 100; ++i) {
    size_t n = make_msg(buf, 1, i, len_for(i));
    ASSERT_TRUE(writer.push(buf, n, false));
  }
  for (uint32_t i = 0; i < 100; ++i) {
    size_t n = reader.pop(out, sizeof out);
    Msg m{};
    ASSERT_TRUE(verify(out, n, m)) << "record " << i;
    EXPECT_EQ(m.seq, i);
  }
  EXPECT_EQ(reader.pop(out, sizeof out), 0u);
  EXPECT_EQ(reader.stats().pushed, 100u);
  EXPECT_EQ(reader.stats().dropped, 0u);
  EXPECT_FALSE(reader.stats().torn);
}

TEST(EventRing, WrapAroundManyLaps) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  ASSERT_EQ(reader.capacity(), 4096u);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[1024], out[1024];
  uint32_t next_pop = 0;
  // Sizes that do not divide the capacity force padding records at every lap end.
  for (uint32_t i = 0; i < 20000; ++i) {
    size_t n = make_msg(buf, 2, i, len_for(i));
    while (!writer.push(buf, n, false)) {
      size_t got = reader.pop(out, sizeof out);
      ASSERT_GT(got, 0u) << "ring full but nothing to pop";
      Msg m{};
      ASSERT_TRUE(verify(out, got, m));
      ASSERT_EQ(m.seq, next_pop++);
    }
  }
  for (size_t got; (got = reader.pop(out, sizeof out)) != 0;) {
    Msg m{};
    ASSERT_TRUE(verify(out, got, m));
    ASSERT_EQ(m.seq, next_pop++);
  }
  EXPECT_EQ(next_pop, 20000u);
  // Drops on a full non-blocking push are counted (retries above).
  EXPECT_EQ(reader.stats().pushed, 20000u);
}

TEST(EventRing, FullRingInDropModeCountsExactly) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[120] = {};
  uint64_t accepted = 0;
  while (writer.push(buf, sizeof buf, false)) ++accepted;
  // 4096 / (8 + 120) = 32 records fit exactly; the failed push above was dropped.
  EXPECT_EQ(accepted, 32u);
  for (int i = 0; i < 57; ++i) EXPECT_FALSE(writer.push(buf, sizeof buf, false));
  auto s = reader.stats();
  EXPECT_EQ(s.pushed, 32u);
  EXPECT_EQ(s.dropped, 58u);
  EXPECT_EQ(s.too_large, 0u);
  uint8_t out[200];
  uint64_t popped = 0;
  while (reader.pop(out, sizeof out) != 0) ++popped;
  EXPECT_EQ(popped, 32u);
}

TEST(EventRing, TooLargeRecordIsDroppedAndCounted) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  std::vector<uint8_t> big(4096, 1);
  EXPECT_FALSE(writer.push(big.data(), big.size(), true));  // even when blocking
  EXPECT_TRUE(writer.push(big.data(), 4096 - 8, false));     // exactly fits
  EXPECT_EQ(reader.stats().too_large, 1u);
  EXPECT_EQ(reader.stats().dropped, 1u);
  EXPECT_FALSE(writer.push(big.data(), 0, false));  // empty records are refused
}

TEST(EventRing, PopTruncatesToBufferButReportsFullSize) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[100];
  std::memset(buf, 0xab, sizeof buf);
  ASSERT_TRUE(writer.push(buf, sizeof buf, false));
  ASSERT_TRUE(writer.push(buf, 10, false));
  uint8_t out[16] = {};
  EXPECT_EQ(reader.pop(out, sizeof out), 100u);
  EXPECT_EQ(out[15], 0xab);
  EXPECT_EQ(reader.pop(out, sizeof out), 10u);  // the next record is intact
}

TEST(EventRing, ManyThreadsBlockingNeverTornNeverLost) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 8192);
  auto writer = EventRing::attach(p.path);
  constexpr uint32_t kThreads = 4, kPer = 20000;
  std::vector<std::thread> producers;
  for (uint32_t t = 0; t < kThreads; ++t) {
    producers.emplace_back([&writer, t] {
      uint8_t buf[1024];
      for (uint32_t i = 0; i < kPer; ++i) {
        size_t n = make_msg(buf, t, i, len_for(i));
        ASSERT_TRUE(writer.push(buf, n, true));
      }
    });
  }
  std::vector<uint32_t> next(kThreads, 0);
  uint64_t total = 0;
  uint8_t out[1024];
  while (total < uint64_t{kThreads} * kPer) {
    size_t n = reader.pop(out, sizeof out);
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    Msg m{};
    ASSERT_TRUE(verify(out, n, m)) << "torn record after " << total;
    ASSERT_LT(m.producer, kThreads);
    ASSERT_EQ(m.seq, next[m.producer]) << "producer " << m.producer;  // per-thread order
    ++next[m.producer];
    ++total;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(reader.pop(out, sizeof out), 0u);
  EXPECT_EQ(reader.stats().dropped, 0u);
  EXPECT_EQ(reader.stats().pushed, uint64_t{kThreads} * kPer);
}

TEST(EventRing, ForkedProducerProcess) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 16384);
  constexpr uint32_t kN = 30000;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 0;
    try {
      auto w = EventRing::attach(p.path);
      uint8_t buf[1024];
      for (uint32_t i = 0; i < kN; ++i)
        if (!w.push(buf, make_msg(buf, 9, i, len_for(i)), true)) rc = 3;
      w.mark_closed();
    } catch (...) {
      rc = 2;
    }
    ::_exit(rc);
  }
  uint32_t got = 0;
  uint8_t out[1024];
  for (;;) {
    size_t n = reader.pop(out, sizeof out);
    if (n == 0) {
      if (reader.closed() && reader.pending() == 0) break;
      std::this_thread::yield();
      continue;
    }
    Msg m{};
    ASSERT_TRUE(verify(out, n, m));
    ASSERT_EQ(m.seq, got);
    ++got;
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(got, kN);
  EXPECT_TRUE(reader.closed());
}

// The producer is SIGKILLed while it writes: everything it published is drained
// whole, nothing torn is delivered, and at most the record in flight is lost.
TEST(EventRing, ProducerKilledMidWrite) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 8192);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = EventRing::attach(p.path);
    uint8_t buf[4000];
    for (uint32_t i = 0;; ++i) w.push(buf, make_msg(buf, 5, i, 16 + (i * 997) % 3900), true);
  }
  uint32_t got = 0;
  uint8_t out[4096];
  auto check = [&](size_t n) {
    Msg m{};
    ASSERT_TRUE(verify(out, n, m));
    ASSERT_EQ(m.seq, got);
    ++got;
  };
  while (got < 5000) {
    size_t n = reader.pop(out, sizeof out);
    if (n) check(n);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  for (size_t n; (n = reader.pop(out, sizeof out)) != 0;) check(n);
  EXPECT_FALSE(reader.closed());  // a crash, not a clean close
  auto s = reader.stats();
  // pushed is counted just before reserving: at most the record in flight was
  // counted and never published (the summary reports it lost).
  EXPECT_LE(got, s.pushed);
  EXPECT_GE(got + 1, s.pushed);
  EXPECT_EQ(s.dropped, 0u);
}

TEST(EventRing, BlockedWriterGivesUpWhenReaderGone) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[1000] = {};
  while (writer.push(buf, sizeof buf, false)) {
  }
  std::atomic<int> result{-1};
  std::thread t([&] { result = writer.push(buf, sizeof buf, true) ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(result.load(), -1);  // still waiting for room
  reader.mark_reader_gone();
  t.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_FALSE(writer.reader_alive());
}

TEST(EventRing, BlockedWriterWaitsForReader) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[1000] = {};
  int n = 0;
  while (writer.push(buf, sizeof buf, false)) ++n;
  std::thread t([&] { EXPECT_TRUE(writer.push(buf, sizeof buf, true)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  uint8_t out[1024];
  EXPECT_EQ(reader.pop(out, sizeof out), 1000u);
  t.join();
  int popped = 0;
  while (reader.pop(out, sizeof out)) ++popped;
  EXPECT_EQ(popped, n);
}

TEST(EventRing, CountersAndClosedFlag) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  EXPECT_FALSE(reader.closed());
  writer.set_counter(vmitrace::ipc::Counter::syscalls, 1234);
  writer.set_counter(vmitrace::ipc::Counter::read_failures, 7);
  writer.mark_closed();
  EXPECT_TRUE(reader.closed());
  EXPECT_EQ(reader.counter(vmitrace::ipc::Counter::syscalls), 1234u);
  EXPECT_EQ(reader.counter(vmitrace::ipc::Counter::read_failures), 7u);
}

TEST(EventRing, AttachMissingFileNamesPath) {
  std::string path = "/dev/shm/vmitrace-test-no-such-ring";
  try {
    EventRing::attach(path);
    FAIL() << "attach succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(EventRing, AttachDirectoryOrSmallFileFails) {
  EXPECT_THROW(EventRing::attach("/dev/shm"), Error);
  TempRingPath p;
  int fd = ::open(p.path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "hello", 5), 5);
  ::close(fd);
  try {
    EventRing::attach(p.path);
    FAIL() << "attach succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p.path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos) << e.what();
  }
}

TEST(EventRing, AttachDetectsCorruptHeader) {
  {
    TempRingPath p;
    auto reader = EventRing::create(p.path, 4096);
    uint64_t bad = 0x1234;
    poke(p.path, 0, &bad, 8);  // magic
    EXPECT_THROW(EventRing::attach(p.path), Error);
  }
  {
    TempRingPath p;
    auto reader = EventRing::create(p.path, 4096);
    uint64_t cap = 1ull << 20;  // capacity no longer matches the file size
    poke(p.path, 16, &cap, 8);
    try {
      EventRing::attach(p.path);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos) << e.what();
    }
  }
  {
    TempRingPath p;
    auto reader = EventRing::create(p.path, 4096);
    uint64_t cap = 4097;  // not a multiple of 8
    poke(p.path, 16, &cap, 8);
    EXPECT_THROW(EventRing::attach(p.path), Error);
  }
  {
    TempRingPath p;
    auto reader = EventRing::create(p.path, 4096);
    ASSERT_EQ(::truncate(p.path.c_str(), 4096 + 2048), 0);  // file shorter than header + data
    EXPECT_THROW(EventRing::attach(p.path), Error);
  }
}

TEST(EventRing, ReaderRejectsCorruptRecord) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[64] = {};
  ASSERT_TRUE(writer.push(buf, sizeof buf, false));
  uint32_t huge = 0x7fffffff;  // length field of the first record, check word untouched
  poke(p.path, EventRing::kHeaderSize, &huge, 4);
  uint8_t out[128];
  try {
    reader.pop(out, sizeof out);
    FAIL() << "corrupt record accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p.path), std::string::npos);
  }
}

TEST(EventRing, ReaderRejectsHostileLengthWithValidCheckWord) {
  TempRingPath p;
  auto reader = EventRing::create(p.path, 4096);
  auto writer = EventRing::attach(p.path);
  uint8_t buf[64] = {};
  ASSERT_TRUE(writer.push(buf, sizeof buf, false));
  // A producer that knows the format claims a record longer than what it published.
  uint32_t hdr[2] = {3000, 3000u ^ 0x5a17c0deu};
  poke(p.path, EventRing::kHeaderSize, hdr, 8);
  uint8_t out[4096];
  EXPECT_THROW(reader.pop(out, sizeof out), Error);
}

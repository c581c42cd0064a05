// Exact accounting of the writer side: a synthetic producer pushes records into a
// tiny ring with the drop policy while the writer loop drains it into a file; the
// lines written plus every drop the summary reports must equal the records
// produced, and EventUIDs must be 0, 1, 2, ... across what was written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "app/event_writer.hpp"
#include "event/record.hpp"
#include "ipc/ring.hpp"

namespace vmitrace::app {
namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const char* stem) {
    static std::atomic<int> n{0};
    path = std::string(stem) + std::to_string(::getpid()) + "-" + std::to_string(n++);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

// A syscall record of about 300 bytes (a string blob), sequence number in args[0].
std::vector<uint8_t> make_record(uint64_t seq) {
  std::vector<uint8_t> buf(event::kMaxRecord);
  event::Builder b(buf.data(), buf.size());
  event::Record& r = b.rec();
  r.kind = event::Kind::syscall;
  r.abi = event::Abi::linux_x64;
  r.nr = 2;  // open
  r.nargs = 3;
  r.pid = 7;
  r.tid = 7;
  r.args[0] = seq;
  std::string path(256, 'p');
  b.add_blob(0, path.data(), path.size(), event::Capture::ok);
  buf.resize(b.finish());
  return buf;
}

// EventUIDs of the JSON lines of path, in order.
std::vector<uint64_t> event_uids(const std::string& path) {
  std::ifstream f(path);
  std::vector<uint64_t> uids;
  for (std::string line; std::getline(f, line);) {
    auto at = line.find("\"EventUID\":\"0x");
    EXPECT_NE(at, std::string::npos) << line;
    if (at == std::string::npos) break;
    uids.push_back(std::stoull(line.substr(at + 14), nullptr, 16));
  }
  return uids;
}

struct RunResult {
  EventCounts counts;
  std::string summary;
  uint64_t produced = 0;
};

// Drives one run: `before` records pushed before the writer starts (the ring fills
// up and the rest of them are dropped, deterministically), then `during` pushed while
// it runs, all with the drop policy. The producer side's totals are published in
// the header as the plugin does, then the summary is captured.
RunResult drive(ipc::EventRing& ring, const std::string& out_path, uint64_t before, uint64_t during,
        uint64_t max_events, bool block_during = false) {
  RunResult res;
  uint64_t seq = 0;
  for (; seq < before; ++seq) {
    auto rec = make_record(seq);
    ring.push(rec.data(), rec.size(), /*block=*/false);
  }
  OutputFile out(out_path);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    output::FormatOptions fo;
    writer_loop(ring, out, fo, done, res.counts, [] {}, max_events, [] {});
  });
  for (; seq < before + during; ++seq) {
    auto rec = make_record(seq);
    ring.push(rec.data(), rec.size(), block_during);
  }
  done.store(true, std::memory_order_release);
  writer.join();
  out.close_file();
  res.produced = seq;
  ring.set_counter(ipc::Counter::syscalls, seq);
  ring.mark_closed();
  testing::internal::CaptureStderr();
  print_summary(res.counts, ring, 1.0, max_events);
  res.summary = testing::internal::GetCapturedStderr();
  return res;
}

TEST(Accounting, DropPolicyCountsAreExact) {
  TempFile ring_file("/dev/shm/vmitrace-acct-"), out_file("/tmp/vmitrace-acct-out-");
  auto ring = ipc::EventRing::create(ring_file.path, ipc::EventRing::kMinCapacity);
  // About 12 records fit into 4 KiB: of the first 200, at least 188 are dropped.
  RunResult r = drive(ring, out_file.path, 200, 20000, 0);
  const auto rs = ring.stats();
  EXPECT_GE(rs.dropped, 188u);
  EXPECT_EQ(rs.pushed + rs.dropped, r.produced);
  EXPECT_EQ(r.counts.events, rs.pushed);
  EXPECT_EQ(r.counts.written, rs.pushed);
  EXPECT_EQ(r.counts.malformed, 0u);
  const auto uids = event_uids(out_file.path);
  ASSERT_EQ(uids.size(), r.counts.written);
  for (size_t i = 0; i < uids.size(); ++i) ASSERT_EQ(uids[i], i) << "EventUIDs not contiguous";
  const std::string want = "accounting: " + std::to_string(r.produced) + " captured = " +
                           std::to_string(r.counts.written) + " written + " +
                           std::to_string(rs.dropped) + " dropped\n";
  EXPECT_NE(r.summary.find(want), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find(std::to_string(rs.dropped) + " ring full"), std::string::npos)
      << r.summary;
}

TEST(Accounting, MaxEventsAndDropsAddUp) {
  TempFile ring_file("/dev/shm/vmitrace-acct-"), out_file("/tmp/vmitrace-acct-out-");
  auto ring = ipc::EventRing::create(ring_file.path, ipc::EventRing::kMinCapacity);
  // Blocking while the writer runs: all 5000 reach it; 100 are written, the rest
  // are counted after the limit.
  RunResult r = drive(ring, out_file.path, 50, 5000, 100, /*block_during=*/true);
  const auto rs = ring.stats();
  EXPECT_EQ(r.counts.written, 100u);
  EXPECT_EQ(event_uids(out_file.path).size(), 100u);
  EXPECT_EQ(r.counts.written + r.counts.over_limit, rs.pushed);
  EXPECT_EQ(r.counts.written + r.counts.over_limit + rs.dropped, r.produced);
  EXPECT_GE(r.counts.over_limit, 5000u - 100u);
  EXPECT_NE(r.summary.find(std::to_string(r.counts.over_limit) + " after --max-events"),
            std::string::npos) << r.summary;
  EXPECT_EQ(r.summary.find("MISMATCH"), std::string::npos) << r.summary;
}

TEST(Accounting, OutputFailureCountsUnwritten) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  TempFile ring_file("/dev/shm/vmitrace-acct-");
  auto ring = ipc::EventRing::create(ring_file.path, size_t{1} << 20);
  RunResult r = drive(ring, "/dev/full", 1000, 0, 0);  // everything fits: no ring drops
  EXPECT_EQ(ring.stats().dropped, 0u);
  EXPECT_EQ(r.counts.written, 0u);
  EXPECT_EQ(r.counts.unwritten_lines, 1000u);
  EXPECT_NE(r.summary.find("accounting: 1000 captured = 0 written + 1000 dropped\n"),
            std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("1000 output failed"), std::string::npos) << r.summary;
}

TEST(Accounting, RateLimitedProcessesAreListed) {
  TempFile ring_file("/dev/shm/vmitrace-acct-"), out_file("/tmp/vmitrace-acct-out-");
  auto ring = ipc::EventRing::create(ring_file.path, size_t{1} << 20);
  ipc::ProcessDrops p[2];
  p[0].pid = 91;
  std::memcpy(p[0].name, "flood\x01", 6);  // a hostile name is printed safely
  p[0].count = 40;
  p[1].pid = 1;
  std::memcpy(p[1].name, "init", 4);
  p[1].count = 2;
  ring.set_process_drops(p, 2);
  ring.set_counter(ipc::Counter::rate_limited, 45);
  RunResult r = drive(ring, out_file.path, 10, 0, 0);
  EXPECT_NE(r.summary.find("45 over --rate-limit"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("dropped by --rate-limit: flood?[91] 40, init[1] 2, 3 in other "
                           "processes"), std::string::npos) << r.summary;
  // captured = 10 syscalls emitted + 45 rate-limited = 10 written + 45 dropped
  EXPECT_NE(r.summary.find("accounting: 55 captured = 10 written + 45 dropped\n"),
            std::string::npos) << r.summary;
}

// QEMU killed: the producer never published its counts or closed the ring. The
// summary still has the accounting line, from the ring's own count of what was
// pushed and dropped.
TEST(Accounting, ProducerDiedIsCountedByTheRing) {
  TempFile ring_file("/dev/shm/vmitrace-acct-"), out_file("/tmp/vmitrace-acct-out-");
  auto ring = ipc::EventRing::create(ring_file.path, ipc::EventRing::kMinCapacity);
  auto producer = ipc::EventRing::attach(ring_file.path);  // as QEMU does
  uint64_t seq = 0;
  for (; seq < 100; ++seq) {  // fills the ring: most are dropped
    auto rec = make_record(seq);
    producer.push(rec.data(), rec.size(), /*block=*/false);
  }
  EventCounts counts;
  OutputFile out(out_file.path);
  std::atomic<bool> done{true};  // the producer is gone: drain and stop
  output::FormatOptions fo;
  writer_loop(ring, out, fo, done, counts, [] {}, 0, [] {});
  out.close_file();
  const auto rs = ring.stats();
  ASSERT_GT(rs.dropped, 0u);
  ASSERT_EQ(rs.pushed + rs.dropped, seq);
  testing::internal::CaptureStderr();
  print_summary(counts, ring, 1.0, 0);
  const std::string summary = testing::internal::GetCapturedStderr();
  const std::string want = "accounting: " + std::to_string(seq) + " captured = " +
                           std::to_string(counts.written) + " written + " +
                           std::to_string(rs.dropped) + " dropped (counted by the ring";
  EXPECT_NE(summary.find(want), std::string::npos) << summary;
  EXPECT_EQ(summary.find("MISMATCH"), std::string::npos) << summary;
  EXPECT_NE(summary.find("without closing the capture"), std::string::npos) << summary;
  EXPECT_EQ(event_uids(out_file.path).size(), rs.pushed);
}

}  // namespace
}  // namespace vmitrace::app

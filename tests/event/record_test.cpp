#include "event/record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace vmitrace::event;

namespace {

struct Seen {
  Extra tag;
  unsigned arg;
  Capture state;
  std::string bytes;
};

std::vector<Seen> extras_of(const Record& r) {
  std::vector<Seen> out;
  for_each_extra(r, [&](const ExtraView& e) {
    out.push_back({e.tag, e.arg, e.state, std::string(reinterpret_cast<const char*>(e.data), e.len)});
  });
  return out;
}

}  // namespace

TEST(Record, BlobsThenExtrasRoundTrip) {
  alignas(8) uint8_t buf[4096];
  Builder b(buf, sizeof buf);
  b.add_blob(1, "/etc/passwd", 11, Capture::ok);
  b.add_extra(Extra::fd_path, 0, "/dev/null", 9);
  b.add_extra(Extra::out_arg, 2, "abc", 3, Capture::truncated);
  const uint32_t size = b.finish();
  EXPECT_EQ(size % 8, 0u);
  const auto& r = *reinterpret_cast<const Record*>(buf);
  BlobView bv[kMaxArgs];
  ASSERT_TRUE(blobs(r, bv));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bv[1].data), bv[1].len), "/etc/passwd");
  auto ex = extras_of(r);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].tag, Extra::fd_path);
  EXPECT_EQ(ex[0].arg, 0u);
  EXPECT_EQ(ex[0].bytes, "/dev/null");
  EXPECT_EQ(ex[1].tag, Extra::out_arg);
  EXPECT_EQ(ex[1].arg, 2u);
  EXPECT_EQ(ex[1].state, Capture::truncated);
  EXPECT_EQ(ex[1].bytes, "abc");
}

TEST(Record, NoExtrasMeansNone) {
  alignas(8) uint8_t buf[1024];
  Builder b(buf, sizeof buf);
  b.add_blob(0, "x", 1, Capture::ok);
  b.finish();
  EXPECT_TRUE(extras_of(*reinterpret_cast<const Record*>(buf)).empty());
}

TEST(Record, ExtraTruncatedToCapacity) {
  alignas(8) uint8_t buf[sizeof(Record) + 24];
  Builder b(buf, sizeof buf);
  std::string big(100, 'z');
  EXPECT_EQ(b.add_extra(Extra::fd_path, 1, big.data(), big.size()), 16u);
  auto ex = extras_of(*reinterpret_cast<const Record*>(buf));
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].state, Capture::truncated);
  EXPECT_EQ(ex[0].bytes, std::string(16, 'z'));
  // No room left even for a header: nothing appended.
  EXPECT_EQ(b.add_extra(Extra::fd_path, 2, "a", 1), 0u);
  EXPECT_EQ(extras_of(*reinterpret_cast<const Record*>(buf)).size(), 1u);
}

TEST(Record, HostileExtraLengthStopsTheWalk) {
  alignas(8) uint8_t buf[2048];
  Builder b(buf, sizeof buf);
  b.add_extra(Extra::fd_path, 0, "/a", 2);
  b.add_extra(Extra::fd_path, 1, "/b", 2);
  b.finish();
  auto& r = *reinterpret_cast<Record*>(buf);
  // Second header claims more bytes than the record holds: only the first is seen.
  ExtraHeader h;
  const size_t second = sizeof(Record) + 16;
  std::memcpy(&h, buf + second, sizeof h);
  ASSERT_EQ(h.arg, 1u);
  h.len = 0xffff;
  std::memcpy(buf + second, &h, sizeof h);
  auto ex = extras_of(r);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].bytes, "/a");
  // Blob lengths past the end: no extras at all, and the walk says so.
  r.blob_len[3] = 0xffff;
  EXPECT_FALSE(for_each_extra(r, [](const ExtraView&) {}));
}

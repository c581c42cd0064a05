// Packet codec and the incremental parser.
#include <gtest/gtest.h>

#include <cstdio>

#include "backends/gdb/rsp.hpp"

using namespace vmitrace::gdb;
using E = PacketParser::Event;

namespace {
E feed_all(PacketParser& p, const std::string& s, size_t& used) { return p.feed(s.data(), s.size(), used); }
}  // namespace

TEST(Rsp, ChecksumAndEncode) {
  EXPECT_EQ(encode_packet("OK"), "$OK#9a");
  EXPECT_EQ(encode_packet("g"), "$g#67");
  EXPECT_EQ(encode_packet(""), "$#00");
  // $ # } * are escaped as } + (c ^ 0x20).
  EXPECT_EQ(encode_packet("a$b").substr(0, 6), "$a}\x04" "b#");
  std::string e = encode_packet("}");
  EXPECT_EQ(e.substr(0, 3), "$}]");
}

TEST(Rsp, DecodeEscapeAndRunLength) {
  std::string out;
  ASSERT_TRUE(decode_payload("a}\x04" "b", 100, out));
  EXPECT_EQ(out, "a$b");
  // "0* " = '0' then 32-29 = 3 more '0's.
  ASSERT_TRUE(decode_payload("0* ", 100, out));
  EXPECT_EQ(out, "0000");
  ASSERT_TRUE(decode_payload("xy*\"z", 100, out));  // '"' = 34 -> 5 more
  EXPECT_EQ(out, "xyyyyyyz");
  EXPECT_FALSE(decode_payload("*a", 100, out));     // no previous byte
  EXPECT_FALSE(decode_payload("ab}", 100, out));    // dangling escape
  EXPECT_FALSE(decode_payload("a*", 100, out));     // dangling run
  EXPECT_FALSE(decode_payload("a*~", 50, out));     // run exceeds the bound
  EXPECT_FALSE(decode_payload("a*\x10", 50, out));  // negative count
}

TEST(Rsp, Hex) {
  std::string out;
  EXPECT_EQ(to_hex("\x01\xab", 2), "01ab");
  ASSERT_TRUE(from_hex("01AbfF", out));
  EXPECT_EQ(out, std::string("\x01\xab\xff", 3));
  EXPECT_FALSE(from_hex("0", out));
  EXPECT_FALSE(from_hex("zz", out));
  uint64_t v = 0;
  ASSERT_TRUE(parse_hex_u64("ffffffff81000000", v));
  EXPECT_EQ(v, 0xffffffff81000000ull);
  EXPECT_FALSE(parse_hex_u64("", v));
  EXPECT_FALSE(parse_hex_u64("11111111111111111", v));
  EXPECT_FALSE(parse_hex_u64("12g", v));
}

TEST(Rsp, ParserEventsAndGarbage) {
  PacketParser p(64);
  std::string s = "xx+-$OK#9a%Stop:T05#" + std::string("00") + "$OK#00";
  size_t used = 0;
  EXPECT_EQ(feed_all(p, s, used), E::ack);
  EXPECT_EQ(feed_all(p, s, used), E::nack);
  EXPECT_EQ(feed_all(p, s, used), E::packet);
  EXPECT_EQ(p.payload(), "OK");
  EXPECT_EQ(feed_all(p, s, used), E::bad_checksum);  // %Stop:T05#00 has a wrong sum
  EXPECT_EQ(feed_all(p, s, used), E::bad_checksum);
  EXPECT_EQ(feed_all(p, s, used), E::none);
  EXPECT_EQ(p.garbage_bytes(), 2u);
}

TEST(Rsp, ParserByteByByte) {
  PacketParser p(64);
  std::string s = encode_packet("T05thread:01;");
  E last = E::none;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t used = 0;
    last = p.feed(s.data() + i, 1, used);
    EXPECT_EQ(used, 1u);
    if (i + 1 < s.size()) {
      EXPECT_EQ(last, E::none);
    }
  }
  EXPECT_EQ(last, E::packet);
  EXPECT_EQ(p.payload(), "T05thread:01;");
}

TEST(Rsp, ParserOversizedThenResync) {
  PacketParser p(8);
  std::string s = "$" + std::string(100, 'a') + "#00" + encode_packet("OK");
  size_t used = 0;
  EXPECT_EQ(feed_all(p, s, used), E::oversized);
  EXPECT_EQ(feed_all(p, s, used), E::packet);
  EXPECT_EQ(p.payload(), "OK");
}

TEST(Rsp, ParserRunLengthBombBounded) {
  PacketParser p(16);
  // Each "a*~" expands to 98 bytes: over the bound -> bad_encoding, not a huge string.
  std::string raw = "a*~a*~";
  char cs[3];
  snprintf(cs, sizeof cs, "%02x", rsp_checksum(raw));
  std::string s = "$" + raw + "#" + cs;
  size_t used = 0;
  EXPECT_EQ(feed_all(p, s, used), E::bad_encoding);
}

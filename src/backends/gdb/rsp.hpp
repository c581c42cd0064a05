// GDB remote serial protocol (RSP): packet framing and the byte-stream parser.
// A packet is `$payload#cs`, cs = two hex digits, the sum of the payload bytes mod
// 256. In the payload '}' escapes the next byte (xor 0x20) and `X*n` repeats X
// (n - 29) more times (run-length encoding, replies only). The stub's bytes are not
// trusted: every packet is bounded, garbage between packets is skipped and counted.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmitrace::gdb {

uint8_t rsp_checksum(std::string_view raw);
// `$` + escaped payload + `#` + checksum. Escapes $ # } * (binary-safe).
std::string encode_packet(std::string_view payload);
// Undoes escaping and run-length encoding of a raw payload. false when the result
// would exceed max_out, a '}' or '*' has no operand, or a run has no previous byte.
bool decode_payload(std::string_view raw, size_t max_out, std::string& out);
// Hex helpers for packet contents.
std::string to_hex(const void* data, size_t len);
// false on an odd length or a non-hex digit; out gets len/2 bytes.
bool from_hex(std::string_view hex, std::string& out);
bool parse_hex_u64(std::string_view hex, uint64_t& out);

// Incremental parser: feed bytes, get one event at a time.
class PacketParser {
 public:
  enum class Event { none, ack, nack, packet, notification, bad_checksum, oversized, bad_encoding };
  explicit PacketParser(size_t max_packet = 64 * 1024) : max_(max_packet) {}
  // Consumes bytes from data (advancing `used`) until one event is complete.
  // For packet/notification, payload() holds the decoded payload.
  Event feed(const char* data, size_t len, size_t& used);
  const std::string& payload() const { return payload_; }
  uint64_t garbage_bytes() const { return garbage_; }
  void reset() { state_ = State::idle; raw_.clear(); }

 private:
  enum class State { idle, body, cs1, cs2, skip_to_hash, skip_cs1, skip_cs2 };
  size_t max_;
  State state_ = State::idle;
  bool notification_ = false;
  std::string raw_, payload_;
  char cs_hi_ = 0;
  uint64_t garbage_ = 0;
};

}  // namespace vmitrace::gdb

#include "backends/gdb/rsp.hpp"

namespace vmitrace::gdb {

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
const char kHex[] = "0123456789abcdef";
}  // namespace

uint8_t rsp_checksum(std::string_view raw) {
  unsigned s = 0;
  for (unsigned char c : raw) s += c;
  return static_cast<uint8_t>(s);
}

std::string encode_packet(std::string_view payload) {
  std::string raw;
  raw.reserve(payload.size() + 8);
  for (char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      raw += '}';
      raw += static_cast<char>(c ^ 0x20);
    } else {
      raw += c;
    }
  }
  uint8_t cs = rsp_checksum(raw);
  std::string out;
  out.reserve(raw.size() + 4);
  out += '$';
  out += raw;
  out += '#';
  out += kHex[cs >> 4];
  out += kHex[cs & 15];
  return out;
}

bool decode_payload(std::string_view raw, size_t max_out, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '}') {
      if (++i == raw.size()) return false;
      c = static_cast<char>(raw[i] ^ 0x20);
    } else if (c == '*') {
      if (++i == raw.size() || out.empty()) return false;
      int n = static_cast<unsigned char>(raw[i]) - 29;
      if (n < 0) return false;
      if (out.size() + static_cast<size_t>(n) > max_out) return false;
      out.append(static_cast<size_t>(n), out.back());
      continue;
    }
    if (out.size() + 1 > max_out) return false;
    out += c;
  }
  return true;
}

std::string to_hex(const void* data, size_t len) {
  std::string s(len * 2, '0');
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 15];
  }
  return s;
}

bool from_hex(std::string_view hex, std::string& out) {
  out.clear();
  if (hex.size() % 2) return false;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

bool parse_hex_u64(std::string_view hex, uint64_t& out) {
  if (hex.empty() || hex.size() > 16) return false;
  uint64_t v = 0;
  for (char c : hex) {
    int d = hexval(c);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

PacketParser::Event PacketParser::feed(const char* data, size_t len, size_t& used) {
  while (used < len) {
    char c = data[used++];
    switch (state_) {
      case State::idle:
        if (c == '+') return Event::ack;
        if (c == '-') return Event::nack;
        if (c == '$' || c == '%') {
          notification_ = c == '%';
          raw_.clear();
          state_ = State::body;
        } else {
          ++garbage_;
        }
        break;
      case State::body:
        if (c == '#') {
          state_ = State::cs1;
        } else if (raw_.size() >= max_) {
          // Too long: drop it through its checksum, then report once.
          raw_.clear();
          state_ = State::skip_to_hash;
        } else {
          raw_ += c;
        }
        break;
      case State::cs1:
        cs_hi_ = c;
        state_ = State::cs2;
        break;
      case State::cs2: {
        state_ = State::idle;
        int hi = hexval(cs_hi_), lo = hexval(c);
        if (hi < 0 || lo < 0 || rsp_checksum(raw_) != (hi << 4 | lo)) return Event::bad_checksum;
        if (!decode_payload(raw_, max_, payload_)) return Event::bad_encoding;
        return notification_ ? Event::notification : Event::packet;
      }
      case State::skip_to_hash:
        if (c == '#') state_ = State::skip_cs1;
        break;
      case State::skip_cs1:
        state_ = State::skip_cs2;
        break;
      case State::skip_cs2:
        state_ = State::idle;
        return Event::oversized;
    }
  }
  return Event::none;
}

}  // namespace vmitrace::gdb

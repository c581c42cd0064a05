// A GDB remote protocol client over a connected stream socket (unix or TCP).
// Every read has a deadline: a stub that stops answering gives GdbTimeout, never a
// hang. Malformed or oversized replies give GdbError. Not thread-safe: one owner.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "backends/gdb/rsp.hpp"
#include "common/error.hpp"

namespace vmitrace::gdb {

struct GdbError : Error {
  using Error::Error;
};
struct GdbTimeout : GdbError {
  using GdbError::GdbError;
};

// "unix:PATH" or "tcp:HOST:PORT" -> a connected socket (CLOEXEC). Throws Error.
int connect_endpoint(const std::string& spec, int timeout_ms = 5000);

struct ClientOptions {
  int timeout_ms = 5000;          // per request / per ack
  size_t max_packet = 256 * 1024; // raw and decoded payload bound
  int max_retries = 3;            // resends after '-' or a bad checksum
  std::string name = "gdbstub";   // for messages
};

class Client {
 public:
  // Takes ownership of fd.
  Client(int fd, ClientOptions opt = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends payload and returns the reply's payload (notifications are skipped).
  std::string request(std::string_view payload);
  // Sends payload (waits for its ack in ack mode) without waiting for a reply.
  void send(std::string_view payload);
  // Waits up to timeout_ms for one packet; false on timeout. Throws on a closed
  // connection or a malformed stream.
  bool wait_packet(std::string& out, int timeout_ms);
  // Ctrl-C: asks the stub to stop the target (it answers with a stop reply).
  void interrupt();
  // Writes payload's packet without waiting for an ack or a reply: for a stub that
  // stopped answering, which handles it once it runs again. Throws on a write error.
  void send_blind(std::string_view payload);
  // The stub's process id when connected over a unix socket (SO_PEERCRED), else -1.
  int peer_pid() const;
  // QStartNoAckMode; returns true when the stub accepted it.
  bool start_no_ack();
  bool no_ack() const { return no_ack_; }
  const std::string& name() const { return opt_.name; }
  uint64_t garbage_bytes() const { return parser_.garbage_bytes(); }
  int timeout_ms() const { return opt_.timeout_ms; }
  int fd() const { return fd_; }

 private:
  void write_all(std::string_view bytes);
  // Reads more bytes into rbuf_ until deadline; false on timeout.
  bool fill(int64_t deadline_ms);
  // Next parser event until deadline (none = timeout).
  PacketParser::Event next_event(int64_t deadline_ms);
  void send_with_ack(const std::string& frame);

  int fd_;
  ClientOptions opt_;
  PacketParser parser_;
  std::string rbuf_;
  size_t rpos_ = 0;
  bool no_ack_ = false;
  std::deque<std::string> early_;  // packets that arrived while waiting for an ack
};

}  // namespace vmitrace::gdb

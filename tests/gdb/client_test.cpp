// The client against a scripted fake stub: a socketpair, with a thread playing the
// stub from a script of (expect-bytes, send-bytes) steps.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "backends/gdb/client.hpp"

using namespace vmitrace::gdb;

namespace {

// One step: read until `expect` has been seen (empty: read nothing), then write `reply`.
struct Step {
  std::string expect;
  std::string reply;
};

class FakeStub {
 public:
  explicit FakeStub(std::vector<Step> script) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_fd_ = sv[0];
    fd_ = sv[1];
    th_ = std::thread([this, s = std::move(script)] { play(s); });
  }
  ~FakeStub() {
    th_.join();
    ::close(fd_);
  }
  int take_client_fd() { return client_fd_; }

 private:
  void play(const std::vector<Step>& s) {
    for (const auto& st : s) {
      while (seen_.find(st.expect, pos_) == std::string::npos) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 3000) <= 0) return;
        char buf[4096];
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return;
        seen_.append(buf, static_cast<size_t>(n));
      }
      pos_ = seen_.find(st.expect, pos_) + st.expect.size();
      if (!st.reply.empty()) (void)!::send(fd_, st.reply.data(), st.reply.size(), MSG_NOSIGNAL);
    }
    // Keep draining briefly so the client's trailing acks land in seen_.
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      seen_.append(buf, static_cast<size_t>(n));
    }
  }
  int fd_ = -1, client_fd_ = -1;
  std::string seen_;
  size_t pos_ = 0;
  std::thread th_;
};

// A frame with the raw (already escaped / run-length encoded) payload as given.
std::string raw_frame(const std::string& raw) {
  char cs[3];
  snprintf(cs, sizeof cs, "%02x", rsp_checksum(raw));
  return "$" + raw + "#" + cs;
}

ClientOptions fast() {
  ClientOptions o;
  o.timeout_ms = 300;
  o.max_packet = 1024;
  return o;
}

}  // namespace

TEST(GdbClient, RequestWithAcks) {
  std::vector<Step> script{{encode_packet("g"), "+" + raw_frame("0011*!")}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  EXPECT_EQ(c.request("g"), "00111111");
}

TEST(GdbClient, NackThenResend) {
  // The stub rejects the first copy; the client sends it again.
  std::string f = encode_packet("qSupported");
  std::vector<Step> script{{f, "-"}, {f, "+" + encode_packet("PacketSize=1000")}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  EXPECT_EQ(c.request("qSupported"), "PacketSize=1000");
}

TEST(GdbClient, BadChecksumIsNackedThenAccepted) {
  std::vector<Step> script{{encode_packet("?"), "+$T05#00"}, {"-", encode_packet("T05")}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  EXPECT_EQ(c.request("?"), "T05");
}

TEST(GdbClient, NoAckModeThenPlainPackets) {
  std::vector<Step> script{
      {encode_packet("QStartNoAckMode"), "+" + encode_packet("OK")},
      {encode_packet("m1000,4"), encode_packet("deadbeef")},
  };
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  ASSERT_TRUE(c.start_no_ack());
  EXPECT_EQ(c.request("m1000,4"), "deadbeef");
}

TEST(GdbClient, BadChecksumInNoAckModeFails) {
  std::vector<Step> script{
      {encode_packet("QStartNoAckMode"), "+" + encode_packet("OK")},
      {encode_packet("g"), "$00#ff"},
  };
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  ASSERT_TRUE(c.start_no_ack());
  EXPECT_THROW(c.request("g"), GdbError);
}

TEST(GdbClient, SilenceTimesOut) {
  std::vector<Step> script{{encode_packet("g"), "+"}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(c.request("g"), GdbTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST(GdbClient, NoAckAtAllTimesOut) {
  std::vector<Step> script{{encode_packet("g"), ""}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  EXPECT_THROW(c.request("g"), GdbTimeout);
}

TEST(GdbClient, OversizedReplyRejected) {
  std::vector<Step> script{{encode_packet("g"), "+$" + std::string(5000, '0') + "#00"}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  try {
    c.request("g");
    FAIL() << "no error";
  } catch (const GdbError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
  }
}

TEST(GdbClient, GarbageSkippedAndCounted) {
  std::vector<Step> script{{encode_packet("?"), "+hello world" + encode_packet("S05")}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  EXPECT_EQ(c.request("?"), "S05");
  EXPECT_EQ(c.garbage_bytes(), 11u);
}

TEST(GdbClient, EndlessGarbageTimesOut) {
  // A peer that is not a gdbstub: bytes but never a packet.
  std::vector<Step> script{{encode_packet("?"), std::string(3000, 'z')}};
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  EXPECT_THROW(c.request("?"), GdbTimeout);
}

TEST(GdbClient, ClosedConnection) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ::close(sv[1]);
  Client c(sv[0], fast());
  EXPECT_THROW(c.request("?"), GdbError);
}

TEST(GdbClient, InterruptAndStopReply) {
  std::vector<Step> script{
      {encode_packet("c"), "+"},
      {std::string("\x03"), encode_packet("T02thread:p01.01;")},
  };
  FakeStub stub(script);
  Client c(stub.take_client_fd(), fast());
  c.send("c");
  std::string out;
  EXPECT_FALSE(c.wait_packet(out, 50));  // running: nothing yet
  c.interrupt();
  ASSERT_TRUE(c.wait_packet(out, 1000));
  EXPECT_EQ(out, "T02thread:p01.01;");
}

TEST(GdbEndpoint, BadSpecs) {
  EXPECT_THROW(connect_endpoint("serial:/dev/x"), vmitrace::Error);
  EXPECT_THROW(connect_endpoint("tcp:nohost"), vmitrace::Error);
  EXPECT_THROW(connect_endpoint("unix:/nonexistent/vmitrace.sock"), vmitrace::Error);
  EXPECT_THROW(connect_endpoint("tcp:127.0.0.1:1", 500), vmitrace::Error);
}

// A port outside 1..65535 (getaddrinfo would wrap 99999 to 34463) is named as such.
TEST(GdbEndpoint, PortOutOfRange) {
  for (std::string port : {"99999", "0", "65536", "gdb", "-1", "12a", "123456789012345678901234567890"}) {
    try {
      connect_endpoint("tcp:localhost:" + port, 500);
      ADD_FAILURE() << port << " accepted";
    } catch (const vmitrace::Error& e) {
      EXPECT_NE(std::string(e.what()).find("port out of range (expected 1..65535"), std::string::npos)
          << e.what();
    }
  }
}

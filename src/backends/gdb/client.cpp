#include "backends/gdb/client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmitrace::gdb {

namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Non-blocking connect bounded by timeout_ms; the socket stays blocking afterwards
// (reads are guarded by poll()).
bool connect_bounded(int fd, const sockaddr* sa, socklen_t len, int timeout_ms, int& err) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int rc = ::connect(fd, sa, len);
  if (rc != 0 && errno != EINPROGRESS) {
    err = errno;
    return false;
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, timeout_ms);
    if (rc <= 0) {
      err = rc == 0 ? ETIMEDOUT : errno;
      return false;
    }
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) return false;
  }
  fcntl(fd, F_SETFL, fl);
  return true;
}

}  // namespace

int connect_endpoint(const std::string& spec, int timeout_ms) {
  if (spec.rfind("unix:", 0) == 0) {
    std::string path = spec.substr(5);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof sa.sun_path)
      throw Error(spec, "unix socket path empty or too long");
    std::memcpy(sa.sun_path, path.data(), path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error(spec, std::strerror(errno));
    int err = 0;
    if (!connect_bounded(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa, timeout_ms, err)) {
      ::close(fd);
      throw Error(spec, std::string("cannot connect: ") + std::strerror(err));
    }
    return fd;
  }
  if (spec.rfind("tcp:", 0) == 0) {
    std::string hp = spec.substr(4);
    auto colon = hp.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == hp.size())
      throw Error(spec, "expected tcp:HOST:PORT");
    std::string host = hp.substr(0, colon), port = hp.substr(colon + 1);
    // A number from 1 to 65535 (getaddrinfo would take 99999 modulo 65536, or a service name).
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      throw Error(spec, "port out of range (expected 1..65535, got '" + excerpt(port) + "')");
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int g = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (g != 0) throw Error(spec, std::string("cannot resolve: ") + gai_strerror(g));
    int err = ECONNREFUSED;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      if (connect_bounded(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms, err)) {
        freeaddrinfo(res);
        int one = 1;  // small request/reply packets: no Nagle delay
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
      }
      ::close(fd);
    }
    freeaddrinfo(res);
    throw Error(spec, std::string("cannot connect: ") + std::strerror(err));
  }
  throw Error(spec, "expected unix:PATH or tcp:HOST:PORT");
}

Client::Client(int fd, ClientOptions opt) : fd_(fd), opt_(std::move(opt)), parser_(opt_.max_packet) {}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::write_all(std::string_view bytes) {
  size_t off = 0;
  int64_t deadline = now_ms() + opt_.timeout_ms;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int left = static_cast<int>(deadline - now_ms());
      if (left <= 0) throw GdbTimeout(opt_.name, "timed out writing to the stub");
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, left);
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET)
      throw GdbError(opt_.name, "connection closed by the stub (QEMU gone?)");
    throw GdbError(opt_.name, std::string("write failed: ") + std::strerror(errno));
  }
}

bool Client::fill(int64_t deadline_ms) {
  if (rpos_ == rbuf_.size()) {
    rbuf_.clear();
    rpos_ = 0;
  }
  for (;;) {
    int left = static_cast<int>(deadline_ms - now_ms());
    if (left < 0) left = 0;
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, left);
    if (rc < 0) {
      if (errno == EINTR) {
        if (left == 0) return false;
        continue;
      }
      throw GdbError(opt_.name, std::string("poll failed: ") + std::strerror(errno));
    }
    if (rc == 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw GdbError(opt_.name, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) throw GdbError(opt_.name, "connection closed by the stub (QEMU gone?)");
    rbuf_.append(buf, static_cast<size_t>(n));
    return true;
  }
}

PacketParser::Event Client::next_event(int64_t deadline_ms) {
  for (;;) {
    if (rpos_ < rbuf_.size()) {
      auto ev = parser_.feed(rbuf_.data(), rbuf_.size(), rpos_);
      if (ev != PacketParser::Event::none) return ev;
    }
    if (!fill(deadline_ms)) return PacketParser::Event::none;
  }
}

void Client::send_with_ack(const std::string& frame) {
  write_all(frame);
  if (no_ack_) return;
  int64_t deadline = now_ms() + opt_.timeout_ms;
  for (int tries = 0;;) {
    using E = PacketParser::Event;
    E ev = next_event(deadline);
    switch (ev) {
      case E::none: throw GdbTimeout(opt_.name, "no acknowledgement from the stub (timeout)");
      case E::ack: return;
      case E::nack:
        if (++tries > opt_.max_retries)
          throw GdbError(opt_.name, "the stub rejected a packet " + std::to_string(tries) + " times");
        write_all(frame);
        break;
      case E::packet:
        write_all("+");
        early_.push_back(parser_.payload());
        break;
      case E::notification: break;
      case E::bad_checksum:
      case E::bad_encoding: write_all("-"); break;
      case E::oversized:
        throw GdbError(opt_.name, "packet larger than " + std::to_string(opt_.max_packet) + " bytes");
    }
  }
}

void Client::send(std::string_view payload) { send_with_ack(encode_packet(payload)); }

bool Client::wait_packet(std::string& out, int timeout_ms) {
  if (!early_.empty()) {
    out = std::move(early_.front());
    early_.pop_front();
    return true;
  }
  int64_t deadline = now_ms() + timeout_ms;
  int bad = 0;
  for (;;) {
    using E = PacketParser::Event;
    E ev = next_event(deadline);
    switch (ev) {
      case E::none: return false;
      case E::ack:
      case E::nack:
      case E::notification: break;  // stray acks; no notifications are enabled
      case E::packet:
        if (!no_ack_) write_all("+");
        out = parser_.payload();
        return true;
      case E::bad_checksum:
      case E::bad_encoding:
        if (no_ack_ || ++bad > opt_.max_retries)
          throw GdbError(opt_.name, "malformed packet from the stub (bad checksum or encoding)");
        write_all("-");
        break;
      case E::oversized:
        throw GdbError(opt_.name, "packet larger than " + std::to_string(opt_.max_packet) + " bytes");
    }
  }
}

std::string Client::request(std::string_view payload) {
  send(payload);
  std::string out;
  if (!wait_packet(out, opt_.timeout_ms))
    throw GdbTimeout(opt_.name, "no reply to '" + std::string(payload.substr(0, 24)) + "' (timeout)");
  return out;
}

void Client::interrupt() { write_all(std::string_view("\x03", 1)); }

void Client::send_blind(std::string_view payload) { write_all(encode_packet(payload)); }

int Client::peer_pid() const {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred || cred.pid <= 0)
    return -1;
  return cred.pid;
}

bool Client::start_no_ack() {
  if (no_ack_) return true;
  std::string r = request("QStartNoAckMode");
  if (r == "OK") no_ack_ = true;
  return no_ack_;
}

}  // namespace vmitrace::gdb

#include "response_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fetchpipe::fuzz {
namespace {

// Bytes read from one connection before we answer anyway: a GET's head is far smaller.
constexpr std::size_t kMaxRequestBytes = 64 * 1024;

int loopback_socket(bool listen_on_it, std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("ResponseServer: socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      (listen_on_it && ::listen(fd, 64) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("ResponseServer: cannot bind/listen on 127.0.0.1");
  }
  *port = ntohs(address.sin_port);
  return fd;
}

struct Connection {
  int fd = -1;
  std::string received{};
  std::size_t sent = 0;
  bool answering = false;  // the request arrived; writing the response
  bool write_shut = false; // the whole response was written and our side shut down
};

// The client has said enough to expect an answer: a full request head, a TLS ClientHello (it
// waits for our handshake bytes), or more than any GET needs.
bool ready_to_answer(const std::string& received) {
  return received.find("\r\n\r\n") != std::string::npos || (!received.empty() && received[0] == '\x16') ||
         received.size() >= kMaxRequestBytes;
}

// Reads what is there; false when the peer closed or failed.
bool drain(Connection& c) {
  char buffer[4096];
  for (;;) {
    const auto n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      if (c.received.size() < kMaxRequestBytes) c.received.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

// Writes what the socket takes; false when the peer went away.
bool push(Connection& c, std::string_view response) {
  while (c.sent < response.size()) {
    const auto n = ::send(c.fd, response.data() + c.sent, response.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  ::shutdown(c.fd, SHUT_WR);
  c.write_shut = true;
  return true;
}

}  // namespace

ResponseServer::ResponseServer() {
  listener_ = loopback_socket(true, &port_);
  refused_ = loopback_socket(false, &refused_port_);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("ResponseServer: eventfd() failed");
}

ResponseServer::~ResponseServer() {
  ::close(listener_);
  ::close(refused_);
  ::close(wake_fd_);
}

void ResponseServer::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

bool ResponseServer::serve(std::string_view response, std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + limit;
  std::vector<Connection> connections;
  bool woken = false;
  while (!woken) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}, {listener_, POLLIN, 0}};
    for (const auto& c : connections) {
      const short events = static_cast<short>(POLLIN | (c.answering && !c.write_shut ? POLLOUT : 0));
      fds.push_back({c.fd, events, 0});
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) woken = true;
    if (fds[1].revents & POLLIN) {
      for (int fd; (fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
        connections.push_back({.fd = fd});
      }
    }
    for (std::size_t i = 0; i < connections.size();) {
      auto& c = connections[i];
      bool alive = drain(c);
      if (alive && !c.answering && ready_to_answer(c.received)) c.answering = true;
      if (alive && c.answering && !c.write_shut) alive = push(c, response);
      if (alive) {
        ++i;
        continue;
      }
      ::close(c.fd);
      connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (const auto& c : connections) ::close(c.fd);
  // Connections the client opened and gave up on before we accepted them: never serve them to the
  // next iteration.
  for (int fd; (fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) ::close(fd);
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof count);
  return woken;
}

}  // namespace fetchpipe::fuzz

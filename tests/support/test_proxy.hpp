// Test support: a tiny forward proxy on 127.0.0.1 that counts what passes through it.
//
// Plain requests in absolute form ("GET http://127.0.0.1:P/x HTTP/1.1") are forwarded in origin
// form with "Connection: close"; CONNECT opens a tunnel (for https:// targets). It connects only
// to 127.0.0.x, whatever the request names. One thread per connection; every wait is a bounded
// poll, and the destructor stops and joins everything.
//
//   TestProxy proxy;
//   run({"get", "-x", proxy.url(), server.url("/fixed")});
//   EXPECT_EQ(proxy.forwarded(), 1);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fetchpipe::testing {

class TestProxy {
 public:
  TestProxy() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("TestProxy: cannot listen on 127.0.0.1");
    }
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~TestProxy() {
    stop_ = true;
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listen_fd_);
  }
  TestProxy(const TestProxy&) = delete;
  TestProxy& operator=(const TestProxy&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Requests forwarded in absolute form, and CONNECT tunnels opened.
  [[nodiscard]] int forwarded() const { return forwarded_; }
  [[nodiscard]] int tunnels() const { return tunnels_; }
  // The request targets seen (absolute URLs, or host:port for CONNECT), in order.
  [[nodiscard]] std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  static constexpr int kPollMs = 50;

  bool wait_readable(int fd) const {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int n = ::poll(&p, 1, kPollMs);
      if (n > 0) return true;
    }
    return false;
  }

  void accept_loop() {
    while (wait_readable(listen_fd_)) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      threads_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }

  static bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Connects to 127.0.0.x:port named by "host:port"; -1 for anything else.
  static int connect_local(const std::string& host_port) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) return -1;
    const std::string host = host_port.substr(0, colon);
    if (host.rfind("127.0.0.", 0) != 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return -1;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  // Copies bytes both ways until either side closes or the proxy stops.
  void relay(int a, int b) const {
    char buffer[16384];
    while (!stop_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, kPollMs) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::recv(p[i].fd, buffer, sizeof buffer, 0);
        if (n <= 0 || !send_all(p[1 - i].fd, std::string_view(buffer, static_cast<std::size_t>(n)))) return;
      }
    }
  }

  void serve(int client) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (head.size() > 65536 || !wait_readable(client)) return;
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      head.append(buffer, static_cast<std::size_t>(n));
    }
    const auto head_end = head.find("\r\n\r\n") + 4;
    const std::string rest = head.substr(head_end);
    head.resize(head_end);
    const auto line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) return;
    const std::string method = line.substr(0, sp1);
    const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(target);
    }
    if (method == "CONNECT") {
      const int upstream = connect_local(target);
      if (upstream < 0) {
        send_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      ++tunnels_;
      if (send_all(client, "HTTP/1.1 200 Connection established\r\n\r\n") && send_all(upstream, rest)) {
        relay(client, upstream);
      }
      ::close(upstream);
      return;
    }
    const std::string prefix = "http://";
    if (target.rfind(prefix, 0) != 0) {
      send_all(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    const auto path_start = target.find('/', prefix.size());
    const std::string authority = target.substr(prefix.size(), path_start - prefix.size());
    const std::string path = path_start == std::string::npos ? "/" : target.substr(path_start);
    const int upstream = connect_local(authority);
    if (upstream < 0) {
      send_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    ++forwarded_;
    // Origin form, and one request per connection (a second one would arrive in absolute form).
    std::string out = method + " " + path + line.substr(sp2) + "\r\n";
    std::size_t pos = line_end + 2;
    while (pos < head.size() - 2) {
      const auto end = head.find("\r\n", pos);
      const std::string field = head.substr(pos, end - pos);
      pos = end + 2;
      if (field.size() >= 11 && ::strncasecmp(field.c_str(), "connection:", 11) == 0) continue;
      if (field.size() >= 17 && ::strncasecmp(field.c_str(), "proxy-connection:", 17) == 0) continue;
      out += field + "\r\n";
    }
    out += "Connection: close\r\n\r\n" + rest;
    if (send_all(upstream, out)) relay(client, upstream);
    ::close(upstream);
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> forwarded_{0};
  std::atomic<int> tunnels_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace fetchpipe::testing

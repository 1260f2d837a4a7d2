// The plain-HTTP listener: one thread, one epoll set, non-blocking sockets. It exists because
// cpp-httplib spends a thread per connection, and a fault server must hold thousands of delayed or
// hanging requests at once and reset connections, which needs the socket itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "endpoints.hpp"

namespace fetchpipe::tools::detail {

class EventListener {
 public:
  // Binds and listens on host:port (0 = ephemeral); throws std::runtime_error on failure.
  EventListener(const std::string& host, std::uint16_t port, Counters& counters);
  ~EventListener();

  EventListener(const EventListener&) = delete;
  EventListener& operator=(const EventListener&) = delete;

  // Starts the loop thread; connections are accepted from the moment the constructor returned
  // (the kernel queues them), so no readiness handshake is needed.
  void start();
  // Ends the loop and closes every connection; idempotent, returns once the thread has exited.
  void stop();

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  struct Loop;
  std::unique_ptr<Loop> loop_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace fetchpipe::tools::detail

// Shared by the server-playing fuzz targets: a loopback peer that answers every connection with
// the same raw bytes (the fuzz input), then closes its sending side so the client sees EOF at once.
//
// It runs on the caller's thread (serve() returns when woken or at its time limit), so an
// iteration costs one connect and one write, never a timeout. It only ever listens on 127.0.0.1.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace fetchpipe::fuzz {

class ResponseServer {
 public:
  ResponseServer();  // throws std::runtime_error when the loopback sockets cannot be made
  ~ResponseServer();
  ResponseServer(const ResponseServer&) = delete;
  ResponseServer& operator=(const ResponseServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // A port on 127.0.0.1 that is bound but never listens: a connect there is refused at once.
  // Held for the server's life, so no other process can take it meanwhile.
  [[nodiscard]] std::uint16_t refused_port() const noexcept { return refused_port_; }

  // Answers every connection with `response` until wake() is called (from any thread) or
  // `limit` passes. Each connection: read what the client sends, write `response` once the
  // request head (or a TLS ClientHello) arrived, shut down the sending side, keep reading until the
  // client closes (so our close never turns into a reset that could drop unread response bytes).
  // Returns false when the limit passed before wake().
  bool serve(std::string_view response, std::chrono::milliseconds limit);
  void wake() noexcept;

 private:
  int listener_ = -1;
  int refused_ = -1;
  int wake_fd_ = -1;  // an eventfd
  std::uint16_t port_ = 0;
  std::uint16_t refused_port_ = 0;
};

}  // namespace fetchpipe::fuzz

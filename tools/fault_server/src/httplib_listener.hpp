// The TLS listener: cpp-httplib's SSLServer on a fixed thread pool, carrying out the same Plans
// as the plain listener. Kept behind this interface so no httplib type leaks into other files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "endpoints.hpp"

namespace fetchpipe::tools::detail {

struct HttplibListenerOptions {
  std::string host;
  std::uint16_t port = 0;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::size_t threads = 32;
  std::chrono::milliseconds start_timeout{5000};
};

class HttplibListener {
 public:
  // Loads the certificate, binds, starts the server thread and waits (bounded) until it runs.
  // Throws std::runtime_error naming what failed.
  HttplibListener(const HttplibListenerOptions& options, Counters& counters);
  ~HttplibListener();

  HttplibListener(const HttplibListener&) = delete;
  HttplibListener& operator=(const HttplibListener&) = delete;

  // Wakes every waiting handler, stops the server and joins it; idempotent.
  void stop();

  [[nodiscard]] std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fetchpipe::tools::detail

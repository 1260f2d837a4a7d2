// redis_server.hpp — a private redis-server for one test: a free loopback port, its own temporary
// directory, started and stopped by its pid (never the system service).
//
//   RedisServer redis;                                   // append-only file on, so data survives
//   auto conn = redis.connect();                         // a hiredis connection for checks
//   redis.restart();                                     // SIGTERM, wait, start again, same data
#pragma once

#include <fetchpipe/queue/redis_connection.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace fetchpipe::test {

struct RedisServerOptions {
  std::string password{};  // --requirepass when set
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts and waits (bounded) until it answers PING. Throws std::runtime_error on failure.
  void start();
  // SIGTERM (Redis writes its append-only file and exits), bounded wait, SIGKILL after.
  void stop();
  void restart() {
    stop();
    start();
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // redis://127.0.0.1:PORT (with the password when there is one)
  [[nodiscard]] std::string url() const;
  [[nodiscard]] queue::RedisConnection connect() const;
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

 private:
  RedisServerOptions options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A loopback port nothing listens on right now.
[[nodiscard]] std::uint16_t free_loopback_port();

// Every entry of a stream: id and fields.
struct StreamEntry {
  std::string id;
  std::map<std::string, std::string> fields;
};
[[nodiscard]] std::vector<StreamEntry> read_stream(queue::RedisConnection& conn, const std::string& key);
[[nodiscard]] long long integer_command(queue::RedisConnection& conn, const std::vector<std::string>& args);

}  // namespace fetchpipe::test

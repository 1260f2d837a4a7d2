// redis_connection.hpp — one synchronous hiredis connection: connect with timeouts, AUTH, SELECT,
// binary-safe commands, pipelining, and errors sorted by what the caller should do about them.
//
//   auto conn = RedisConnection::open(endpoint, {});      // throws RedisUnavailable / RedisRefused
//   auto reply = conn.command({"XADD", "jobs", "*", "job", line});
//
// Not thread-safe: one thread owns a connection (hiredis contexts are not shareable). Every
// read and write is bounded by the command timeout (SO_RCVTIMEO/SO_SNDTIMEO), so a server that
// vanishes without a FIN costs at most that long, never a hang.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fetchpipe/queue/redis_url.hpp"

namespace fetchpipe::queue {

// The connection is gone or never came up (refused, reset, timed out, server loading its data):
// connecting again later may work.
class RedisUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server answered but will not serve us as configured (wrong password, no such database):
// connecting again will not help.
class RedisRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A command the caller relies on answered with an error (a script bug, a wrong key type).
class RedisReplyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reading replies without repeating the type checks: each throws RedisReplyError naming `what`
// when the reply has another shape.
[[nodiscard]] bool is_error(const redisReply* r) noexcept;
[[nodiscard]] bool is_nil(const redisReply* r) noexcept;
[[nodiscard]] std::string_view text_of(const redisReply* r, std::string_view what);
[[nodiscard]] long long integer_of(const redisReply* r, std::string_view what);
[[nodiscard]] std::size_t size_of(const redisReply* r, std::string_view what);  // array length
[[nodiscard]] const redisReply* element(const redisReply* r, std::size_t i, std::string_view what);

struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Bound on every read and write. A blocking command (XREADGROUP BLOCK) needs its block time
  // on top: see RedisConnection::set_timeout.
  std::chrono::milliseconds command_timeout{10000};
};

class RedisConnection {
 public:
  using Args = std::vector<std::string_view>;

  // Connects, authenticates, selects the database and pings. Throws RedisUnavailable or
  // RedisRefused with a message naming the endpoint (never the password).
  static RedisConnection open(const RedisEndpoint& endpoint, const ConnectOptions& options);

  RedisConnection(RedisConnection&& other) noexcept;
  RedisConnection& operator=(RedisConnection&& other) noexcept;
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // Sends one command and returns its reply, which may be an error reply (is_error). Throws
  // RedisUnavailable when the connection failed; the connection is then unusable.
  Reply command(const Args& args);
  // Pipelining: queue several commands, then read their replies in order.
  void append(const Args& args);
  Reply read_reply();

  void set_timeout(std::chrono::milliseconds timeout);
  [[nodiscard]] std::chrono::milliseconds default_timeout() const noexcept { return options_.command_timeout; }
  [[nodiscard]] const RedisEndpoint& endpoint() const noexcept { return endpoint_; }
  // Commands sent on this connection so far (for the benchmark's commands-per-job figure).
  [[nodiscard]] std::uint64_t commands_sent() const noexcept { return commands_sent_; }

 private:
  RedisConnection(redisContext* context, RedisEndpoint endpoint, ConnectOptions options);
  [[noreturn]] void lost(std::string_view during);

  redisContext* context_ = nullptr;
  RedisEndpoint endpoint_;
  ConnectOptions options_;
  std::uint64_t commands_sent_ = 0;
};

}  // namespace fetchpipe::queue

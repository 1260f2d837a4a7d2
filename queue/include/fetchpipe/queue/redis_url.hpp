// redis_url.hpp — `redis://[:password@]host[:port][/db]` parsed into where and how to connect.
//
//   auto parsed = parse_redis_url("redis://:s3cret@127.0.0.1:6380/2");
//   if (parsed.error) fail(*parsed.error);   // "... : port must be 1..65535, got '70000'"
//
// Strict on purpose: a typo in a queue address must fail before any job is taken, not connect to
// database 0 of some other server. The message names what is wrong and quotes the part at fault
// (the password is never quoted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fetchpipe::queue {

struct RedisEndpoint {
  std::string host;             // a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 6379;
  std::optional<std::string> username{};  // "user:password@" (Redis 6 ACL); nullopt = default user
  std::optional<std::string> password{};  // percent-decoded; nullopt = no AUTH
  int db = 0;                   // SELECT index; 0 = no SELECT

  // "host:port/db" for messages: never the password.
  [[nodiscard]] std::string describe() const;
};

struct RedisUrlParse {
  std::optional<RedisEndpoint> endpoint{};
  std::optional<std::string> error{};  // set when endpoint is not
};

[[nodiscard]] RedisUrlParse parse_redis_url(std::string_view url);

}  // namespace fetchpipe::queue

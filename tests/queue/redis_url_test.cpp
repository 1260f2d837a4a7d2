// parse_redis_url: the forms the contract names, and clear errors for the rest.
#include <fetchpipe/queue/redis_url.hpp>
#include <gtest/gtest.h>

namespace fetchpipe::queue {
namespace {

RedisEndpoint ok(std::string_view url) {
  auto parsed = parse_redis_url(url);
  EXPECT_FALSE(parsed.error) << url << ": " << parsed.error.value_or("");
  return parsed.endpoint.value_or(RedisEndpoint{});
}

std::string bad(std::string_view url) {
  auto parsed = parse_redis_url(url);
  EXPECT_FALSE(parsed.endpoint) << url;
  return parsed.error.value_or("");
}

TEST(RedisUrl, HostAlone) {
  const auto ep = ok("redis://127.0.0.1");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
  EXPECT_FALSE(ep.password);
}

TEST(RedisUrl, EveryPart) {
  const auto ep = ok("redis://:s3cr%40t@queue.internal:6380/2");
  EXPECT_EQ(ep.host, "queue.internal");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.password, "s3cr@t");
  EXPECT_FALSE(ep.username);
  EXPECT_EQ(ep.db, 2);
  EXPECT_EQ(ep.describe(), "queue.internal:6380/2");  // never the password
}

TEST(RedisUrl, Ipv6AndTrailingSlashAndUser) {
  const auto ep = ok("REDIS://alice:pw@[::1]:7000/");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 7000);
  EXPECT_EQ(ep.username, "alice");
  EXPECT_EQ(ep.describe(), "[::1]:7000/0");
}

TEST(RedisUrl, ClearErrors) {
  EXPECT_NE(bad("").find("empty URL"), std::string::npos);
  EXPECT_NE(bad("http://127.0.0.1").find("got scheme 'http'"), std::string::npos);
  EXPECT_NE(bad("127.0.0.1:6379").find("got scheme '(none)'"), std::string::npos);
  EXPECT_NE(bad("rediss://h").find("TLS"), std::string::npos);
  EXPECT_NE(bad("redis://h:0").find("port must be 1..65535, got '0'"), std::string::npos);
  EXPECT_NE(bad("redis://h:70000").find("got '70000'"), std::string::npos);
  EXPECT_NE(bad("redis://h:x").find("got 'x'"), std::string::npos);
  EXPECT_NE(bad("redis://h/x").find("database must be a whole number >= 0, got 'x'"), std::string::npos);
  EXPECT_NE(bad("redis://h/-1").find("got '-1'"), std::string::npos);
  EXPECT_NE(bad("redis:///0").find("missing host"), std::string::npos);
  EXPECT_NE(bad("redis://::1:6379").find("needs brackets"), std::string::npos);
  EXPECT_NE(bad("redis://[::1").find("unclosed"), std::string::npos);
  EXPECT_NE(bad("redis://h?db=1").find("no query"), std::string::npos);
  EXPECT_NE(bad("redis://h o").find("space"), std::string::npos);
  EXPECT_NE(bad("redis://user@h").find(":password@"), std::string::npos);
  EXPECT_NE(bad("redis://:@h").find("empty password"), std::string::npos);
  EXPECT_NE(bad("redis://:%zz@h").find("%-escape"), std::string::npos);
  EXPECT_NE(bad("redis://h$x").find("not a host name"), std::string::npos);
}

TEST(RedisUrl, ErrorsNeverQuoteThePassword) {
  for (const char* url : {"redis://:hunter2@h:99999", "redis://:hunter2@h/x", "redis://:hunter2@::1:1"}) {
    EXPECT_EQ(bad(url).find("hunter2"), std::string::npos) << url;
  }
}

}  // namespace
}  // namespace fetchpipe::queue

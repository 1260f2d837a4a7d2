// How httplib's coarse errors become fetchpipe's kinds, without the network.
#include "error_mapping.hpp"

#include <gtest/gtest.h>

namespace fetchpipe::detail {
namespace {

FailureFacts facts(httplib::Error error) {
  FailureFacts f{};
  f.error = error;
  f.authority = "svc.example:80";
  return f;
}

TEST(HttplibErrorMapping, ConnectionWithoutASocketIsDnsFailure) {
  auto r = classify_failure(facts(httplib::Error::Connection));
  EXPECT_EQ(r.error, ErrorKind::dns_failure);
  EXPECT_NE(r.message.find("svc.example:80"), std::string::npos) << r.message;
}

TEST(HttplibErrorMapping, NoSocketForAnAddressIsConnectFailureNotDns) {
  auto f = facts(httplib::Error::Connection);
  f.host_is_address = true;  // e.g. socket() failed with EMFILE for http://127.0.0.1:...
  EXPECT_EQ(classify_failure(f).error, ErrorKind::connect_failure);
}

TEST(HttplibErrorMapping, ConnectionWithASocketIsConnectFailure) {
  auto f = facts(httplib::Error::Connection);
  f.socket_created = true;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::connect_failure);
}

TEST(HttplibErrorMapping, ReadIsResetUnlessAClockRanOut) {
  auto f = facts(httplib::Error::Read);
  f.socket_created = true;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::connection_reset);
  f.stall_elapsed = true;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::stall_timeout);
  f.deadline_passed = true;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::attempt_timeout);
}

TEST(HttplibErrorMapping, RecordedStopReasonWins) {
  auto f = facts(httplib::Error::Read);
  f.stop_reason = StopReason::cancelled;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::cancelled);
}

TEST(HttplibErrorMapping, ConnectionTimeoutAndTls) {
  EXPECT_EQ(classify_failure(facts(httplib::Error::ConnectionTimeout)).error, ErrorKind::connect_timeout);
  EXPECT_EQ(classify_failure(facts(httplib::Error::SSLServerVerification)).error, ErrorKind::tls_failure);
}

TEST(HttplibErrorMapping, HandshakeFailureAfterTheConnectClockIsConnectTimeout) {
  auto f = facts(httplib::Error::SSLConnection);
  f.socket_created = true;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::tls_failure);
  f.connect_elapsed = true;  // cpp-httplib's handshake backstop fired before the watchdog
  EXPECT_EQ(classify_failure(f).error, ErrorKind::connect_timeout);
  f.stop_reason = StopReason::connect_timeout;
  EXPECT_EQ(classify_failure(f).error, ErrorKind::connect_timeout);
}

}  // namespace
}  // namespace fetchpipe::detail

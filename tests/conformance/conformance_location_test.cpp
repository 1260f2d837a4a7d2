// Redirect targets are followed exactly as the server sent them, on every transport. cpp-httplib
// 0.11 percent-decodes header values while parsing: without care, `?sig=ab%2Bc%3D` would be
// followed as `?sig=ab+c=`, `/a%20b` would become an invalid URL, and `%2F%2Fhost/x` would become
// `//host/x`, another origin. Either the raw target reaches the server, or the fetch fails; a
// decoded target is never requested.
#include <cctype>

#include <fmt/format.h>

#include "conformance_support.hpp"

namespace fetchpipe::conformance {
namespace {

// Query-encodes `location` for /echo/r?location=... (the server decodes it once).
std::string as_param(std::string_view location) {
  std::string out;
  for (const char c : location) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

class ConformanceLocation : public ::testing::TestWithParam<std::string> {
 protected:
  // Follows /echo/r's redirect to `location`; returns the target the server echoed.
  std::string followed_target(const std::string& location) {
    Runner run(GetParam());
    auto out = run.fetch({.url = server_.url("/echo/r?location=" + as_param(location))});
    EXPECT_EQ(out.terminal, "success") << (out.error ? out.error->message : "");
    if (!out.response) return {};
    const std::string& body = out.response->body;
    const auto at = body.find("target ");
    return at == std::string::npos ? std::string{} : body.substr(at + 7, body.find('\n', at) - at - 7);
  }

  tools::FaultServer server_;
};

TEST_P(ConformanceLocation, EscapedQueryIsFollowedByteExact) {
  EXPECT_EQ(followed_target("?sig=ab%2Bc%3D"), "/echo/r?sig=ab%2Bc%3D");
}

TEST_P(ConformanceLocation, EscapedPathIsFollowedByteExact) {
  EXPECT_EQ(followed_target("/echo/a%20b"), "/echo/a%20b");
}

TEST_P(ConformanceLocation, EscapedSlashesNeverReachAnotherOrigin) {
  tools::FaultServer elsewhere({.host = "127.0.0.2"});
  const std::string location = fmt::format("%2F%2F127.0.0.2:{}/x", elsewhere.port());
  Runner run(GetParam());
  auto out = run.fetch({.url = server_.url("/echo/r?location=" + as_param(location))});
  EXPECT_EQ(elsewhere.total_count(), 0) << "a decoded Location was followed to 127.0.0.2";
  if (out.terminal == "success") {
    // Followed as a relative path on the same origin, escapes intact.
    EXPECT_NE(out.response->body.find("target /echo/" + location + "\n"), std::string::npos)
        << out.response->body;
  } else {
    EXPECT_NE(out.kind(), ErrorKind::internal_error) << out.error->message;
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, ConformanceLocation, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::conformance

// fetchpipe/url.hpp — the small part of URL handling a fetch needs.
//
// Parses absolute http/https URLs, resolves a redirect's Location against the URL it came from,
// and compares origins (scheme, host, port) so credentials can be dropped across them.
//
// Example:
//   auto url = fetchpipe::Url::parse("http://127.0.0.1:8080/a?b=1");
//   if (!url) std::cerr << url.error() << '\n';   // "URL '...': ..." names what is wrong
//   else std::cout << url->origin() << '\n';      // "http://127.0.0.1:8080"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace fetchpipe {

class Url {
 public:
  // Parses an absolute URL. Only `http` and `https` are accepted; the host must be present; the
  // port, if given, must be 1..65535. On failure the string says what is wrong and quotes the URL.
  struct ParseResult;
  static ParseResult parse(std::string_view text);

  // Resolves `location` (absolute, scheme-relative, absolute-path or relative-path reference)
  // against this URL, per RFC 3986 section 5.2 without dot-segment removal subtleties beyond
  // the common cases.
  [[nodiscard]] ParseResult resolve(std::string_view location) const;

  [[nodiscard]] const std::string& scheme() const noexcept { return scheme_; }  // lower case
  [[nodiscard]] const std::string& host() const noexcept { return host_; }      // lower case, no []
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }           // explicit or default
  [[nodiscard]] const std::string& target() const noexcept { return target_; }  // path + query, "/" at least
  [[nodiscard]] bool is_https() const noexcept { return scheme_ == "https"; }
  [[nodiscard]] bool is_ipv6_literal() const noexcept { return ipv6_; }

  // scheme://host:port (brackets around an IPv6 literal); the key connections are pooled by.
  [[nodiscard]] std::string origin() const;
  [[nodiscard]] bool same_origin(const Url& other) const noexcept;
  // The full URL, normalised (no fragment).
  [[nodiscard]] std::string str() const;

 private:
  std::string scheme_;
  std::string host_;
  std::uint16_t port_ = 0;
  bool explicit_port_ = false;
  bool ipv6_ = false;
  std::string target_;
};

struct Url::ParseResult {
  std::variant<Url, std::string> value;  // the URL, or a message
  [[nodiscard]] explicit operator bool() const noexcept { return value.index() == 0; }
  [[nodiscard]] const Url& operator*() const { return std::get<0>(value); }
  [[nodiscard]] const Url* operator->() const { return &std::get<0>(value); }
  [[nodiscard]] const std::string& error() const { return std::get<1>(value); }
};

}  // namespace fetchpipe

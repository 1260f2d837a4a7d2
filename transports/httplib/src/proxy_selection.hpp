// proxy_selection.hpp — which proxy (if any) an exchange goes through, with the rules libcurl
// applies, so both transports treat -x, --noproxy and the environment alike:
//
// - An explicit proxy (Options::proxy) wins over the environment; "" means no proxy.
// - From the environment: `http_proxy` for http:// (lower case only: HTTP_PROXY can be set by a
//   CGI request header), `https_proxy` or `HTTPS_PROXY` for https://, else `all_proxy` or
//   `ALL_PROXY`. The lower-case name wins when both are set.
// - The no-proxy list (Options::no_proxy, else `no_proxy` or `NO_PROXY`): comma-separated host
//   names or IP addresses, blanks ignored, a leading '.' ignored; an entry matches the host itself
//   and every name below it; `*` alone matches every host.
// - A proxy URL is `http://host[:port]` (the port defaults to 1080, as in curl; a URL without a
//   scheme is http). cpp-httplib speaks only to an HTTP proxy (a CONNECT tunnel for https://
//   targets); an https:// or socks proxy is refused with a message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fetchpipe/url.hpp"

namespace fetchpipe::detail {

// The proxy settings an HttplibTransport was made with, the environment read once at start.
struct ProxyConfig {
  std::optional<std::string> http;      // for http:// targets; "" or nullopt = none
  std::optional<std::string> https;     // for https:// targets
  std::optional<std::string> no_proxy;  // the list

  // `proxy`/`no_proxy` as given in the transport's options; nullopt = from the environment.
  static ProxyConfig resolve(const std::optional<std::string>& proxy, const std::optional<std::string>& no_proxy);
};

struct ProxyChoice {
  std::optional<std::string> host;  // nullopt: connect directly
  std::uint16_t port = 0;
  std::string error;                // set: the proxy setting cannot be used (invalid_request)
};

[[nodiscard]] ProxyChoice choose_proxy(const ProxyConfig& config, const Url& target);

// True when `host` is matched by the comma-separated no-proxy `list`.
[[nodiscard]] bool no_proxy_matches(const std::string& list, const std::string& host);

}  // namespace fetchpipe::detail

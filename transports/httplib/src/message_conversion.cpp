#include "message_conversion.hpp"

#include <charconv>

#include <fmt/format.h>

namespace fetchpipe::detail {
namespace {

std::string host_header(const Url& url) {
  const std::string host = url.is_ipv6_literal() ? fmt::format("[{}]", url.host()) : url.host();
  const std::uint16_t default_port = url.is_https() ? 443 : 80;
  return url.port() == default_port ? host : fmt::format("{}:{}", host, url.port());
}

}  // namespace

httplib::Request to_httplib_request(const Request& request, const Url& url) {
  httplib::Request out;
  out.method = request.method;
  out.path = url.target();
  for (const auto& [name, value] : request.headers) out.headers.emplace(name, value);
  if (!request.headers.contains("Host")) out.headers.emplace("Host", host_header(url));
  if (!request.body.empty() && !request.headers.contains("Content-Type")) {
    out.headers.emplace("Content-Type", "application/octet-stream");
  }
  out.body = request.body;
  return out;
}

std::optional<std::uint64_t> declared_body_length(const Request& request,
                                                  const httplib::Response& response) {
  if (iequals(request.method, "HEAD") || response.status == 204 || response.status == 304 ||
      (response.status >= 100 && response.status < 200)) {
    return std::nullopt;
  }
  if (!response.has_header("Content-Length")) return std::nullopt;
  const std::string value = response.get_header_value("Content-Length");
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  return length;
}

}  // namespace fetchpipe::detail

#include "fetchpipe/request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "fetchpipe/url.hpp"
#include "request_validation.hpp"

namespace fetchpipe {
namespace {

// RFC 9110 5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return kExtra.find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// Shows a value with its control characters visible, so the message itself stays one line.
std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\0') out += "\\0";
    else out += c;
  }
  return out;
}

}  // namespace

bool Request::is_idempotent() const {
  static constexpr std::array<std::string_view, 6> kIdempotent{"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
  if (std::find(kIdempotent.begin(), kIdempotent.end(), method) != kIdempotent.end()) return true;
  return headers.contains("Idempotency-Key");
}

namespace {

std::optional<std::string> validate_overrides(const RequestOverrides& o) {
  const auto positive = [](const std::optional<std::chrono::nanoseconds>& d, const char* field) -> std::optional<std::string> {
    if (d && *d <= std::chrono::nanoseconds::zero()) {
      return fmt::format("overrides.{} must be > 0, got {}ms", field,
                         std::chrono::duration<double, std::milli>(*d).count());
    }
    return std::nullopt;
  };
  if (auto p = positive(o.connect_timeout, "connect_timeout")) return p;
  if (auto p = positive(o.attempt_timeout, "attempt_timeout")) return p;
  if (auto p = positive(o.stall_timeout, "stall_timeout")) return p;
  if (auto p = positive(o.overall_timeout, "overall_timeout")) return p;
  if (o.max_attempts && *o.max_attempts < 1) return fmt::format("overrides.max_attempts must be >= 1, got {}", *o.max_attempts);
  if (o.http_version && std::string_view{to_string(*o.http_version)} == "unknown") {
    return fmt::format("overrides.http_version = {}: not a fetchpipe::HttpVersion", static_cast<int>(*o.http_version));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const Request& request) { return detail::validate(request, Url::parse(request.url)); }

std::optional<std::string> detail::validate(const Request& request, const Url::ParseResult& url) {
  if (!is_token(request.method)) {
    return fmt::format("method '{}' is not a valid HTTP token", printable(request.method));
  }
  if (!url) return url.error();
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) return fmt::format("header name '{}' is not a valid HTTP token", printable(name));
    if (value.find_first_of(std::string_view{"\r\n\0", 3}) != std::string::npos) {
      return fmt::format("header '{}' has a CR, LF or NUL in its value '{}'", name, printable(value));
    }
  }
  return validate_overrides(request.overrides);
}

}  // namespace fetchpipe

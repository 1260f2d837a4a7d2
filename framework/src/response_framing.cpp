#include "response_framing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace fetchpipe::detail {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  return out;
}

}  // namespace

Framing framing_of(const ResponseHead& head, std::string_view method) {
  Framing framing;
  if (head.status < 200) {
    // An interim response (1xx) is never final; a library that hands one over has lost the
    // real response behind it.
    framing.problem = fmt::format("invalid response: the interim status {} was handed over as final", head.status);
    return framing;
  }
  // Every Content-Length field, and every element of a comma list, must be the same number.
  for (const auto& [name, value] : head.headers) {
    if (name.size() != 14 || !std::equal(name.begin(), name.end(), "content-length", [](char a, char b) {
          return (a >= 'A' && a <= 'Z' ? static_cast<char>(a + 32) : a) == b;
        })) {
      continue;
    }
    std::string_view rest = value;
    for (;;) {
      const auto comma = rest.find(',');
      const std::string_view item = trimmed(rest.substr(0, comma));
      std::uint64_t n = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
      if (!all_digits(item) || ec != std::errc{} || end != item.data() + item.size()) {
        framing.problem = fmt::format("invalid response: Content-Length '{}' is not a number", printable(value));
        return framing;
      }
      if (framing.length && *framing.length != n) {
        framing.problem = fmt::format("invalid response: Content-Length values {} and {} differ", *framing.length, n);
        return framing;
      }
      framing.length = n;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // No body follows these, whatever the head says.
  if (method == "HEAD" || head.status == 204 || head.status == 304) framing.length.reset();
  return framing;
}

std::optional<std::string> body_mismatch(const Framing& framing, std::uint64_t received) {
  if (!framing.length || *framing.length == received) return std::nullopt;
  if (received < *framing.length) {
    return fmt::format("the connection closed after {} of {} body bytes", received, *framing.length);
  }
  return fmt::format("invalid response: {} body bytes for a Content-Length of {}", received, *framing.length);
}

}  // namespace fetchpipe::detail

#include "fetchpipe/url.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

namespace fetchpipe {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

// No '%': libcurl percent-decodes a host name ("127%2e0.0.1" connects to 127.0.0.1) while
// cpp-httplib resolves the text as written, and the origin this class computes would be neither.
// Refusing it keeps one meaning of "host" across the pipeline and both transports.
bool is_host_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// An IPv6 literal in the RFC 4291 text form (inet_pton's grammar); no zone id.
bool is_ipv6_address(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return false;
  const std::string copy(text);
  unsigned char address[16];
  return ::inet_pton(AF_INET6, copy.c_str(), address) == 1;
}

// Characters never allowed anywhere in a URL we send: controls, space, DEL.
bool has_forbidden_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// The text quoted in a message, with control characters escaped: a URL or Location carrying CR/LF
// must not split the message (it ends up in logs and on the CLI's one-line stderr).
std::string quoted(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

// The scheme part of a reference, if it has one ("http" in "http://x").
std::optional<std::string_view> scheme_of(std::string_view ref) {
  const auto colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(ref[0])) return std::nullopt;
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = ref[i];
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) return std::nullopt;
  }
  return ref.substr(0, colon);
}

// RFC 3986 5.2.4, for the path part only.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  const bool trailing_slash = path.ends_with("/") || path.ends_with("/.") || path.ends_with("/..");
  while (i <= path.size()) {
    auto next = path.find('/', i);
    if (next == std::string_view::npos) next = path.size();
    const auto seg = path.substr(i, next - i);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != "." && !(seg.empty() && i != 0 && next != path.size())) {
      if (!seg.empty()) out.push_back(seg);
    }
    i = next + 1;
  }
  std::string result;
  for (const auto seg : out) {
    result += '/';
    result += seg;
  }
  if (result.empty() || (trailing_slash && result.back() != '/')) result += '/';
  return result;
}

}  // namespace

Url::ParseResult Url::parse(std::string_view text) {
  auto fail = [&](std::string_view why) { return ParseResult{fmt::format("URL '{}': {}", quoted(text), why)}; };
  if (text.empty()) return fail("is empty");
  if (has_forbidden_char(text)) return fail("contains a space or a control character");
  const auto scheme = scheme_of(text);
  if (!scheme) return fail("is not absolute (expected http:// or https://)");
  Url url;
  url.scheme_ = lowered(*scheme);
  if (url.scheme_ != "http" && url.scheme_ != "https") {
    return fail(fmt::format("scheme '{}' is not supported (only http and https)", *scheme));
  }
  auto rest = text.substr(scheme->size() + 1);
  if (!rest.starts_with("//")) return fail("has no '//' after the scheme");
  rest.remove_prefix(2);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  auto target = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return fail("carries credentials; send an Authorization header instead");
  }
  std::string_view host;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("has an unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    if (!is_ipv6_address(host)) return fail("has an invalid IPv6 address");
    url.ipv6_ = true;
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail("has garbage after the IPv6 address");
      port_text = after.substr(1);
      url.explicit_port_ = true;
    }
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      url.explicit_port_ = true;
    }
    if (host.find('%') != std::string_view::npos) {
      return fail("has a percent-encoded host name (write the host name decoded)");
    }
    if (!std::all_of(host.begin(), host.end(), is_host_char)) return fail("has an invalid host name");
  }
  if (host.empty()) return fail("has no host");
  url.host_ = lowered(host);
  if (url.explicit_port_) {
    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc{} || ptr != end || port == 0 || port > 65535) {
      return fail(fmt::format("has an invalid port '{}' (expected 1..65535)", port_text));
    }
    url.port_ = static_cast<std::uint16_t>(port);
  } else {
    url.port_ = url.scheme_ == "https" ? 443 : 80;
  }
  url.target_ = target.empty() ? "/" : std::string(target);
  if (url.target_.front() == '?') url.target_.insert(0, "/");
  return ParseResult{std::move(url)};
}

Url::ParseResult Url::resolve(std::string_view location) const {
  if (const auto hash = location.find('#'); hash != std::string_view::npos) location = location.substr(0, hash);
  if (scheme_of(location)) return parse(location);
  if (has_forbidden_char(location)) {
    return ParseResult{fmt::format("redirect Location '{}': contains a space or a control character", quoted(location))};
  }
  if (location.starts_with("//")) return parse(scheme_ + ":" + std::string(location));
  std::string_view base_path = target_;
  base_path = base_path.substr(0, base_path.find('?'));
  std::string target;
  if (location.empty()) {
    target = target_;
  } else if (location.starts_with('/')) {
    const auto q = location.find('?');
    target = remove_dot_segments(location.substr(0, q));
    if (q != std::string_view::npos) target += location.substr(q);
  } else if (location.starts_with('?')) {
    target = std::string(base_path) + std::string(location);
  } else {
    const auto q = location.find('?');
    const auto dir = base_path.substr(0, base_path.rfind('/') + 1);
    target = remove_dot_segments(std::string(dir) + std::string(location.substr(0, q)));
    if (q != std::string_view::npos) target += location.substr(q);
  }
  Url out = *this;
  out.target_ = std::move(target);
  return ParseResult{std::move(out)};
}

std::string Url::origin() const {
  return ipv6_ ? fmt::format("{}://[{}]:{}", scheme_, host_, port_) : fmt::format("{}://{}:{}", scheme_, host_, port_);
}

bool Url::same_origin(const Url& other) const noexcept {
  return scheme_ == other.scheme_ && host_ == other.host_ && port_ == other.port_;
}

std::string Url::str() const {
  const std::string host = ipv6_ ? "[" + host_ + "]" : host_;
  if (explicit_port_) return fmt::format("{}://{}:{}{}", scheme_, host, port_, target_);
  return fmt::format("{}://{}{}", scheme_, host, target_);
}

}  // namespace fetchpipe

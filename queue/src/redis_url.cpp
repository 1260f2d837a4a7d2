#include "fetchpipe/queue/redis_url.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace fetchpipe::queue {
namespace {

constexpr std::string_view kForm = "redis://[:password@]host[:port][/db]";

bool is_lower_ascii_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char want, char got) {
    return want == (got >= 'A' && got <= 'Z' ? static_cast<char>(got - 'A' + 'a') : got);
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

template <typename Int>
std::optional<Int> whole_number(std::string_view text) {
  Int value{};
  const auto* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc{} || end != last) return std::nullopt;
  return value;
}

bool valid_host_name(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
  });
}

bool valid_ipv6(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return hex_value(c) >= 0 || c == ':' || c == '.';
  });
}

// Fills host and port from "host", "host:port", "[v6]" or "[v6]:port"; returns an error or nullopt.
std::optional<std::string> parse_host_port(std::string_view text, RedisEndpoint& ep) {
  std::string_view port_text;
  bool has_port = false;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fmt::format("unclosed '[' in host '{}'", text);
    const auto host = text.substr(1, close - 1);
    if (!valid_ipv6(host)) return fmt::format("not an IPv6 address, got '{}'", host);
    ep.host = std::string(host);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return fmt::format("expected ':port' after ']', got '{}'", rest);
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = text.find(':');
    const auto host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos) {
        return fmt::format("an IPv6 address needs brackets ([::1]:6379), got '{}'", text);
      }
    }
    if (host.empty()) return std::string("missing host");
    if (!valid_host_name(host)) return fmt::format("not a host name or address, got '{}'", host);
    ep.host = std::string(host);
  }
  if (has_port) {
    const auto port = whole_number<long>(port_text);
    if (!port || *port < 1 || *port > 65535) return fmt::format("port must be 1..65535, got '{}'", port_text);
    ep.port = static_cast<std::uint16_t>(*port);
  }
  return std::nullopt;
}

std::optional<std::string> parse_user_info(std::string_view text, RedisEndpoint& ep) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return std::string("expected ':password@' before the host (a user name alone is not a credential)");
  }
  const auto user = percent_decode(text.substr(0, colon));
  const auto password = percent_decode(text.substr(colon + 1));
  if (!user || !password) return std::string("bad %-escape in the user name or password");
  if (password->empty()) return std::string("empty password after ':'");
  if (!user->empty()) ep.username = *user;
  ep.password = *password;
  return std::nullopt;
}

RedisUrlParse failure(std::string message) { return RedisUrlParse{std::nullopt, std::move(message)}; }

}  // namespace

std::string RedisEndpoint::describe() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}/{}", v6 ? "[" : "", host, v6 ? "]" : "", port, db);
}

RedisUrlParse parse_redis_url(std::string_view url) {
  if (url.empty()) return failure(fmt::format("empty URL (expected {})", kForm));
  if (std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return failure("the URL contains a space or a control character");
  }
  if (is_lower_ascii_prefix(url, "rediss://")) {
    return failure("TLS (rediss://) is not supported: Debian's hiredis 0.14 has no TLS; use redis:// over a "
                   "trusted network or a TLS tunnel");
  }
  if (!is_lower_ascii_prefix(url, "redis://")) {
    const auto sep = url.find("://");
    return failure(fmt::format("expected {}, got scheme '{}'", kForm,
                               sep == std::string_view::npos ? std::string("(none)") : std::string(url.substr(0, sep))));
  }
  std::string_view rest = url.substr(8);
  if (const auto q = rest.find_first_of("?#"); q != std::string_view::npos) {
    return failure(fmt::format("no query or fragment allowed (expected {})", kForm));
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  RedisEndpoint ep;
  std::string_view host_port = authority;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (auto error = parse_user_info(authority.substr(0, at), ep)) return failure(std::move(*error));
    host_port = authority.substr(at + 1);
  }
  if (auto error = parse_host_port(host_port, ep)) return failure(std::move(*error));
  if (!path.empty()) {
    const auto db = whole_number<int>(path);
    if (!db || *db < 0) return failure(fmt::format("database must be a whole number >= 0, got '{}'", path));
    ep.db = *db;
  }
  return RedisUrlParse{std::move(ep), std::nullopt};
}

}  // namespace fetchpipe::queue

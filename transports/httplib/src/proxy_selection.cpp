#include "proxy_selection.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "fetchpipe/headers.hpp"

namespace fetchpipe::detail {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);  // read once, at construction
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::optional<std::string> env_either(const char* lower, const char* upper) {
  if (auto v = env(lower)) return v;
  return upper != nullptr ? env(upper) : std::nullopt;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool ends_with_label(std::string_view host, std::string_view suffix) {
  if (host.size() == suffix.size()) return iequals(host, suffix);
  return host.size() > suffix.size() && host[host.size() - suffix.size() - 1] == '.' &&
         iequals(host.substr(host.size() - suffix.size()), suffix);
}

ProxyChoice refused(std::string message) {
  ProxyChoice choice;
  choice.error = std::move(message);
  return choice;
}

}  // namespace

ProxyConfig ProxyConfig::resolve(const std::optional<std::string>& proxy, const std::optional<std::string>& no_proxy) {
  ProxyConfig config;
  if (proxy) {
    config.http = *proxy;
    config.https = *proxy;
  } else {
    const auto all = env_either("all_proxy", "ALL_PROXY");
    // HTTP_PROXY is ignored on purpose (see the header).
    config.http = env_either("http_proxy", nullptr);
    if (!config.http) config.http = all;
    config.https = env_either("https_proxy", "HTTPS_PROXY");
    if (!config.https) config.https = all;
  }
  config.no_proxy = no_proxy ? no_proxy : env_either("no_proxy", "NO_PROXY");
  return config;
}

bool no_proxy_matches(const std::string& list, const std::string& host) {
  std::string_view rest = list;
  while (true) {
    const auto comma = rest.find(',');
    std::string_view entry = trim(rest.substr(0, comma));
    if (entry == "*") return true;
    if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
    if (!entry.empty() && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    if (!entry.empty() && ends_with_label(host, entry)) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

ProxyChoice choose_proxy(const ProxyConfig& config, const Url& target) {
  const std::optional<std::string>& setting = target.is_https() ? config.https : config.http;
  if (!setting || setting->empty()) return {};
  if (config.no_proxy && no_proxy_matches(*config.no_proxy, target.host())) return {};
  std::string_view text = *setting;
  if (const auto scheme_end = text.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = text.substr(0, scheme_end);
    if (!iequals(scheme, "http")) {
      return refused(fmt::format("proxy '{}': the httplib transport supports only http:// proxies", *setting));
    }
    text.remove_prefix(scheme_end + 3);
  }
  text = text.substr(0, text.find('/'));
  if (const auto at = text.rfind('@'); at != std::string_view::npos) {
    return refused(fmt::format("proxy '{}': credentials in the proxy URL are not supported by the httplib transport", *setting));
  }
  std::string_view host = text;
  std::uint16_t port = 1080;
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(']', colon) == std::string_view::npos) {
    host = text.substr(0, colon);
    const std::string_view digits = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port == 0) {
      return refused(fmt::format("proxy '{}': bad port", *setting));
    }
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return refused(fmt::format("proxy '{}': no host", *setting));
  ProxyChoice choice;
  choice.host = std::string(host);
  choice.port = port;
  return choice;
}

}  // namespace fetchpipe::detail

// Shared by the URL and request fuzz targets: libcurl's URL parser (curl_url(3)) as an independent
// oracle for fetchpipe::Url. It matters beyond testing: the curl transport hands the URL text to
// libcurl, which parses it again, so wherever the two parsers disagree on the origin, the pipeline
// (credential stripping, same_origin) and the connection go to different places.
//
// The comparison normalises only what legitimately differs; each rule says why:
//   - host case: ours lower-cases, curl keeps the case; DNS names and IPv6 hex are case-insensitive.
//   - IPv6 literals: curl keeps brackets and the text as written; compared as 16-byte addresses.
//   - numeric IPv4 forms ("0x7f.1", "2130706433"): curl rewrites them to dotted quads; ours keeps
//     the text, which the httplib transport's getaddrinfo() reads the same way (inet_aton rules),
//     so both connect to one address. Compared after inet_aton.
//   - the path: curl removes dot segments (RFC 3986 5.2.4) from what it sends; ours keeps them in
//     Url::parse (and sends them so on httplib). Compared after removing them on our side.
//   - the query: ours keeps it in target() after '?'; curl returns it apart. An empty query ("?")
//     is present on both sides.
//   - the fragment: both drop it.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fetchpipe::fuzz {

// What libcurl made of a URL; parts it did not find are empty.
struct CurlUrl {
  std::string scheme, user, host, zone, path;
  std::optional<std::string> query;
  unsigned port = 0;  // explicit or the scheme's default
};

namespace curl_oracle_detail {

struct Handle {
  void operator()(CURLU* h) const noexcept { curl_url_cleanup(h); }
};
using UrlHandle = std::unique_ptr<CURLU, Handle>;

inline std::optional<std::string> part(CURLU* h, CURLUPart which, unsigned flags = 0) {
  char* text = nullptr;
  if (curl_url_get(h, which, &text, flags) != CURLUE_OK) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

inline std::optional<CurlUrl> read(CURLU* h) {
  CurlUrl out;
  out.scheme = part(h, CURLUPART_SCHEME).value_or("");
  out.user = part(h, CURLUPART_USER).value_or("");
  out.host = part(h, CURLUPART_HOST).value_or("");
  out.zone = part(h, CURLUPART_ZONEID).value_or("");
  out.path = part(h, CURLUPART_PATH).value_or("");
  out.query = part(h, CURLUPART_QUERY);
  out.port = static_cast<unsigned>(std::stoul(part(h, CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("0")));
  return out;
}

}  // namespace curl_oracle_detail

// libcurl's parse of an absolute URL with no flags (so only schemes libcurl supports), or nullopt
// when it rejects it. Text with a NUL is rejected here: libcurl would see a shorter string.
inline std::optional<CurlUrl> curl_parse(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  curl_oracle_detail::UrlHandle h(curl_url());
  if (!h || curl_url_set(h.get(), CURLUPART_URL, std::string(text).c_str(), 0) != CURLUE_OK) return std::nullopt;
  return curl_oracle_detail::read(h.get());
}

// libcurl's resolution of `location` against `base` (what libcurl's own redirect following does),
// or nullopt when either is rejected.
inline std::optional<CurlUrl> curl_resolve(std::string_view base, std::string_view location) {
  if (base.find('\0') != std::string_view::npos || location.find('\0') != std::string_view::npos) return std::nullopt;
  curl_oracle_detail::UrlHandle h(curl_url());
  if (!h || curl_url_set(h.get(), CURLUPART_URL, std::string(base).c_str(), 0) != CURLUE_OK ||
      curl_url_set(h.get(), CURLUPART_URL, std::string(location).c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  return curl_oracle_detail::read(h.get());
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The host as an address-or-name key both sides can be compared by (see the rules above).
inline std::string host_key(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string text(host);
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) {
    char out[INET6_ADDRSTRLEN];
    return std::string("[") + inet_ntop(AF_INET6, v6.data(), out, sizeof out) + "]";
  }
  in_addr v4{};
  if (!text.empty() && inet_aton(text.c_str(), &v4) != 0) return inet_ntoa(v4);
  return ascii_lower(text);
}

// RFC 3986 section 5.2.4, written from the RFC's algorithm (input buffer / output buffer), apart
// from url.cpp's version so that the oracle does not share its bugs.
inline std::string without_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) in.remove_prefix(3);
    else if (in.starts_with("./")) in.remove_prefix(2);
    else if (in.starts_with("/./")) in.remove_prefix(2);
    else if (in == "/.") in = "/";
    else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view{"/"} : in.substr(3);
      const auto cut = out.rfind('/');
      out.erase(cut == std::string::npos ? 0 : cut);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', 1);
      out += in.substr(0, next);
      in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
    }
  }
  return out;
}

}  // namespace fetchpipe::fuzz

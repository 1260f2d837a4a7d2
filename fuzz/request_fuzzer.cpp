// Fuzzes validate(Request) — the check every request passes before anything is sent.
//
// Input: fields separated by \x01 (so CR, LF and NUL stay available as data):
//   method \x01 url \x01 name \x01 value \x01 name \x01 value ...
// Invariants:
//   - a request validates exactly when its method is an RFC 9110 token, its URL is valid by the
//     rules below, its header names are tokens, and no CR, LF or NUL is anywhere in its header
//     values. The URL rules are stated here without Url::parse (the code under test): libcurl's
//     URL parser accepts the URL (curl_url_oracle.hpp), and fetchpipe's documented extra
//     strictness holds (http or https, "scheme://", no user info, a host of [A-Za-z0-9._~-] or a
//     bracketed IPv6 address without zone id, a port of 1..65535 when one is written);
//   - conversely, a CR, LF or NUL in any header value, or a non-token name or method, is rejected,
//     with a one-line message (control characters shown escaped).
#include <algorithm>

#include <array>
#include <string>

#include "curl_url_oracle.hpp"
#include "fetchpipe/request.hpp"
#include "fuzz_check.hpp"

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }
bool has_crlf_nul(std::string_view s) { return s.find_first_of(std::string_view{"\r\n\0", 3}) != std::string_view::npos; }

bool is_host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '-';
}

// The URL rules listed at the top, from libcurl plus plain string checks.
bool url_expected_valid(std::string_view url) {
  if (std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return false;
  }
  const auto theirs = fetchpipe::fuzz::curl_parse(url);
  if (!theirs || (theirs->scheme != "http" && theirs->scheme != "https")) return false;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || fetchpipe::fuzz::ascii_lower(url.substr(0, sep)) != theirs->scheme) return false;
  const auto rest = url.substr(sep + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return false;
  std::string_view host;
  std::string_view after_host;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    const std::string literal(authority.substr(1, close - 1));
    std::array<unsigned char, 16> address{};
    if (inet_pton(AF_INET6, literal.c_str(), address.data()) != 1) return false;  // also refuses a zone id
    host = authority.substr(0, close + 1);
    after_host = authority.substr(close + 1);
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    after_host = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    if (!std::all_of(host.begin(), host.end(), is_host_name_char)) return false;
  }
  if (host.empty()) return false;
  if (after_host.empty()) return true;
  const auto port = after_host.substr(1);
  if (after_host[0] != ':' || port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const auto digits = port.substr(std::min(port.find_first_not_of('0'), port.size()));
  return !digits.empty() && digits.size() <= 5 && std::stoul(std::string(digits)) <= 65535;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto fields = fetchpipe::fuzz::split(fetchpipe::fuzz::as_text(data, size), '\x01', 64);
  fetchpipe::Request request;
  request.method = std::string(fields[0]);
  if (fields.size() > 1) request.url = std::string(fields[1]);
  for (std::size_t i = 2; i + 1 < fields.size(); i += 2) {
    request.headers.add(std::string(fields[i]), std::string(fields[i + 1]));
  }
  if (fields.size() > 2 && fields.size() % 2 == 1) request.headers.add(std::string(fields.back()), "");

  bool expect_valid = is_token(request.method) && url_expected_valid(request.url);
  for (const auto& [name, value] : request.headers) {
    expect_valid = expect_valid && is_token(name) && !has_crlf_nul(value);
  }

  const auto problem = fetchpipe::validate(request);
  FUZZ_CHECK(problem.has_value() != expect_valid, "validate() %s a request the rules %s (url '%.300s'): %s",
             problem ? "rejected" : "accepted", expect_valid ? "accept" : "reject", request.url.c_str(),
             problem ? problem->c_str() : "");
  if (problem) {
    FUZZ_CHECK(problem->find_first_of("\r\n") == std::string::npos, "the message is not one line: %s",
               problem->c_str());
    return 0;
  }
  FUZZ_CHECK(!has_crlf_nul(request.method), "validated method has CR/LF/NUL");
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(!has_crlf_nul(name) && !has_crlf_nul(value), "validated header has CR/LF/NUL");
  }
  return 0;
}

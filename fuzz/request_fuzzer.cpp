// Fuzzes validate(Request) — the check every request passes before anything is sent.
//
// Input: fields separated by \x01 (so CR, LF and NUL stay available as data):
//   method \x01 url \x01 name \x01 value \x01 name \x01 value ...
// Invariants:
//   - a request that validates has a method that is an RFC 9110 token, a URL that Url::parse
//     accepts, header names that are tokens, and no CR, LF or NUL anywhere in its headers (names
//     or values) or its method;
//   - conversely, a CR, LF or NUL in any header value, or a non-token name or method, is rejected,
//     with a one-line message (control characters shown escaped).
#include <algorithm>

#include "fetchpipe/request.hpp"
#include "fetchpipe/url.hpp"
#include "fuzz_check.hpp"

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }
bool has_crlf_nul(std::string_view s) { return s.find_first_of(std::string_view{"\r\n\0", 3}) != std::string_view::npos; }

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

  bool expect_valid = is_token(request.method) && static_cast<bool>(fetchpipe::Url::parse(request.url));
  for (const auto& [name, value] : request.headers) {
    expect_valid = expect_valid && is_token(name) && !has_crlf_nul(value);
  }

  const auto problem = fetchpipe::validate(request);
  FUZZ_CHECK(problem.has_value() != expect_valid, "validate() %s a request the rules %s",
             problem ? "rejected" : "accepted", expect_valid ? "accept" : "reject");
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

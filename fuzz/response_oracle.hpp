// Shared by the server-playing fuzz targets: what the raw response bytes alone say a correct client
// must conclude, computed without any HTTP library (an independent oracle for the transports).
//
// Only unambiguous inputs get a verdict: a head in strict HTTP/1.x syntax (CRLF line ends, no
// obs-fold, no NUL or bare CR, every field "name: value" with a token name). Anything else is left
// to the invariants that hold for every input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fetchpipe::fuzz {

struct ExpectedResponse {
  int status = 0;                  // of the final (non-1xx) head
  std::size_t head_bytes = 0;      // of the final head
  bool conflicting_length = false; // two Content-Length fields with different values: must fail
  bool invalid_length = false;     // a Content-Length that is not 1*DIGIT: must fail
  // An interim head other than "100 Continue" came first (103 Early Hints, 102), or a 100 with
  // header fields: cpp-httplib 0.11 cannot read past it, and the transport refuses such a
  // response (a documented limit).
  bool interim_besides_100 = false;
  // Set when the body is delimited by one valid Content-Length (no Transfer-Encoding, a status
  // that has a body): the exact body, or nullopt when the input ends before it is complete
  // (then the response is truncated and must not succeed).
  std::optional<std::optional<std::string>> body{};
};

// True when the input holds a complete response head somewhere: a line end (LF, or CRLF, which
// ends in LF too) followed by an empty line (LF or CRLF). Without one no transport may report a
// response, let alone a success.
inline bool has_end_of_head(std::string_view input) {
  return input.find("\n\n") != std::string_view::npos || input.find("\n\r\n") != std::string_view::npos;
}

namespace detail {

inline bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "HTTP/1.x NNN reason" -> NNN, or 0 when the line is not a strict HTTP/1.x status line.
inline int status_of(std::string_view line) {
  if (line.size() < 12 || !(line.starts_with("HTTP/1.0 ") || line.starts_with("HTTP/1.1 "))) return 0;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    code = code * 10 + (line[i] - '0');
  }
  if (code < 100 || (line.size() > 12 && line[12] != ' ')) return 0;
  return code;
}

// A Content-Length value: 1*DIGIT, or a list of the same number ("5, 5"), which RFC 9110 section
// 8.6 lets a recipient take as that number. Numbers compare as numbers ("05" is 5). nullopt when
// invalid (RFC 9112 section 6.3: an unrecoverable error).
inline std::optional<std::uint64_t> content_length_of(std::string_view value) {
  std::optional<std::uint64_t> number;
  for (;;) {
    const auto comma = value.find(',');
    const auto item = trim_ows(value.substr(0, comma));
    if (item.empty() || item.size() > 15 || item.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    const auto n = std::stoull(std::string(item));
    if (number && *number != n) return std::nullopt;
    number = n;
    if (comma == std::string_view::npos) return number;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace detail

// The verdict on `input`, or nullopt when its final head is not strict (see above).
inline std::optional<ExpectedResponse> expected_response(std::string_view input) {
  using namespace detail;
  bool interim_besides_100 = false;  // carried over the interim heads to the final one
  for (;;) {
    const auto end = input.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    const auto head = input.substr(0, end + 2);  // every line with its CRLF
    std::string_view rest = input.substr(end + 4);
    const auto first_end = head.find("\r\n");
    // A strict status line has no control character but HTAB (RFC 9112 section 4): a bare CR,
    // LF or NUL in it leaves its reading to each parser, and then any typed failure is fair.
    for (const char c : head.substr(0, first_end)) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return std::nullopt;
    }
    const int status = status_of(head.substr(0, first_end));
    if (status == 0 || status > 599 || status == 101) return std::nullopt;  // 101: not HTTP after it
    ExpectedResponse out{.status = status};
    out.interim_besides_100 = interim_besides_100;
    out.head_bytes = head.size() + 2;
    std::optional<std::uint64_t> length;
    bool chunked_or_coded = false;
    for (auto lines = head.substr(first_end + 2); !lines.empty();) {
      const auto eol = lines.find("\r\n");
      const auto line = lines.substr(0, eol);
      lines.remove_prefix(eol + 2);
      if (line.find_first_of(std::string_view{"\r\n\0", 3}) != std::string_view::npos) return std::nullopt;
      const auto colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos) return std::nullopt;  // also catches obs-fold
      const auto name = line.substr(0, colon);
      for (const char c : name) {
        if (!is_tchar(c)) return std::nullopt;
      }
      const auto value = trim_ows(line.substr(colon + 1));
      if (iequals(name, "Transfer-Encoding")) chunked_or_coded = true;
      if (!iequals(name, "Content-Length")) continue;
      const auto number = content_length_of(value);
      if (!number) {
        out.invalid_length = true;
        continue;
      }
      if (length && *length != *number) out.conflicting_length = true;
      length = *number;
    }
    if (status < 200) {  // an interim response: the real one follows
      // A 100 with any line between its status line and its blank line (a field, or a line the
      // strict reading above skipped) is one cpp-httplib cannot read past either.
      if (status != 100 || first_end + 2 != head.size()) interim_besides_100 = true;
      input = rest;
      continue;
    }
    const bool has_body = status != 204 && status != 304;
    if (length && !chunked_or_coded && !out.invalid_length && !out.conflicting_length && has_body) {
      const auto n = *length;
      out.body = rest.size() >= n ? std::optional<std::string>(std::string(rest.substr(0, n))) : std::nullopt;
    }
    return out;
  }
}

}  // namespace fetchpipe::fuzz

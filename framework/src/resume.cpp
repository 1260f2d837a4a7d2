#include "resume.hpp"

#include <charconv>
#include <string_view>

namespace fetchpipe::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t n = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// A value that could not smuggle another header line or a second field into the request.
bool sendable(std::string_view value) {
  if (value.empty() || value.size() > 1024) return false;
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> resume_validator(const Headers& headers) {
  const auto ranges = headers.get("Accept-Ranges");
  if (!ranges || !iequals(trim(*ranges), "bytes")) return std::nullopt;
  // A Range counts bytes of the encoded representation, while a transport that decodes hands
  // the sink decoded bytes: the two counts differ, so an encoded response is never continued.
  if (const auto coding = headers.get("Content-Encoding"); coding && !iequals(trim(*coding), "identity")) {
    return std::nullopt;
  }
  if (const auto etag = headers.get("ETag")) {
    const auto value = trim(*etag);
    // A weak ETag may name a different byte sequence: If-Range must not use it.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"' && sendable(value)) {
      return std::string(value);
    }
  }
  if (const auto modified = headers.get("Last-Modified")) {
    const auto value = trim(*modified);
    if (sendable(value)) return std::string(value);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> content_range_start(const Headers& headers) {
  const auto field = headers.get("Content-Range");
  if (!field) return std::nullopt;
  std::string_view v = trim(*field);
  if (v.size() < 6 || !iequals(v.substr(0, 6), "bytes ")) return std::nullopt;
  v = trim(v.substr(6));
  const auto dash = v.find('-');
  const auto slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  const auto first = number(v.substr(0, dash));
  const auto last = number(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  const auto total = v.substr(slash + 1);
  if (total != "*") {
    const auto size = number(total);
    if (!size || *last >= *size) return std::nullopt;
  }
  return first;
}

Request resume_request(const Request& request, std::uint64_t offset, const std::string& validator) {
  Request r = request;
  r.headers.set("Range", "bytes=" + std::to_string(offset) + "-");
  r.headers.set("If-Range", validator);
  return r;
}

}  // namespace fetchpipe::detail

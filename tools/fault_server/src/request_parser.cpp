#include "request_parser.hpp"

#include <charconv>
#include <optional>
#include <vector>

namespace fetchpipe::tools::detail {

namespace {

using Kind = ParseOutcome::Kind;

ParseOutcome error(int status) { return {Kind::error, 0, status, false}; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool contains_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Decodes a chunked body starting at data[0]. Returns the bytes used (body and trailers), or
// nullopt while incomplete; sets `bad` on malformed framing. Only copies once it is complete.
std::optional<std::size_t> decode_chunked(std::string_view data, std::string& body, bool& bad) {
  std::size_t pos = 0;
  std::size_t total = 0;
  struct Piece {
    std::size_t offset;
    std::size_t size;
  };
  std::vector<Piece> pieces;
  for (;;) {
    const auto eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (data.size() - pos > 1024) bad = true;  // no chunk-size line is that long
      return std::nullopt;
    }
    std::string_view line = data.substr(pos, eol - pos);
    line = line.substr(0, line.find(';'));  // chunk extensions are ignored
    line = trim(line);
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (line.empty() || ec != std::errc{} || end != line.data() + line.size()) {
      bad = true;
      return std::nullopt;
    }
    pos = eol + 2;
    if (size == 0) break;
    if (size > kMaxBodyBytes || total + size > kMaxBodyBytes) {
      bad = true;
      return std::nullopt;
    }
    if (data.size() < pos + size + 2) return std::nullopt;
    if (data.substr(pos + size, 2) != "\r\n") {
      bad = true;
      return std::nullopt;
    }
    pieces.push_back({pos, size});
    total += size;
    pos += size + 2;
  }
  // Trailer section: header lines up to an empty line.
  for (;;) {
    const auto eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    const bool empty = eol == pos;
    pos = eol + 2;
    if (empty) break;
  }
  body.reserve(total);
  for (const auto& piece : pieces) body.append(data.substr(piece.offset, piece.size));
  return pos;
}

}  // namespace

ParseOutcome parse_request(std::string_view data, ParsedRequest& out) {
  // Tolerate blank lines before a request (RFC 9112 2.2).
  std::size_t start = 0;
  while (data.substr(start, 2) == "\r\n") start += 2;
  const auto head_end = data.find("\r\n\r\n", start);
  if (head_end == std::string_view::npos) {
    if (data.size() - start > kMaxHeaderBytes) return error(431);
    return {};
  }
  if (head_end - start > kMaxHeaderBytes) return error(431);
  std::string_view head = data.substr(start, head_end - start);

  // Request line: METHOD SP TARGET SP HTTP/1.x
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || sp1 == 0) return error(400);
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (target.empty() || target.find(' ') != std::string_view::npos) return error(400);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return error(505);

  ParsedRequest request;
  request.info.method = std::string(method);
  request.info.target = std::string(target);
  request.head = method == "HEAD";
  request.http10 = version == "HTTP/1.0";
  request.keep_alive = !request.http10;
  const auto question = target.find('?');
  request.info.path = percent_decode(target.substr(0, question));
  if (question != std::string_view::npos)
    request.info.params = parse_query(target.substr(question + 1));

  std::optional<std::size_t> content_length;
  bool chunked = false;
  bool expect_continue = false;
  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const std::string_view header = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
    const auto colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) return error(400);
    const std::string_view name = header.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return error(400);
    const std::string_view value = trim(header.substr(colon + 1));
    request.info.headers.push_back({std::string(name), std::string(value)});
    if (iequals(name, "Content-Length")) {
      std::size_t length = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || ec != std::errc{} || end != value.data() + value.size())
        return error(400);
      if (content_length && *content_length != length) return error(400);
      content_length = length;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (!contains_token(value, "chunked")) return error(501);
      chunked = true;
    } else if (iequals(name, "Connection")) {
      if (contains_token(value, "close")) request.keep_alive = false;
      if (contains_token(value, "keep-alive")) request.keep_alive = true;
    } else if (iequals(name, "Expect")) {
      expect_continue = iequals(value, "100-continue");
    }
  }
  // Both framings at once is a request-smuggling shape; refuse it (RFC 9112 6.1).
  if (chunked && content_length) return error(400);

  const std::size_t body_start = head_end + 4;
  const std::string_view after_head = data.substr(body_start);
  std::size_t body_bytes = 0;
  if (chunked) {
    bool bad = false;
    const auto used = decode_chunked(after_head, request.info.body, bad);
    if (bad) return error(400);
    if (!used) return {Kind::incomplete, 0, 400, expect_continue};
    body_bytes = *used;
  } else if (content_length) {
    if (*content_length > kMaxBodyBytes) return error(413);
    if (after_head.size() < *content_length) return {Kind::incomplete, 0, 400, expect_continue};
    request.info.body = std::string(after_head.substr(0, *content_length));
    body_bytes = *content_length;
  }
  out = std::move(request);
  return {Kind::complete, body_start + body_bytes, 400, false};
}

}  // namespace fetchpipe::tools::detail

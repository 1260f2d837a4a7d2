#include "raw_head.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace fetchpipe::detail {
namespace {

// The status code of an HTTP/1.x status line, or nullopt.
std::optional<int> status_of(std::string_view line) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return std::nullopt;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (std::isdigit(static_cast<unsigned char>(line[i])) == 0) return std::nullopt;
    status = status * 10 + (line[i] - '0');
  }
  return status;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `count` hex digits at `at`, or -1.
int hex_run(std::string_view s, std::size_t at, std::size_t count) {
  if (at + count > s.size()) return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    const int digit = hex_value(s[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

void append_utf8(std::string& out, int code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0xD800 || code >= 0xE000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  // Surrogates: cpp-httplib writes nothing for them.
}

bool less_ci(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

using Fields = std::vector<std::pair<std::string, std::string>>;

}  // namespace

void RawHeadCapture::reset() {
  state_ = State::reading;
  buffer_.clear();
  line_start_ = 0;
  erased_ = 0;
  lines_ = 0;
  skip_next_line_ = false;
}

RawHeadCapture::State RawHeadCapture::feed(std::string_view bytes) {
  if (state_ != State::reading) return state_;
  buffer_.append(bytes);
  scan();
  // A status line still without its end is checked here, before cpp-httplib can read it whole.
  if (state_ == State::reading && lines_ == 0 && buffer_.size() - line_start_ > kMaxStatusLine) {
    state_ = State::status_line_too_long;
  }
  // Interim heads already dropped, plus the current head (cut at its end once complete).
  if (erased_ + buffer_.size() > limit_) state_ = State::too_large;
  return state_;
}

void RawHeadCapture::scan() {
  for (;;) {
    const std::size_t newline = buffer_.find('\n', line_start_);
    if (newline == std::string::npos) return;
    const std::string_view line(buffer_.data() + line_start_, newline + 1 - line_start_);
    line_start_ = newline + 1;
    if (skip_next_line_ && line != "\r\n" && line != "\n") {
      state_ = State::unreadable_interim;  // the 100 head goes on with a header field
      return;
    }
    if (lines_ == 0 && !skip_next_line_ && line.size() > kMaxStatusLine) {
      state_ = State::status_line_too_long;
      return;
    }
    if (skip_next_line_ || lines_ == 0) {
      const bool interim = !skip_next_line_ && status_of(line) == 100;
      if (skip_next_line_ || interim) {
        // A "100 Continue" line, or the one line cpp-httplib skips after it: the final head
        // starts after them.
        skip_next_line_ = interim;
        erased_ += line_start_;
        buffer_.erase(0, line_start_);
        line_start_ = 0;
        continue;
      }
      lines_ = 1;
      continue;
    }
    ++lines_;
    if (line == "\r\n") {
      buffer_.resize(line_start_);
      state_ = State::complete;
      return;
    }
  }
}

std::string_view RawHeadCapture::head() const {
  return state_ == State::complete ? std::string_view(buffer_) : std::string_view();
}

std::string shown_value(std::string_view value) {
  constexpr std::size_t kShown = 120;
  std::string out;
  for (std::size_t i = 0; i < value.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kShown) out += "...";
  return out;
}

std::optional<RawHead> parse_raw_head(std::string_view head) {
  const std::size_t first_end = head.find('\n');
  if (first_end == std::string_view::npos) return std::nullopt;
  const auto status = status_of(head.substr(0, first_end + 1));
  if (!status) return std::nullopt;
  RawHead out;
  out.status = *status;
  std::size_t at = first_end + 1;
  while (at < head.size()) {
    std::size_t end = head.find('\n', at);
    if (end == std::string_view::npos) end = head.size() - 1;
    std::string_view line = head.substr(at, end + 1 - at);
    at = end + 1;
    if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") continue;  // skipped
    if (line.size() == 2) break;
    line.remove_suffix(2);
    while (!line.empty() && blank(line.back())) line.remove_suffix(1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::size_t value_at = colon + 1;
    while (value_at < line.size() && blank(line[value_at])) ++value_at;
    if (value_at == line.size()) {  // an empty value: cpp-httplib drops the field
      const auto name = line.substr(0, colon);
      if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) {
        out.dropped_framing_field = std::string(name);
      }
      continue;
    }
    out.fields.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(value_at)));
  }
  return out;
}

std::string httplib_decoded(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 1 < value.size()) {
      if (value[i + 1] == 'u') {
        if (const int code = hex_run(value, i + 2, 4); code >= 0) {
          append_utf8(out, code);
          i += 5;
          continue;
        }
      } else if (const int byte = hex_run(value, i + 1, 2); byte >= 0) {
        out += static_cast<char>(byte);
        i += 2;
        continue;
      }
    }
    out += value[i];
  }
  return out;
}

FaithfulHead faithful_head(std::string_view raw, int status, const Fields& headers) {
  const auto parsed = parse_raw_head(raw);
  if (!parsed) {
    return {.head = std::nullopt,
            .refusal = raw.empty() ? "the raw response head was not captured"
                                   : "the raw response head has no status line"};
  }
  if (parsed->status != status || parsed->fields.size() != headers.size()) {
    return {.head = std::nullopt,
            .refusal = fmt::format("the raw response head (status {}, {} fields) differs from "
                                   "cpp-httplib's parse (status {}, {} fields)",
                                   parsed->status, parsed->fields.size(), status, headers.size())};
  }
  // cpp-httplib keeps fields sorted by name (case-insensitively, equal names in arrival order).
  Fields decoded;
  decoded.reserve(parsed->fields.size());
  for (const auto& [name, value] : parsed->fields) decoded.emplace_back(name, httplib_decoded(value));
  std::stable_sort(decoded.begin(), decoded.end(),
                   [](const auto& a, const auto& b) { return less_ci(a.first, b.first); });
  if (decoded != headers) {
    return {.head = std::nullopt,
            .refusal = "the raw response head differs from cpp-httplib's parse of it"};
  }
  if (!parsed->dropped_framing_field.empty()) {
    return {.head = std::nullopt,
            .refusal = fmt::format("the response's {} has an empty value, which cpp-httplib ignores "
                                   "when framing the body",
                                   parsed->dropped_framing_field)};
  }
  ResponseHead head;
  head.status = status;
  for (const auto& [name, value] : parsed->fields) {
    // cpp-httplib framed the body by the decoded value: refuse a framing field it changed.
    if ((iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) &&
        httplib_decoded(value) != value) {
      return {.head = std::nullopt,
              .refusal = fmt::format("the response's {} '{}' contains a percent-escape "
                                     "cpp-httplib decodes before framing the body",
                                     name, shown_value(value))};
    }
    head.headers.add(name, value);
  }
  return {.head = std::move(head), .refusal = {}};
}

}  // namespace fetchpipe::detail

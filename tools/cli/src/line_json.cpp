#include "line_json.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <unordered_set>

namespace fetchpipe::cli {

// Recursive descent over a string_view. Failures throw a private type caught in parse_line_json:
// every path out of a bad input is the same one.
class LineJsonParser {
 public:
  explicit LineJsonParser(std::string_view text) : s_(text) {}

  LineJson document() {
    LineJson v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the value");
    return v;
  }

  struct Failure {
    std::string message;
  };

 private:
  [[noreturn]] void fail(std::string_view what) const { throw Failure{fmt::format("at byte {}: {}", pos_ + 1, what)}; }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  char peek() {
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  LineJson value(std::size_t depth) {
    if (depth >= LineJson::kMaxDepth) fail(fmt::format("nested deeper than {} levels", LineJson::kMaxDepth));
    const char c = peek();
    LineJson v;
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      v.type_ = LineJson::Type::string;
      v.text_ = string();
    } else if (literal("null")) {
      v.type_ = LineJson::Type::null;
    } else if (literal("true") || literal("false")) {
      v.type_ = LineJson::Type::boolean;
      v.text_ = s_[pos_ - 2] == 'u' ? "true" : "false";  // "tr(u)e" vs "fal(s)e"
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.type_ = LineJson::Type::number;
      v.text_ = number();
    } else {
      fail("expected a JSON value");
    }
    return v;
  }

  LineJson object(std::size_t depth) {
    expect('{');
    LineJson obj;
    obj.type_ = LineJson::Type::object;
    if (peek() == '}') {
      ++pos_;
      return obj;
    }
    // A set, not find(): a hostile line may hold a hundred thousand members.
    std::unordered_set<std::string> seen;
    while (true) {
      if (peek() != '"') fail("expected a member name in double quotes");
      std::string key = string();
      if (!seen.insert(key).second) fail(fmt::format("duplicate member '{}'", key));
      expect(':');
      obj.members_.emplace_back(std::move(key), value(depth + 1));
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return obj;
    }
  }

  LineJson array(std::size_t depth) {
    expect('[');
    LineJson arr;
    arr.type_ = LineJson::Type::array;
    if (peek() == ']') {
      ++pos_;
      return arr;
    }
    while (true) {
      arr.items_.push_back(value(depth + 1));
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return arr;
    }
  }

  std::string number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("bad number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("bad number");
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  unsigned hex4() {
    if (s_.size() - pos_ < 4) fail("bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // One UTF-8 sequence starting at pos_, checked (no overlongs, no surrogates, <= U+10FFFF).
  void copy_utf8(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F;
    else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F;
    else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07;
    else fail("invalid UTF-8");
    if (s_.size() - pos_ < len) fail("invalid UTF-8");
    for (std::size_t i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      fail("invalid UTF-8");
    }
    out.append(s_.substr(pos_, len));
    pos_ += len;
  }

  std::string string() {
    ++pos_;  // the opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string (escape it)");
      if (static_cast<unsigned char>(c) >= 0x80) {
        copy_utf8(out);
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!literal("\\u")) fail("lone high surrogate in \\u escape");
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("lone high surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("bad escape in a string");
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

const LineJson* LineJson::find(std::string_view key) const noexcept {
  for (const auto& [name, value] : members_) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::string_view LineJson::type_name(Type type) noexcept {
  switch (type) {
    case Type::null: return "null";
    case Type::boolean: return "boolean";
    case Type::number: return "number";
    case Type::string: return "string";
    case Type::array: return "array";
    case Type::object: return "object";
  }
  return "value";
}

LineJsonResult parse_line_json(std::string_view text) {
  try {
    return LineJsonResult(LineJsonParser(text).document());
  } catch (const LineJsonParser::Failure& f) {
    return LineJsonResult(f.message);
  }
}

}  // namespace fetchpipe::cli

#include "mini_json.hpp"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace fetchpipe::test {
namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Json document() {
    Json v = value();
    skip_ws();
    if (pos_ != s_.size()) fail();
    return v;
  }

 private:
  [[noreturn]] static void fail() { throw std::runtime_error("bad json"); }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  char peek() {
    skip_ws();
    if (pos_ >= s_.size()) fail();
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail();
    ++pos_;
  }
  bool literal(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  Json value() {
    const char c = peek();
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') return Json{string()};
    if (literal("null")) return Json{nullptr};
    if (literal("true")) return Json{true};
    if (literal("false")) return Json{false};
    return number();
  }

  Json object() {
    expect('{');
    auto obj = std::make_shared<JsonObject>();
    if (peek() == '}') {
      ++pos_;
      return Json{obj};
    }
    while (true) {
      if (peek() != '"') fail();
      std::string key = string();
      expect(':');
      if (!obj->emplace(key, value()).second) fail();  // duplicate keys: the report must not have any
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return Json{obj};
    }
  }

  Json array() {
    expect('[');
    auto arr = std::make_shared<JsonArray>();
    if (peek() == ']') {
      ++pos_;
      return Json{arr};
    }
    while (true) {
      arr->push_back(value());
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return Json{arr};
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail();
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail();
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail();
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
          if (pos_ + 4 > s_.size()) fail();
          for (int i = 0; i < 4; ++i) {
            if (!std::isxdigit(static_cast<unsigned char>(s_[pos_ + static_cast<std::size_t>(i)]))) fail();
          }
          out += '?';  // the checks only need to know it was well-formed
          pos_ += 4;
          break;
        }
        default: fail();
      }
    }
  }

  Json number() {
    const std::size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail();
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-')) {
      ++pos_;
    }
    return Json{std::strtod(s_.substr(start, pos_ - start).c_str(), nullptr)};
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<Json> parse_json(const std::string& text) {
  try {
    return Parser(text).document();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace fetchpipe::test

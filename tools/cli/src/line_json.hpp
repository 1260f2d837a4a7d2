// line_json.hpp — a small strict JSON reader for one line of hostile input (a batch line, a
// journal record). Not a general JSON library: it exists because the runtime has none.
//
// Strict RFC 8259: no comments, no trailing commas, no duplicate keys, no lone surrogates, no
// control characters in strings, valid UTF-8 only. Nesting is capped (kMaxDepth) so a line of
// ten thousand '[' fails cleanly instead of overflowing the stack. Numbers are kept as their text
// (the callers only need to know a value is not a string).
//
//   auto parsed = parse_line_json(R"({"url": "http://127.0.0.1/"})");
//   if (!parsed) print(parsed.error());            // "at byte 12: expected ':'"
//   const LineJson* url = parsed->find("url");
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace fetchpipe::cli {

class LineJson {
 public:
  enum class Type { null, boolean, number, string, array, object };
  using Member = std::pair<std::string, LineJson>;

  static constexpr std::size_t kMaxDepth = 32;

  [[nodiscard]] Type type() const noexcept { return type_; }
  [[nodiscard]] bool is_string() const noexcept { return type_ == Type::string; }
  [[nodiscard]] bool is_object() const noexcept { return type_ == Type::object; }
  // The decoded string (type string), the number's text (number), "true"/"false" (boolean).
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const std::vector<Member>& members() const noexcept { return members_; }  // object
  [[nodiscard]] const std::vector<LineJson>& items() const noexcept { return items_; }    // array
  // The member named `key` of an object, or nullptr.
  [[nodiscard]] const LineJson* find(std::string_view key) const noexcept;

  // "string", "object", ... for messages.
  [[nodiscard]] static std::string_view type_name(Type type) noexcept;

 private:
  friend class LineJsonParser;
  Type type_ = Type::null;
  std::string text_;
  std::vector<Member> members_;
  std::vector<LineJson> items_;
};

// The value, or a message saying where and what went wrong.
class LineJsonResult {
 public:
  explicit LineJsonResult(LineJson value) : value_(std::move(value)) {}
  explicit LineJsonResult(std::string error) : value_(std::move(error)) {}
  [[nodiscard]] explicit operator bool() const noexcept { return value_.index() == 0; }
  [[nodiscard]] const LineJson& operator*() const { return std::get<0>(value_); }
  [[nodiscard]] const LineJson* operator->() const { return &std::get<0>(value_); }
  [[nodiscard]] const std::string& error() const { return std::get<1>(value_); }

 private:
  std::variant<LineJson, std::string> value_;
};

// Exactly one JSON value, surrounding whitespace allowed.
[[nodiscard]] LineJsonResult parse_line_json(std::string_view text);

}  // namespace fetchpipe::cli

// json_writer.hpp — a minimal streaming JSON writer for the tool's reports.
//
// Builds one compact JSON text (no newlines) into a string. Strings are escaped per RFC 8259 and
// always come out as valid UTF-8: a server's bytes end up in error messages, and a report that a
// JSON parser rejects is worse than one with a U+FFFD in it.
//
//   JsonWriter w;
//   w.begin_object().key("outcome").value("success").key("status").value(200).end_object();
//   fmt::print(stderr, "{}\n", w.str());
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fetchpipe::cli {

// `text` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view text);

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view{text}); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(double number);  // non-finite numbers are written as null (JSON has none)
  JsonWriter& value(bool flag);
  JsonWriter& null();
  template <typename T>
  JsonWriter& value(const std::optional<T>& maybe) {
    return maybe ? value(*maybe) : null();
  }

  [[nodiscard]] const std::string& str() const noexcept { return out_; }

 private:
  void before_value();

  std::string out_;
  // One entry per open container: true once it holds a member (the next one needs a comma).
  std::vector<bool> has_member_;
  bool after_key_ = false;
};

}  // namespace fetchpipe::cli

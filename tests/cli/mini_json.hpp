// mini_json.hpp — just enough JSON to check the CLI's reports: a strict parser into a tree.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace fetchpipe::test {

struct Json;
using JsonObject = std::map<std::string, Json>;
using JsonArray = std::vector<Json>;

struct Json {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<JsonArray>, std::shared_ptr<JsonObject>>
      value;

  [[nodiscard]] bool is_null() const { return value.index() == 0; }
  [[nodiscard]] bool is_number() const { return value.index() == 2; }
  [[nodiscard]] bool is_string() const { return value.index() == 3; }
  [[nodiscard]] bool is_array() const { return value.index() == 4; }
  [[nodiscard]] bool is_object() const { return value.index() == 5; }
  [[nodiscard]] bool boolean() const { return std::get<1>(value); }
  [[nodiscard]] double number() const { return std::get<2>(value); }
  [[nodiscard]] const std::string& string() const { return std::get<3>(value); }
  [[nodiscard]] const JsonArray& array() const { return *std::get<4>(value); }
  [[nodiscard]] const JsonObject& object() const { return *std::get<5>(value); }
  [[nodiscard]] bool has(const std::string& key) const { return is_object() && object().count(key) != 0; }
  // Member access; throws std::out_of_range when absent.
  [[nodiscard]] const Json& operator[](const std::string& key) const { return object().at(key); }
  [[nodiscard]] const Json& operator[](std::size_t i) const { return array().at(i); }
};

// nullopt unless `text` is exactly one valid JSON value (surrounding whitespace allowed).
[[nodiscard]] std::optional<Json> parse_json(const std::string& text);

}  // namespace fetchpipe::test

// fetchpipe/headers.hpp — an ordered list of HTTP header fields with case-insensitive lookup.
//
// Keeps fields in the order they were added (duplicates allowed, as HTTP allows), and looks names
// up without regard to case, as RFC 9110 requires.
//
// Example:
//   fetchpipe::Headers h;
//   h.add("Accept", "application/json");
//   if (auto v = h.get("accept")) std::cout << *v << '\n';  // "application/json"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fetchpipe {

[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  // Appends a field; an existing one of the same name stays.
  void add(std::string name, std::string value);
  // Replaces every field of that name with one.
  void set(std::string name, std::string value);
  // Removes every field of that name; returns how many were removed.
  std::size_t remove(std::string_view name);

  // The first value of that name, if any.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  [[nodiscard]] bool contains(std::string_view name) const { return get(name).has_value(); }

  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  [[nodiscard]] auto begin() const noexcept { return fields_.begin(); }
  [[nodiscard]] auto end() const noexcept { return fields_.end(); }
  void clear() noexcept { fields_.clear(); }

  friend bool operator==(const Headers&, const Headers&) = default;

 private:
  std::vector<Field> fields_;
};

}  // namespace fetchpipe

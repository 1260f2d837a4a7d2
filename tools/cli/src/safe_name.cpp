#include "safe_name.hpp"

#include <fmt/format.h>

#include <vector>

namespace fetchpipe::cli {
namespace {

constexpr std::size_t kMaxComponent = 255;  // NAME_MAX on Linux file systems
constexpr std::size_t kMaxOutputPath = 4000;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Length of the valid UTF-8 sequence at `s[i]`, or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1Fu;
  else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0Fu;
  else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07u;
  else return 0;
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

}  // namespace

std::string name_from_url(std::string_view url) {
  // The path: after "scheme://authority", before '?' or '#'.
  std::string_view rest = url;
  if (const auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    rest.remove_prefix(scheme_end + 3);
    const auto path_start = rest.find_first_of("/?#");
    rest = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  }
  rest = rest.substr(0, rest.find_first_of("?#"));
  const auto slash = rest.rfind('/');
  const std::string decoded = percent_decode(slash == std::string_view::npos ? rest : rest.substr(slash + 1));

  std::string name;
  for (std::size_t i = 0; i < decoded.size();) {
    const auto c = static_cast<unsigned char>(decoded[i]);
    if (c < 0x80) {
      const bool bad = c == '/' || c == '\\' || is_control(c);
      if (!(name.empty() && c == '.')) name += bad ? '_' : static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t len = utf8_length(decoded, i);
    if (len == 0) {
      name += '_';
      ++i;
    } else {
      name.append(decoded, i, len);
      i += len;
    }
  }
  if (name.size() > kMaxDerivedName) {
    std::size_t cut = kMaxDerivedName;
    // Back up to the start of a character: a cut sequence would be invalid UTF-8 in the report.
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name.resize(cut);
  }
  if (name.empty()) name = "index.html";
  return name;
}

OutputPath normalise_output(std::string_view output) {
  auto invalid = [&](std::string_view why) {
    return OutputPath{std::variant<std::string, std::string>(std::in_place_index<1>, std::string(why))};
  };
  if (output.empty()) return invalid("empty");
  if (output.size() > kMaxOutputPath) return invalid(fmt::format("longer than {} bytes", kMaxOutputPath));
  if (output.front() == '/') return invalid("an absolute path (must be relative to --output-dir)");
  for (const char ch : output) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_control(c)) return invalid("contains a control character or NUL");
    if (c == '\\') return invalid("contains '\\'");
  }
  std::vector<std::string_view> parts;
  std::string_view rest = output;
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part == "..") {
      if (parts.empty()) return invalid("leaves --output-dir ('..')");
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      if (part.size() > kMaxComponent) return invalid(fmt::format("a component is longer than {} bytes", kMaxComponent));
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.empty()) return invalid("names no file inside --output-dir");
  // A trailing '/' names a directory, not a file.
  if (output.back() == '/') return invalid("ends with '/' (names a directory)");
  std::string path;
  for (const auto part : parts) {
    if (!path.empty()) path += '/';
    path += part;
  }
  return OutputPath{std::variant<std::string, std::string>(std::in_place_index<0>, std::move(path))};
}

}  // namespace fetchpipe::cli

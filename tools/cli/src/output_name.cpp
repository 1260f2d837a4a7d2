#include "output_name.hpp"

#include <fetchpipe/url.hpp>

namespace fetchpipe::cli {
namespace {

constexpr std::size_t kMaxName = 200;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string output_name_from_url(std::string_view url) {
  std::string_view path;
  const auto parsed = Url::parse(url);
  std::string target = parsed ? parsed->target() : std::string{};
  path = target;
  path = path.substr(0, path.find('?'));
  path = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  std::string name;
  for (const char c : percent_decoded(path)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) continue;  // a decoded '/' must not make a directory
    name.push_back(c);
  }
  while (!name.empty() && name.front() == '.') name.erase(0, 1);
  if (name.size() > kMaxName) {
    name.resize(kMaxName);
    // Do not end in the middle of a UTF-8 sequence.
    while (!name.empty() && (static_cast<unsigned char>(name.back()) & 0xC0) == 0x80) name.pop_back();
    if (!name.empty() && (static_cast<unsigned char>(name.back()) & 0x80) != 0) name.pop_back();
  }
  return name.empty() ? "index.html" : name;
}

std::string with_suffix(const std::string& name, int n) { return n == 0 ? name : name + "." + std::to_string(n); }

}  // namespace fetchpipe::cli

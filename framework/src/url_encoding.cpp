#include "fetchpipe/url_encoding.hpp"

namespace fetchpipe {
namespace {

bool is_alnum(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void append_hex(std::string& out, unsigned char c) {
  constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0x0F]);
}

// The two encodings differ only in which bytes stay and in what a space becomes.
enum class Flavour { query, form };

void append_encoded(std::string& out, std::string_view text, Flavour flavour) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = is_alnum(c) || c == '-' || c == '.' || c == '_' ||
                      (flavour == Flavour::query ? c == '~' : c == '*');
    if (keep) {
      out.push_back(ch);
    } else if (flavour == Flavour::form && c == ' ') {
      out.push_back('+');
    } else {
      append_hex(out, c);
    }
  }
}

std::string join(const QueryParams& params, Flavour flavour) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    append_encoded(out, name, flavour);
    out.push_back('=');
    append_encoded(out, value, flavour);
  }
  return out;
}

}  // namespace

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_encoded(out, text, Flavour::query);
  return out;
}

std::string query_string(const QueryParams& params) { return join(params, Flavour::query); }

std::string with_query(std::string_view url, const QueryParams& params) {
  if (params.empty()) return std::string(url);
  const auto hash = url.find('#');
  const std::string_view before = url.substr(0, hash);
  const std::string_view fragment = hash == std::string_view::npos ? std::string_view{} : url.substr(hash);
  std::string out(before);
  const auto question = before.find('?');
  if (question == std::string_view::npos) out.push_back('?');
  else if (question + 1 != before.size() && before.back() != '&') out.push_back('&');
  out += query_string(params);
  out += fragment;
  return out;
}

std::string form_encode(const QueryParams& params) { return join(params, Flavour::form); }

Request form_request(std::string url, const QueryParams& params) {
  Request request;
  request.method = "POST";
  request.url = std::move(url);
  request.headers.set("Content-Type", "application/x-www-form-urlencoded");
  request.body = form_encode(params);
  return request;
}

}  // namespace fetchpipe

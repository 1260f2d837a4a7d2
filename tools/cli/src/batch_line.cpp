#include "batch_line.hpp"

#include <fmt/format.h>

#include "line_json.hpp"
#include "safe_name.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// A value quoted for a message: control characters escaped, long values shortened.
std::string shown(std::string_view value) {
  constexpr std::size_t kShown = 120;
  if (value.size() <= kShown) return printable(value);
  return printable(value.substr(0, kShown)) + "...";
}

BatchLineParse invalid(std::string url, std::string error) {
  BatchLineParse out;
  out.kind = BatchLineKind::invalid;
  out.url = std::move(url);
  out.error = std::move(error);
  return out;
}

const std::string* string_member(const LineJson& obj, std::string_view key, std::string& error) {
  const LineJson* v = obj.find(key);
  if (v == nullptr) return nullptr;
  if (!v->is_string()) {
    error = fmt::format("\"{}\": expected a string, got {}", key, LineJson::type_name(v->type()));
    return nullptr;
  }
  return &v->text();
}

BatchLineParse from_object(const LineJson& obj, const Request& defaults) {
  std::string error;
  for (const auto& [key, value] : obj.members()) {
    if (key != "url" && key != "output" && key != "method" && key != "headers" && key != "data") {
      return invalid("", fmt::format("unknown member \"{}\" (expected url, output, method, headers, data)", shown(key)));
    }
  }
  const std::string* url = string_member(obj, "url", error);
  if (!error.empty()) return invalid("", error);
  if (url == nullptr) return invalid("", "\"url\": missing");

  BatchLineParse out;
  out.kind = BatchLineKind::job;
  out.url = *url;
  Request& request = out.job.request;
  request = defaults;
  request.url = *url;

  const std::string* data = string_member(obj, "data", error);
  if (!error.empty()) return invalid(*url, error);
  if (data != nullptr) {
    request.body = *data;
    if (request.method == "GET") request.method = "POST";
  }
  const std::string* method = string_member(obj, "method", error);
  if (!error.empty()) return invalid(*url, error);
  if (method != nullptr) request.method = *method;

  if (const LineJson* headers = obj.find("headers"); headers != nullptr) {
    if (!headers->is_object()) {
      return invalid(*url, fmt::format("\"headers\": expected an object, got {}", LineJson::type_name(headers->type())));
    }
    for (const auto& [name, value] : headers->members()) {
      if (!value.is_string()) {
        return invalid(*url, fmt::format("\"headers\": \"{}\": expected a string, got {}", shown(name),
                                         LineJson::type_name(value.type())));
      }
    }
    // Replace first, then add: a line's header list may repeat a name the defaults do not have.
    for (const auto& [name, value] : headers->members()) request.headers.remove(name);
    for (const auto& [name, value] : headers->members()) request.headers.add(name, value.text());
  }

  const std::string* output = string_member(obj, "output", error);
  if (!error.empty()) return invalid(*url, error);
  if (output != nullptr) {
    const auto normal = normalise_output(*output);
    if (!normal) return invalid(*url, fmt::format("\"output\": {}, got '{}'", normal.error(), shown(*output)));
    out.job.output = normal.path();
  }
  if (auto problem = validate(request)) return invalid(*url, *problem);
  return out;
}

}  // namespace

BatchLineParse parse_batch_line(std::string_view text, const Request& defaults) {
  const std::string_view line = trim(text);
  if (line.empty() || line.front() == '#') return {};
  if (line.front() == '{') {
    const auto parsed = parse_line_json(line);
    if (!parsed) return invalid("", fmt::format("not a valid JSON object: {}", parsed.error()));
    if (!parsed->is_object()) return invalid("", "not a JSON object");
    return from_object(*parsed, defaults);
  }
  BatchLineParse out;
  out.kind = BatchLineKind::job;
  out.url = std::string(line);
  out.job.request = defaults;
  out.job.request.url = std::string(line);
  if (auto problem = validate(out.job.request)) return invalid(std::string(line), *problem);
  return out;
}

}  // namespace fetchpipe::cli

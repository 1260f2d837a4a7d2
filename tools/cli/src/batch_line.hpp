// batch_line.hpp — one line of a batch input (`get -i FILE`, and the jobs of a queue worker)
// turned into the request to send and the output name asked for.
//
// A line is a comment or blank (skipped), a URL, or a JSON object
// {"url": ..., "output": ..., "method": ..., "headers": {...}, "data": ...} with only "url"
// required. Anything else is invalid, with a message naming the member and the bad value; a
// hostile line gives a message, never a crash (see line_json.hpp for the limits).
//
// `defaults` is the request the command line describes (-X, -H, -d); a line's own members
// override it: "method" replaces the method, "headers" replace same-named headers and add the
// rest, "data" replaces the body (and, without "method", makes a GET a POST, like -d).
//
//   const auto parsed = parse_batch_line(text, defaults);
//   switch (parsed.kind) {
//     case BatchLineKind::skip: break;
//     case BatchLineKind::invalid: report(parsed.url, parsed.error); break;
//     case BatchLineKind::job: fetch(parsed.job.request, parsed.job.output); break;
//   }
#pragma once

#include <fetchpipe/request.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace fetchpipe::cli {

enum class BatchLineKind { skip, job, invalid };

struct BatchJob {
  Request request{};                   // valid per fetchpipe::validate()
  std::optional<std::string> output{}; // normalised by normalise_output(); nullopt: name from the URL
};

struct BatchLineParse {
  BatchLineKind kind = BatchLineKind::skip;
  BatchJob job{};       // kind == job
  std::string url{};    // the line's URL as far as it could be read (for the report); may be empty
  std::string error{};  // kind == invalid: what is wrong, naming the member and the value
};

// `text` is one line without its '\n' (a trailing '\r' and surrounding blanks are ignored).
[[nodiscard]] BatchLineParse parse_batch_line(std::string_view text, const Request& defaults);

}  // namespace fetchpipe::cli

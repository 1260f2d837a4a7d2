// job_line.hpp — one queue job (a line of batch mode) turned into the request to send and the
// output name it asks for.
//
// A job is what one line of `get -i FILE` holds: a URL, or a JSON object with at least `url`.
// enqueue checks every line with this before adding any; the worker runs it.
#pragma once

#include <fetchpipe/request.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace fetchpipe::cli {

struct JobSpec {
  Request request{};
  // The line's own `output` (relative to --output-dir), when it gave one.
  std::optional<std::string> output{};
};

struct JobParse {
  std::optional<JobSpec> spec{};
  std::optional<std::string> error{};  // why the line is not a job (kind invalid_request)
};

// Comments (#) and blank lines are not jobs: is_job_line() is false for them.
[[nodiscard]] bool is_job_line(std::string_view line);
[[nodiscard]] JobParse parse_job_line(std::string_view line);

}  // namespace fetchpipe::cli

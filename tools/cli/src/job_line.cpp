// Until batch mode's line parser is merged, only URL lines are jobs: a JSON object line is
// reported as unsupported rather than guessed at.
#include "job_line.hpp"

#include <fmt/format.h>

#include "text.hpp"

namespace fetchpipe::cli {

bool is_job_line(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] != '#';
}

JobParse parse_job_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (line.starts_with('{')) {
    return JobParse{std::nullopt, "JSON object lines need batch mode's line parser, which this build lacks"};
  }
  Request request{.url = std::string(line)};
  if (auto problem = validate(request)) return JobParse{std::nullopt, std::move(*problem)};
  return JobParse{JobSpec{std::move(request), std::nullopt}, std::nullopt};
}

}  // namespace fetchpipe::cli

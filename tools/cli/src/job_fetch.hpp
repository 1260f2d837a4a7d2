// job_fetch.hpp — one queue job's fetch: the body streamed into its output file (complete or
// absent, as with `get -o`), and the outcome handed to `done` exactly once.
#pragma once

#include <fetchpipe/client.hpp>
#include <fetchpipe/executor.hpp>

#include <functional>
#include <optional>
#include <string>

#include "output_file.hpp"
#include "report.hpp"

namespace fetchpipe::cli {

struct JobResult {
  std::string id;
  FetchReport report{};
  std::string output{};  // the file written, or "" (failure, or no body kept)
};

// Starts the fetch. `done` runs once, on a thread of `finisher`, after the file was committed
// (flushed to disk and renamed) or discarded: that flush takes milliseconds, and on the
// transport's own thread it would stall every other transfer of the worker. A sink failure (disk
// full) cancels the fetch and is reported as internal_error.
FetchHandle start_job_fetch(Client& client, Executor& finisher, std::string id, const Request& request,
                            OutputFile file, std::function<void(JobResult)> done);

// The result of a job that never reached the network (a bad line, an unusable output path).
[[nodiscard]] JobResult rejected_job(std::string id, std::string kind, std::string message);

}  // namespace fetchpipe::cli

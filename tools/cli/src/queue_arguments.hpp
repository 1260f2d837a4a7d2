// queue_arguments.hpp — the command lines of `enqueue` and `worker` (docs/cli.md).
//
// The worker takes the retry, timeout, budget, hedge and breaker flags of `get`: those are handed
// to parse_get itself (with a placeholder URL), so the two commands can never disagree about what
// a flag means or accepts. Flags of `get` that describe one request (-X, -H, -d, -o, -i) are not
// worker flags: each job line carries its own request.
#pragma once

#include <fetchpipe/queue/job_queue.hpp>
#include <fetchpipe/queue/redis_url.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "arguments.hpp"

namespace fetchpipe::cli {

struct EnqueueCommand {
  queue::RedisEndpoint endpoint{};
  std::string stream{};
  std::optional<std::string> input_file{};  // -i; "-" = stdin
  std::vector<std::string> urls{};
  bool help = false;
};
// Throws UsageError.
[[nodiscard]] EnqueueCommand parse_enqueue(Args args);

struct WorkerCommand {
  queue::RedisEndpoint endpoint{};
  queue::QueueNames names{};
  int jobs = 16;
  int max_per_host = 6;
  std::string output_dir = ".";
  std::chrono::milliseconds claim_after{60000};
  std::int64_t max_deliveries = 5;
  std::chrono::milliseconds drain_timeout{10000};
  bool json = false;
  bool exit_when_empty = false;
  bool help = false;
  GetCommand fetch{};  // the retry, timeout, budget, hedge and breaker settings, -v, --transport
};
// Throws UsageError.
[[nodiscard]] WorkerCommand parse_worker(Args args);

}  // namespace fetchpipe::cli

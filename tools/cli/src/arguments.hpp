// arguments.hpp — parsing and validating the command line of each command into a plain struct.
//
// Parsing is by hand (no dependency): options are `--name VALUE`, `--name=VALUE`, `-X VALUE` or
// `-XVALUE`; `--` ends the options. Every value is checked here, with the library's own
// validators where it has one (validate(Request), parse_duration, parse_size, parse_retry_on, the
// policy constructors), so the tool and the library never disagree about what is valid. A bad
// value becomes one message naming the flag and the value; nothing is sent.
#pragma once

#include <fetchpipe/client.hpp>
#include <fetchpipe/policies/default_retry_policy.hpp>
#include <fetchpipe/policies/exponential_backoff.hpp>
#include <fetchpipe/request.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleet_flags.hpp"

namespace fetchpipe::cli {

using Args = std::span<const std::string_view>;

struct GetCommand {
  Request request{};
  std::optional<std::string> output_path{};  // -o; nullopt = stdout
  std::string transport = "curl";
  DefaultRetryPolicy::Options retry{};
  ExponentialBackoff::Options backoff{};
  Timeouts timeouts{};
  int max_redirects = 10;
  std::optional<std::uint64_t> max_body_bytes{};
  std::string cacert{};  // "" = the system store
  FleetFlags fleet{};    // --retry-budget, --no-retry-budget, --circuit-breaker
  bool json = false;
  bool verbose = false;
  bool help = false;

  // Batch mode (`-i FILE`) and its limits. `--rate` also applies to a single fetch.
  struct Batch {
    std::optional<std::string> input_file{};  // "-" = stdin; set = batch mode
    int jobs = 16;
    int max_per_host = 6;
    std::optional<std::string> output_dir{};
    std::optional<std::string> journal{};
  } batch{};
  std::optional<double> rate_per_second{};
  bool fail_with_body = false;
  // -x and --noproxy; nullopt = the environment (see the transports' options).
  std::optional<std::string> proxy{};
  std::optional<std::string> no_proxy{};
  bool compressed = false;  // --compressed
  // --http1.1, --http2, --http2-prior-knowledge (curl transport); nullopt = the default, 1.1.
  std::optional<HttpVersion> http_version{};
  bool continue_part = false;  // -C: keep FILE.part across runs and continue it
  bool no_resume = false;      // --no-resume: a retry after a partial body starts over
};

// The parsed command, or the first problem found. Parsing goes on past a problem only to learn
// whether --json was given, so a usage error can still end stderr with the JSON object.
struct GetParse {
  GetCommand command{};
  std::optional<std::string> error{};
};
[[nodiscard]] GetParse parse_get(Args args);

struct ServeCommand {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool help = false;
};
// Throws UsageError.
[[nodiscard]] ServeCommand parse_serve(Args args);

struct BenchCommand {
  std::vector<std::string> transports{"curl", "httplib"};
  std::vector<int> concurrency{1, 16, 64};
  std::chrono::nanoseconds duration{std::chrono::seconds{3}};
  std::optional<std::uint64_t> requests{};  // when set, replaces duration
  std::optional<std::string> url{};         // nullopt = the embedded server's /fixed
  bool json = false;
  bool help = false;
};
// Throws UsageError.
[[nodiscard]] BenchCommand parse_bench(Args args);

}  // namespace fetchpipe::cli

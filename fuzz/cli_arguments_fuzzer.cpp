// Fuzzes the CLI's argument parsers (tools/cli/src/arguments.hpp: parse_get, parse_serve,
// parse_bench), linked from the tool's own sources.
//
// Input: the first byte picks the command (get, serve, bench); the rest is argv, split at NUL.
// Inputs containing '@' are skipped: `-d @FILE` reads a file (or stdin), which a fuzzer must not
// do; URLs with '@' are covered by fuzz_url. Invariants:
//   - nothing but UsageError ever escapes a parser (parse_get reports through GetParse::error);
//   - an error is a non-empty message;
//   - a `get` command that parsed is valid for the library: validate(request) accepts it, the
//     retry and backoff options construct their policies, every timeout is positive, and a Client
//     accepts the whole configuration; run on the memory transport in virtual time, its fetch
//     ends with exactly one terminal callback;
//   - a `bench` command has 1..10000 per concurrency level, a positive duration and a valid URL;
//     a `serve` command has a host.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "arguments.hpp"
#include "fetchpipe/client.hpp"
#include "fetchpipe/transports/memory_transport.hpp"
#include "fuzz_check.hpp"
#include "text.hpp"

namespace {

using namespace fetchpipe;

void check_get(const cli::GetCommand& cmd) {
  const auto problem = validate(cmd.request);
  FUZZ_CHECK(!problem, "parse_get accepted a request validate() rejects: %s", problem->c_str());
  FUZZ_CHECK(cmd.transport == "curl" || cmd.transport == "httplib", "transport '%s'", cmd.transport.c_str());
  FUZZ_CHECK(cmd.max_redirects >= 0, "max_redirects %d", cmd.max_redirects);
  FUZZ_CHECK(cmd.timeouts.connect.count() > 0 && cmd.timeouts.attempt.count() > 0, "non-positive timeout");
  FUZZ_CHECK(!cmd.timeouts.overall || cmd.timeouts.overall->count() > 0, "non-positive --timeout");
  FUZZ_CHECK(!cmd.timeouts.stall || cmd.timeouts.stall->count() > 0, "non-positive --stall-timeout");
  FUZZ_CHECK(cmd.backoff.initial.count() >= 0 && cmd.backoff.max >= cmd.backoff.initial, "backoff bounds");

  auto clock = std::make_shared<ManualScheduler>();
  auto executor = std::make_shared<ManualExecutor>();
  auto memory = std::make_shared<MemoryTransport>(clock, MemoryTransport::Options{.record_requests = false});
  memory->script_fallback(Scripted::retry_after(503, "1"));
  ClientOptions options;
  options.transport = memory;
  options.scheduler = clock;
  options.callback_executor = executor;
  options.timeouts = cmd.timeouts;
  options.max_redirects = cmd.max_redirects;
  options.max_body_bytes = cmd.max_body_bytes;
  try {
    options.retry_policy = std::make_shared<DefaultRetryPolicy>(cmd.retry);
    auto backoff = cmd.backoff;
    backoff.seed = 1;
    options.backoff_policy = std::make_shared<ExponentialBackoff>(backoff);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "a parsed command's policies do not construct: %s", e.what());
  }
  int terminal = 0;
  {
    std::unique_ptr<Client> client;
    try {
      client = std::make_unique<Client>(options);
    } catch (const std::exception& e) {
      FUZZ_CHECK(false, "Client rejects a parsed command: %s", e.what());
    }
    auto handle = client->fetch(cmd.request, Callbacks{.on_success = [&](Response) { ++terminal; },
                                                       .on_failure = [&](Error) { ++terminal; },
                                                       .on_cancel = [&](Error) { ++terminal; }});
    // A few retries at most: --max-attempts may be two billion.
    for (int i = 0; i < 16 && terminal == 0; ++i) {
      executor->run_all();
      if (!clock->run_next()) break;
      executor->run_all();
    }
    if (terminal == 0) handle.cancel();
    clock->run_due();
    executor->run_all();
  }
  executor->run_all();
  FUZZ_CHECK(terminal == 1, "%d terminal callbacks", terminal);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest = fetchpipe::fuzz::as_text(data + 1, size - 1);
  if (rest.find('@') != std::string_view::npos) return 0;
  std::vector<std::string_view> argv;
  if (!rest.empty()) argv = fetchpipe::fuzz::split(rest, '\0', 256);
  const cli::Args args(argv);

  switch (data[0] % 3) {
    case 0: {
      const auto parsed = cli::parse_get(args);
      if (parsed.error) {
        FUZZ_CHECK(!parsed.error->empty(), "empty usage error");
      } else if (!parsed.command.help) {
        check_get(parsed.command);
      }
      break;
    }
    case 1:
      try {
        const auto serve = cli::parse_serve(args);
        FUZZ_CHECK(!serve.host.empty(), "serve without a host");
      } catch (const cli::UsageError& e) {
        FUZZ_CHECK(*e.what() != '\0', "empty usage error");
      }
      break;
    default:
      try {
        const auto bench = cli::parse_bench(args);
        FUZZ_CHECK(!bench.concurrency.empty(), "bench without concurrency");
        for (const int c : bench.concurrency) FUZZ_CHECK(c >= 1 && c <= 10000, "concurrency %d", c);
        FUZZ_CHECK(bench.duration.count() > 0, "non-positive duration");
        FUZZ_CHECK(!bench.requests || *bench.requests >= 1, "zero requests");
        if (bench.url) FUZZ_CHECK(!validate(Request{.url = *bench.url}), "bench URL does not validate");
      } catch (const cli::UsageError& e) {
        FUZZ_CHECK(*e.what() != '\0', "empty usage error");
      }
      break;
  }
  return 0;
}

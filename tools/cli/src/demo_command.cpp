// `fetchpipe demo`: a guided tour against an embedded fault server, for a newcomer, in seconds.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include <fetchpipe/client.hpp>
#include <fetchpipe/policies/default_retry_policy.hpp>
#include <fetchpipe/policies/exponential_backoff.hpp>
#include <fetchpipe/tools/fault_server.hpp>

#include "bench_runner.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "report.hpp"
#include "text.hpp"
#include "transports.hpp"

namespace fetchpipe::cli {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct ClientSetup {
  std::string transport = "curl";
  DefaultRetryPolicy::Options retry{};
  ExponentialBackoff::Options backoff{.initial = 200ms, .max = 2s};
  std::chrono::nanoseconds attempt_timeout = 5s;
};

std::unique_ptr<Client> make_client(const ClientSetup& setup) {
  ClientOptions options;
  options.transport = make_transport(setup.transport);
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(setup.retry);
  options.backoff_policy = std::make_shared<ExponentialBackoff>(setup.backoff);
  options.timeouts.attempt = setup.attempt_timeout;
  return std::make_unique<Client>(std::move(options));
}

void say(std::string_view text) {
  fmt::print("{}\n", text);
  std::fflush(stdout);
}

// How one demo fetch ended, in one line.
struct Ending {
  std::string line;
};

// Runs a fetch, printing each attempt as the pipeline reports it; cancels it after `cancel_after`
// when given. Returns the closing line.
Ending fetch_and_tell(Client& client, const std::string& url, std::optional<std::chrono::milliseconds> cancel_after = {}) {
  std::promise<Ending> ending;
  auto ended = ending.get_future();
  const auto start = SteadyClock::now();
  auto since_start = [start] { return human_duration(SteadyClock::now() - start); };
  SteadyClock::time_point cancelled_at{};
  Callbacks cb{
      .on_success =
          [&](Response r) {
            std::string body = r.body.substr(0, r.body.find('\n'));
            ending.set_value({fmt::format("  => on_success: {} \"{}\" after {} attempt(s), {} in all", r.status,
                                          printable(body), r.attempts.size(), since_start())});
          },
      .on_failure =
          [&](Error e) {
            ending.set_value({fmt::format("  => on_failure: {} (reason: {}) after {} attempt(s), {} in all",
                                          to_string(e.kind), to_string(e.reason), e.attempts.size(), since_start())});
          },
      .on_cancel =
          [&](Error e) {
            ending.set_value({fmt::format("  => on_cancel: kind {}, reason {}, {} after cancel()", to_string(e.kind),
                                          to_string(e.reason), human_duration(SteadyClock::now() - cancelled_at))});
          },
      .on_attempt = [](const AttemptRecord& record) { say(fmt::format("     {}", describe_attempt(record))); },
  };
  FetchHandle handle = client.fetch(Request{.url = url}, std::move(cb));
  if (cancel_after) {
    // The demo's point is a cancel at an arbitrary moment; a plain sleep is that moment.
    std::this_thread::sleep_for(*cancel_after);
    cancelled_at = SteadyClock::now();
    say(fmt::format("     ... {} passed, no answer: calling handle.cancel()", human_duration(*cancel_after)));
    handle.cancel();
  }
  return ended.get();
}

void section(int n, std::string_view title, std::string_view explanation) {
  say("");
  say(fmt::format("{}. {}", n, title));
  say(fmt::format("   {}", explanation));
}

}  // namespace

int run_demo(Args args) {
  for (const auto arg : args) {
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", kDemoHelp);
      return kExitSuccess;
    }
    fmt::print(stderr, "fetchpipe: unknown option '{}' (see fetchpipe demo --help)\n", arg);
    return kExitUsage;
  }
  const auto tour_start = SteadyClock::now();
  tools::FaultServer server;
  say("fetchpipe demo: a tour of retries, timeouts and cancellation.");
  say(fmt::format("An embedded fault server runs at {}; each URL asks it to misbehave in a given way.",
                  server.base_url()));

  section(1, "A flaky server, healed by retries (curl transport)",
          "/flaky fails twice with 503, then answers. Each failed attempt is followed by a backoff\n"
          "   (exponential, 200 ms base, full jitter: a random wait up to the base).");
  {
    auto client = make_client({});
    say(fetch_and_tell(*client, server.url("/flaky?key=demo-curl&fail=2&status=503")).line);
  }

  section(2, "Retry-After honoured",
          "The 503 carries 'Retry-After: 1': the client waits the 1 s the server asked for,\n"
          "   instead of its own backoff (capped by --retry-after-max, never past --timeout).");
  {
    auto client = make_client({});
    say(fetch_and_tell(*client, server.url("/flaky?key=demo-retry-after&fail=1&status=503&retry_after=1")).line);
  }

  section(3, "A hung server, cut by the attempt timeout",
          "/hang reads the request and never answers. Each attempt gets 500 ms; two attempts at most.");
  {
    ClientSetup setup;
    setup.retry.max_attempts = 2;
    setup.backoff = {.initial = 100ms, .max = 100ms};
    setup.attempt_timeout = 500ms;
    auto client = make_client(setup);
    say(fetch_and_tell(*client, server.url("/hang")).line);
  }

  section(4, "Cancelling a fetch",
          "Another hung fetch, cancelled after 300 ms: the attempt is aborted at once and\n"
          "   on_cancel runs (a cancel is never retried and never reported as a failure).");
  {
    auto client = make_client({});
    say(fetch_and_tell(*client, server.url("/hang"), 300ms).line);
  }

  section(5, "The same flaky fetch on the httplib transport",
          "Swapping the transport is one line (ClientOptions::transport); the retry rules stay.");
  {
    auto client = make_client({.transport = "httplib"});
    say(fetch_and_tell(*client, server.url("/flaky?key=demo-httplib&fail=2&status=503")).line);
  }

  section(6, "Throughput per transport",
          "16 fetches kept in flight for 1 s against /fixed, over loopback (fetchpipe bench does more).");
  say("");
  fmt::print("   {}", format_bench_header());
  for (const char* transport : {"curl", "httplib"}) {
    const auto row = run_bench({.transport = transport, .concurrency = 16, .duration = 1s, .url = server.url("/fixed")});
    fmt::print("   {}", format_bench_row(row));
    std::fflush(stdout);
  }
  say("");
  say(fmt::format("Tour done in {}. Try: fetchpipe serve, then fetchpipe get URL -v --json.",
                  human_duration(SteadyClock::now() - tour_start)));
  return kExitSuccess;
}

}  // namespace fetchpipe::cli

// Retry and timeouts configured in code; the transport chosen in one line.
//
// Starts the embedded fault server, then fetches an endpoint that fails twice with 503 before it
// succeeds, printing each attempt and the backoff chosen after it.
//
//   ./retry_example            # libcurl transport
//   ./retry_example httplib    # cpp-httplib transport
#include <fmt/format.h>

#include <chrono>
#include <future>
#include <string_view>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "fetchpipe/transports/httplib_transport.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const bool use_httplib = argc > 1 && std::string_view(argv[1]) == "httplib";
  fetchpipe::tools::FaultServer server;  // 127.0.0.1, an ephemeral port

  fetchpipe::ClientOptions options;
  // The one line that picks the transport:
  options.transport = use_httplib ? std::shared_ptr<fetchpipe::Transport>(std::make_shared<fetchpipe::HttplibTransport>())
                                  : std::make_shared<fetchpipe::CurlTransport>();
  options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>(
      fetchpipe::DefaultRetryPolicy::Options{.max_attempts = 5, .retry_on_statuses = {429, 500, 502, 503, 504}});
  options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>(fetchpipe::ExponentialBackoff::Options{
      .initial = 50ms, .multiplier = 2, .max = 1s, .jitter = fetchpipe::Jitter::full, .seed = 42});
  options.timeouts.attempt = 2s;
  options.timeouts.overall = 10s;
  fetchpipe::Client client(options);

  std::promise<int> exit_code;
  client.fetch({.url = server.url("/flaky?key=example&fail=2&status=503")},
               {.on_success =
                    [&](fetchpipe::Response r) {
                      fmt::print("success: HTTP {} after {} attempts: {}", r.status, r.attempts.size(), r.body);
                      exit_code.set_value(0);
                    },
                .on_failure =
                    [&](fetchpipe::Error e) {
                      fmt::print("failure: {} ({})\n", e.message, fetchpipe::to_string(e.reason));
                      exit_code.set_value(1);
                    },
                .on_cancel = [&](fetchpipe::Error) { exit_code.set_value(130); },
                .on_attempt =
                    [](const fetchpipe::AttemptRecord& a) {
                      fmt::print("attempt {}: {} in {} ms{}\n", a.number,
                                 a.status ? fmt::format("HTTP {}", *a.status) : std::string(a.message),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(a.elapsed).count(),
                                 a.backoff ? fmt::format(", next try in {} ms",
                                                         std::chrono::duration_cast<std::chrono::milliseconds>(*a.backoff).count())
                                           : "");
                    }});
  return exit_code.get_future().get();
}

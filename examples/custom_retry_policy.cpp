// A retry policy of your own: retry only 503, at most three attempts, and say why it stopped.
#include <iostream>
#include <memory>

#include "fetchpipe/defaults.hpp"
#include "fetchpipe/retry_policy.hpp"
#include "fetchpipe/sync.hpp"
#include "fetchpipe/tools/fault_server.hpp"

class OnlyServiceUnavailable final : public fetchpipe::RetryPolicy {
 public:
  fetchpipe::RetryDecision decide(const fetchpipe::RetryContext& c) override {
    using fetchpipe::GiveUpReason, fetchpipe::RetryDecision;
    if (c.status != 503) return RetryDecision::stop(GiveUpReason::not_retryable);
    if (c.attempt >= 3) return RetryDecision::stop(GiveUpReason::attempts_exhausted);
    return RetryDecision::again();  // after the backoff policy's wait
  }
  std::unique_ptr<fetchpipe::RetryPolicy> clone() const override {
    return std::make_unique<OnlyServiceUnavailable>(*this);  // one per fetch: it could keep state
  }
};

int main() {
  fetchpipe::tools::FaultServer server;
  fetchpipe::ClientOptions options;
  options.retry_policy = std::make_shared<OnlyServiceUnavailable>();
  fetchpipe::Client client(fetchpipe::with_defaults(std::move(options)));  // the rest by default

  fetchpipe::Result healed = fetchpipe::fetch_sync(client, {.url = server.url("/flaky?key=a&fail=2&status=503")});
  fetchpipe::Result refused = fetchpipe::fetch_sync(client, {.url = server.url("/flaky?key=b&fail=1&status=500")});
  std::cout << "503 twice: " << (healed ? "healed after " + std::to_string(healed->attempts.size()) + " attempts" : "failed")
            << "\n500 once: "
            << (refused ? "succeeded" : std::string(fetchpipe::to_string(refused.error().reason))) << '\n';
  return healed && !refused ? 0 : 1;
}

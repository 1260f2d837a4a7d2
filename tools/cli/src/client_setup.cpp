#include "client_setup.hpp"

#include <fetchpipe/executor.hpp>

#include "fail_with_body.hpp"
#include "fleet_flags.hpp"
#include "transports.hpp"

namespace fetchpipe::cli {

ClientOptions client_options(const GetCommand& cmd, std::size_t parallelism) {
  ClientOptions options;
  // A hedging fetch has up to --hedge-max attempts in flight: httplib needs a worker for each.
  if (cmd.fleet.hedge != FleetFlags::Hedge::off) parallelism *= static_cast<std::size_t>(cmd.fleet.hedge_max.value_or(2));
  options.transport = make_transport(cmd.transport, parallelism, TransportSettings{cmd.proxy, cmd.no_proxy, cmd.compressed, cmd.http_version});
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(cmd.retry);
  if (cmd.fail_with_body) {
    options.retry_policy = std::make_shared<FailWithBodyPolicy>(options.retry_policy, cmd.retry.retry_on_statuses,
                                                                cmd.retry.max_attempts);
    // The last answer of a retried status is written from Error::response.
    options.error_body_limit = fail_with_body_limit(cmd.max_body_bytes);
  }
  options.backoff_policy = std::make_shared<ExponentialBackoff>(cmd.backoff);
  // Inline: on_chunk then runs on the transport's thread, so a slow stdout or disk slows the
  // transfer itself (TCP flow control) instead of queueing chunks in memory. The pipeline
  // defers the callbacks it must not run inside fetch() or cancel() through its scheduler.
  options.callback_executor = std::make_shared<InlineExecutor>();
  options.timeouts = cmd.timeouts;
  options.max_redirects = cmd.max_redirects;
  options.max_body_bytes = cmd.max_body_bytes;
  options.tls.ca_file = cmd.cacert;
  // A Range counts bytes of the encoded body, the output holds decoded ones: with --compressed a
  // retry starts over rather than ask for the wrong offset.
  options.resume = !cmd.no_resume && !cmd.compressed;
  // Per-origin slots matter only when fetches run side by side (batch mode).
  if (cmd.batch.input_file) options.admission.max_per_origin = cmd.batch.max_per_host;
  options.admission.rate_per_second = cmd.rate_per_second;
  apply_fleet_options(cmd.fleet, options);  // --retry-budget, --no-retry-budget, --circuit-breaker, --hedge
  return options;
}

}  // namespace fetchpipe::cli

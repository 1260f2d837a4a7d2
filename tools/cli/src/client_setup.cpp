#include "client_setup.hpp"

#include <fetchpipe/executor.hpp>

#include "transports.hpp"

namespace fetchpipe::cli {

ClientOptions client_options(const GetCommand& cmd, std::size_t parallelism) {
  ClientOptions options;
  options.transport = make_transport(cmd.transport, parallelism);
  options.retry_policy = std::make_shared<DefaultRetryPolicy>(cmd.retry);
  options.backoff_policy = std::make_shared<ExponentialBackoff>(cmd.backoff);
  // Inline: on_chunk then runs on the transport's thread, so a slow stdout or disk slows the
  // transfer itself (TCP flow control) instead of queueing chunks in memory. The pipeline
  // defers the callbacks it must not run inside fetch() or cancel() through its scheduler.
  options.callback_executor = std::make_shared<InlineExecutor>();
  options.timeouts = cmd.timeouts;
  options.max_redirects = cmd.max_redirects;
  options.max_body_bytes = cmd.max_body_bytes;
  options.tls.ca_file = cmd.cacert;
  // Per-origin slots matter only when fetches run side by side (batch mode).
  if (cmd.batch.input_file) options.admission.max_per_origin = cmd.batch.max_per_host;
  options.admission.rate_per_second = cmd.rate_per_second;
  return options;
}

}  // namespace fetchpipe::cli

#include "fetchpipe/defaults.hpp"

#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/sync.hpp"

#if FETCHPIPE_DEFAULT_TRANSPORT_CURL
#include "fetchpipe/transports/curl_transport.hpp"
#else
#include "fetchpipe/transports/httplib_transport.hpp"
#endif

namespace fetchpipe {

std::shared_ptr<Transport> make_default_transport() {
#if FETCHPIPE_DEFAULT_TRANSPORT_CURL
  return std::make_shared<CurlTransport>();
#else
  return std::make_shared<HttplibTransport>();
#endif
}

ClientOptions with_defaults(ClientOptions options) {
  if (!options.transport) options.transport = make_default_transport();
  if (!options.retry_policy) options.retry_policy = std::make_shared<DefaultRetryPolicy>();
  if (!options.backoff_policy) options.backoff_policy = std::make_shared<ExponentialBackoff>();
  return options;
}

// Declared in fetchpipe/client.hpp; defined here because the framework links no transport or
// policy (so a Client() needs this library, which fetchpipe::fetchpipe brings).
Client::Client() : Client(with_defaults()) {}

Result get(std::string url) {
  Client client;
  return fetch_sync(client, Request{.url = std::move(url)});
}

}  // namespace fetchpipe

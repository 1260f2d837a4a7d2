// fetchpipe/defaults.hpp — a client that works without configuration, and the one-line fetch.
//
// `fetchpipe::Client client;` builds a client from `with_defaults()`: the curl transport (the
// cpp-httplib one when fetchpipe was built without curl), DefaultRetryPolicy and
// ExponentialBackoff with their documented defaults, and ClientOptions' own defaults for the rest
// (timeouts, redirects, TLS verification, a one-thread callback executor, a real-time scheduler).
// These live in the `fetchpipe::defaults` library (part of `fetchpipe::fetchpipe`), not in the
// framework, which knows no transport or policy.
//
// To change some options and keep the other defaults, fill the fields you care about and pass the
// options through with_defaults(): it sets only the transport and policies left empty.
//
// Example:
//   fetchpipe::Result r = fetchpipe::get("http://127.0.0.1:8080/fixed");  // one line, blocking
//   if (r) std::cout << r->body << '\n';
//
//   fetchpipe::ClientOptions options;
//   options.timeouts.overall = 10s;  // everything else as documented
//   fetchpipe::Client tuned(fetchpipe::with_defaults(std::move(options)));
#pragma once

#include <memory>
#include <string>

#include "fetchpipe/client.hpp"
#include "fetchpipe/result.hpp"

namespace fetchpipe {

// A new instance of the default transport (curl, or cpp-httplib when curl was not built).
[[nodiscard]] std::shared_ptr<Transport> make_default_transport();

// `options` with every empty transport / retry_policy / backoff_policy set to the default; fields
// already set are kept. The executor and scheduler stay empty: the Client fills those itself.
[[nodiscard]] ClientOptions with_defaults(ClientOptions options = {});

// GETs `url` with a default client built for this call and waits for the Result. Costs a client
// (threads, no connection reuse) per call: for scripts and first steps; keep a Client for more.
// Safe anywhere except that it blocks the calling thread.
[[nodiscard]] Result get(std::string url);

}  // namespace fetchpipe

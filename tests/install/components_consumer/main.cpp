// Built against an installed fetchpipe through one component (CMake) or pkg-config: a default
// client fetches from a loopback port nobody listens on, so the real transport runs and fails
// the way it should, with no server needed.
#include <cstdio>

#include "fetchpipe/defaults.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/sync.hpp"

int main() {
  fetchpipe::ClientOptions options;
  options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>(fetchpipe::DefaultRetryPolicy::Options{.max_attempts = 1});
  fetchpipe::Client client(fetchpipe::with_defaults(options));
  fetchpipe::Result r = fetchpipe::fetch_sync(client, {.url = "http://127.0.0.1:1/"});
  std::printf("consumer: %s\n", r ? "unexpected success" : r.error().message.c_str());
  return !r && r.error().kind == fetchpipe::ErrorKind::connect_failure ? 0 : 1;
}

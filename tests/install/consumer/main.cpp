// A project outside the tree, built against an installed fetchpipe: a fetch on the memory
// transport in virtual time proves the headers, libraries and package config fit together.
#include <cstdio>

#include "fetchpipe/client.hpp"
#include "fetchpipe/policies/default_retry_policy.hpp"
#include "fetchpipe/policies/exponential_backoff.hpp"
#include "fetchpipe/transports/memory_transport.hpp"

int main() {
  auto clock = std::make_shared<fetchpipe::ManualScheduler>();
  auto memory = std::make_shared<fetchpipe::MemoryTransport>(clock);
  memory->script("http://consumer.test/", {fetchpipe::Scripted::status_code(503), fetchpipe::Scripted::ok("hi")});
  fetchpipe::ClientOptions options;
  options.transport = memory;
  options.scheduler = clock;
  options.callback_executor = std::make_shared<fetchpipe::ManualExecutor>();
  options.retry_policy = std::make_shared<fetchpipe::DefaultRetryPolicy>();
  options.backoff_policy = std::make_shared<fetchpipe::ExponentialBackoff>();
  auto executor = std::static_pointer_cast<fetchpipe::ManualExecutor>(options.callback_executor);
  int status = 0;
  {
    fetchpipe::Client client(options);
    client.fetch({.url = "http://consumer.test/"}, {.on_success = [&](fetchpipe::Response r) { status = r.status; }});
    for (int i = 0; i < 100 && status == 0; ++i) {
      clock->advance(std::chrono::milliseconds(100));
      executor->run_all();
    }
  }
  std::printf("consumer: status %d\n", status);
  return status == 200 ? 0 : 1;
}

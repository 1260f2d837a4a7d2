// The callback form: a client kept for many fetches, and exactly one terminal callback each.
#include <future>
#include <iostream>

#include "fetchpipe/client.hpp"
#include "fetchpipe/tools/fault_server.hpp"

int main() {
  fetchpipe::tools::FaultServer server;
  std::promise<int> exit_code;  // declared before the client: it must outlive the callbacks
  fetchpipe::Client client;     // curl, DefaultRetryPolicy, ExponentialBackoff, documented timeouts

  client.fetch({.url = server.url("/flaky?key=callbacks&fail=1&status=503")},
               {.on_success =
                    [&](fetchpipe::Response r) {
                      std::cout << "HTTP " << r.status << " after " << r.attempts.size() << " attempts: " << r.body;
                      exit_code.set_value(0);
                    },
                .on_failure =
                    [&](fetchpipe::Error e) {
                      std::cerr << e.message << " [" << fetchpipe::to_string(e.reason) << "]\n";
                      exit_code.set_value(1);
                    },
                .on_cancel = [&](fetchpipe::Error) { exit_code.set_value(130); }});
  return exit_code.get_future().get();
}

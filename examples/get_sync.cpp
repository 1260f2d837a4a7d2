// The shortest fetch: one line, blocking, every default (curl, retries, timeouts).
//
// The embedded fault server stands in for a real site so the example runs anywhere.
#include <iostream>

#include "fetchpipe/defaults.hpp"
#include "fetchpipe/tools/fault_server.hpp"

int main() {
  fetchpipe::tools::FaultServer server;  // 127.0.0.1, an ephemeral port

  fetchpipe::Result r = fetchpipe::get(server.url("/fixed"));

  if (!r) {
    std::cerr << "failed: " << r.error().message << '\n';
    return 1;
  }
  std::cout << "HTTP " << r->status << ": " << r->body;
  return 0;
}

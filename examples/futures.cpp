// Futures: start several fetches, do something else, then collect each Result.
#include <future>
#include <iostream>
#include <vector>

#include "fetchpipe/defaults.hpp"
#include "fetchpipe/future.hpp"
#include "fetchpipe/tools/fault_server.hpp"

int main() {
  fetchpipe::tools::FaultServer server;
  fetchpipe::Client client;

  std::vector<std::future<fetchpipe::Result>> pending;
  for (const char* path : {"/fixed", "/delay?ms=50", "/status?code=404"}) {
    pending.push_back(fetchpipe::fetch_future(client, {.url = server.url(path)}));
  }

  int ok = 0;
  for (auto& f : pending) {
    fetchpipe::Result r = f.get();  // here, on main: never on the client's callback executor
    if (r) {
      ++ok;
      std::cout << "HTTP " << r->status << ": " << r->body;
    } else {
      std::cout << "error: " << r.error().message << '\n';
    }
  }
  return ok == 2 ? 0 : 1;  // the 404 is an error by default
}

// Swapping transports is one line: the same fetch through libcurl and through cpp-httplib.
#include <iostream>
#include <memory>

#include "fetchpipe/defaults.hpp"
#include "fetchpipe/sync.hpp"
#include "fetchpipe/tools/fault_server.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "fetchpipe/transports/httplib_transport.hpp"

int fetch_with(std::shared_ptr<fetchpipe::Transport> transport, const char* name, const std::string& url) {
  fetchpipe::ClientOptions options;
  options.transport = std::move(transport);  // the one line
  fetchpipe::Client client(fetchpipe::with_defaults(std::move(options)));
  fetchpipe::Result r = fetchpipe::fetch_sync(client, {.url = url});
  std::cout << name << ": " << (r ? "HTTP " + std::to_string(r->status) : r.error().message) << '\n';
  return r ? 0 : 1;
}

int main() {
  fetchpipe::tools::FaultServer server;
  const auto url = server.url("/flaky?fail=1&status=503");  // key-less: the second run succeeds at once
  return fetch_with(std::make_shared<fetchpipe::CurlTransport>(), "curl", url) +
         fetch_with(std::make_shared<fetchpipe::HttplibTransport>(), "httplib", url);
}

// transports.hpp — the transports the tool can run, by name ("curl", "httplib").
#pragma once

#include <fetchpipe/transport.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fetchpipe::cli {

// `parallelism` is how many exchanges the caller keeps in flight: the httplib transport needs a
// worker thread for each (it blocks per request); the curl transport needs nothing for it.
// -x and --noproxy; nullopt = the environment.
// What a `get` command line asks of the transport itself.
struct TransportSettings {
  std::optional<std::string> proxy{};     // -x; nullopt = the environment
  std::optional<std::string> no_proxy{};  // --noproxy
  bool compressed = false;                // --compressed: ask for and decode compressed bodies
  std::optional<HttpVersion> http_version{};  // --http1.1/--http2/--http2-prior-knowledge (curl only)
  std::size_t event_loops = 1;                // curl only: CurlTransport::Options::event_loops
};

[[nodiscard]] std::shared_ptr<Transport> make_transport(std::string_view name, std::size_t parallelism = 1,
                                                        const TransportSettings& settings = {});

}  // namespace fetchpipe::cli

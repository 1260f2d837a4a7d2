// transports.hpp — the transports the tool can run, by name ("curl", "httplib").
#pragma once

#include <fetchpipe/transport.hpp>

#include <cstddef>
#include <memory>
#include <string_view>

namespace fetchpipe::cli {

// `parallelism` is how many exchanges the caller keeps in flight: the httplib transport needs a
// worker thread for each (it blocks per request); the curl transport needs nothing for it.
// -x and --noproxy; nullopt = the environment.
struct ProxySettings {
  std::optional<std::string> proxy{};
  std::optional<std::string> no_proxy{};
};

[[nodiscard]] std::shared_ptr<Transport> make_transport(std::string_view name, std::size_t parallelism = 1,
                                                        const ProxySettings& proxy = {});

}  // namespace fetchpipe::cli

#include "transports.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include <fetchpipe/transports/curl_transport.hpp>
#include <fetchpipe/transports/httplib_transport.hpp>

namespace fetchpipe::cli {

std::shared_ptr<Transport> make_transport(std::string_view name, std::size_t parallelism,
                                          const TransportSettings& settings) {
  if (name == "curl") {
    CurlTransport::Options options;
    options.proxy = settings.proxy;
    options.no_proxy = settings.no_proxy;
    if (settings.compressed) options.accept_encoding = "";
    if (settings.http_version) options.http_version = *settings.http_version;
    options.event_loops = settings.event_loops;
    return std::make_shared<CurlTransport>(options);
  }
  if (name == "httplib") {
    HttplibTransport::Options options;
    options.proxy = settings.proxy;
    options.no_proxy = settings.no_proxy;
    options.decompress = settings.compressed;
    options.workers = std::max<std::size_t>(parallelism, 1);
    return std::make_shared<HttplibTransport>(options);
  }
  throw std::invalid_argument(fmt::format("unknown transport '{}'", name));
}

}  // namespace fetchpipe::cli

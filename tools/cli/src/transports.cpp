#include "transports.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include <fetchpipe/transports/curl_transport.hpp>
#include <fetchpipe/transports/httplib_transport.hpp>

namespace fetchpipe::cli {

std::shared_ptr<Transport> make_transport(std::string_view name, std::size_t parallelism) {
  if (name == "curl") return std::make_shared<CurlTransport>();
  if (name == "httplib") {
    HttplibTransport::Options options;
    options.workers = std::max<std::size_t>(parallelism, 1);
    return std::make_shared<HttplibTransport>(options);
  }
  throw std::invalid_argument(fmt::format("unknown transport '{}'", name));
}

}  // namespace fetchpipe::cli

// Plays the server to the httplib transport: the input is the raw HTTP response. See
// served_response.hpp for what is checked.
#include "fetchpipe/transports/httplib_transport.hpp"
#include "served_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Two workers: a fetch is one exchange at a time, the second covers a redirect racing a close.
  return fetchpipe::fuzz::run_served_response(
      [] { return std::make_shared<fetchpipe::HttplibTransport>(fetchpipe::HttplibTransport::Options{.workers = 2}); },
      data, size);
}

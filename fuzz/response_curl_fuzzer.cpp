// Plays the server to the curl transport: the input is the raw HTTP response. See
// served_response.hpp for what is checked.
#include "fetchpipe/transports/curl_transport.hpp"
#include "served_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fetchpipe::fuzz::run_served_response([] { return std::make_shared<fetchpipe::CurlTransport>(); }, data,
                                              size);
}

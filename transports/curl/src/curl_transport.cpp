#include "fetchpipe/transports/curl_transport.hpp"

#include <curl/curl.h>

#include <csignal>
#include <mutex>
#include <stdexcept>

#include "event_loop.hpp"

namespace fetchpipe {
namespace {

// Once per process: libcurl's global state (thread-safe to call in 7.84+, but once is enough),
// and SIGPIPE ignored because CURLOPT_NOSIGNAL leaves OpenSSL free to raise it on a closed peer.
void init_process_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] {
    result = curl_global_init(CURL_GLOBAL_DEFAULT);
    std::signal(SIGPIPE, SIG_IGN);
  });
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("CurlTransport: curl_global_init failed: ") + curl_easy_strerror(result));
  }
}

}  // namespace

CurlTransport::CurlTransport() : CurlTransport(Options{}) {}

CurlTransport::CurlTransport(Options options) {
  init_process_once();
  loop_ = std::make_unique<detail::EventLoop>(std::move(options));
}

CurlTransport::~CurlTransport() = default;

std::shared_ptr<Exchange> CurlTransport::start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) {
  return loop_->start(spec, std::move(observer));
}

CurlTransport::Stats CurlTransport::stats() const { return loop_->stats(); }

}  // namespace fetchpipe

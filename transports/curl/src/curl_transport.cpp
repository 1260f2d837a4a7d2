#include "fetchpipe/transports/curl_transport.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <csignal>
#include <mutex>
#include <stdexcept>

#include "event_loop.hpp"
#include "loop_choice.hpp"

namespace fetchpipe {
namespace {

constexpr std::size_t kMaxEventLoops = 64;

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

// Loop `index`'s share of a total split between `loops` loops; the shares add up to the total.
std::size_t share(std::size_t total, std::size_t loops, std::size_t index) {
  return total / loops + (index < total % loops ? 1 : 0);
}

}  // namespace

CurlTransport::CurlTransport() : CurlTransport(Options{}) {}

CurlTransport::CurlTransport(Options options) {
  if (options.event_loops < 1 || options.event_loops > kMaxEventLoops) {
    throw std::invalid_argument(fmt::format("CurlTransport::Options::event_loops = {}: must be between 1 and {}",
                                            options.event_loops, kMaxEventLoops));
  }
  // A loop's share of 0 would mean "unlimited" to it, so each loop needs at least one.
  if (options.max_total_connections != 0 && options.max_total_connections < options.event_loops) {
    throw std::invalid_argument(fmt::format(
        "CurlTransport::Options::max_total_connections = {}: must be 0 (unlimited) or at least event_loops ({})",
        options.max_total_connections, options.event_loops));
  }
  init_process_once();
  const std::size_t loops = options.event_loops;
  choice_ = std::make_unique<detail::LoopChoice>(loops, options.http_version);
  loops_.reserve(loops);
  for (std::size_t i = 0; i < loops; ++i) {
    Options mine = options;
    mine.max_total_connections = share(options.max_total_connections, loops, i);
    // A pool share of 0 only means that loop reuses no easy handle.
    mine.max_pooled_handles = share(options.max_pooled_handles, loops, i);
    loops_.push_back(std::make_unique<detail::EventLoop>(std::move(mine)));
  }
}

CurlTransport::~CurlTransport() {
  // Every loop refuses new work before any is joined, so a start() racing the destructor throws
  // whichever loop it would have picked, and the loops wind down in parallel.
  for (auto& loop : loops_) loop->begin_shutdown();
  loops_.clear();
}

std::shared_ptr<Exchange> CurlTransport::start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) {
  return loops_[choice_->pick(spec)]->start(spec, std::move(observer));
}

CurlTransport::Stats CurlTransport::stats() const {
  Stats total;
  for (const auto& loop : loops_) {
    const Stats one = loop->stats();
    total.exchanges_started += one.exchanges_started;
    total.exchanges_completed += one.exchanges_completed;
    total.connections_opened += one.connections_opened;
    total.shards += one.shards;
  }
  return total;
}

}  // namespace fetchpipe

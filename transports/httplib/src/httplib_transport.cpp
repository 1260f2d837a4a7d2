#include "fetchpipe/transports/httplib_transport.hpp"

#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "exchange_state.hpp"
#include "watchdog.hpp"
#include "worker.hpp"

namespace fetchpipe {
namespace {

void validate(const HttplibTransport::Options& options) {
  if (options.workers < 1) {
    throw std::invalid_argument(
        fmt::format("HttplibTransport::Options::workers must be at least 1, not {}", options.workers));
  }
  if (options.clients_per_worker < 1) {
    throw std::invalid_argument(fmt::format(
        "HttplibTransport::Options::clients_per_worker must be at least 1, not {}",
        options.clients_per_worker));
  }
  if (options.timeout_margin.count() < 0) {
    throw std::invalid_argument(
        fmt::format("HttplibTransport::Options::timeout_margin must not be negative, not {} ms",
                    options.timeout_margin.count()));
  }
}

// cpp-httplib's client sends with flags 0; a write to a connection the peer closed (a stale
// keep-alive connection, a server that answered early) would raise SIGPIPE and end the process.
void ignore_sigpipe() {
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGPIPE, &action, nullptr);
}

}  // namespace

struct HttplibTransport::Impl {
  std::shared_ptr<detail::Core> core = std::make_shared<detail::Core>();
  std::vector<std::unique_ptr<detail::Worker>> workers;
  std::vector<std::thread> worker_threads;
  std::thread watchdog_thread;

  explicit Impl(const Options& options) {
    core->running.resize(options.workers);
    const detail::WorkerSettings settings{.clients = options.clients_per_worker,
                                          .timeout_margin = options.timeout_margin,
                                          .proxy = detail::ProxyConfig::resolve(options.proxy, options.no_proxy),
                                          .decompress = options.decompress};
    for (std::size_t i = 0; i < options.workers; ++i) {
      workers.push_back(std::make_unique<detail::Worker>(core, i, settings));
    }
    try {
      watchdog_thread = std::thread([c = core] { detail::run_watchdog(*c); });
      for (auto& worker : workers) {
        worker_threads.emplace_back([w = worker.get()] { w->run(); });
      }
    } catch (...) {
      shut_down();
      throw;
    }
  }

  ~Impl() { shut_down(); }

  void shut_down() {
    {
      std::lock_guard lock(core->mutex);
      core->stopping = true;
      for (auto& ex : core->queue) ex->request_stop_locked(detail::StopReason::shutdown);
      for (auto& ex : core->running) {
        if (ex) ex->request_stop_locked(detail::StopReason::shutdown);
      }
    }
    core->work_ready.notify_all();
    // Workers drain the queue (completing each as cancelled) and finish their running exchanges,
    // which the shutdown() above has already interrupted.
    for (auto& thread : worker_threads) {
      if (thread.joinable()) thread.join();
    }
    {
      std::lock_guard lock(core->mutex);
      core->watchdog_exit = true;
    }
    core->watchdog_wake.notify_all();
    if (watchdog_thread.joinable()) watchdog_thread.join();
    // The watchdog may have completed queued exchanges concurrently; nothing is left now.
    workers.clear();
  }
};

HttplibTransport::HttplibTransport() : HttplibTransport(Options{}) {}

HttplibTransport::HttplibTransport(Options options) {
  validate(options);
  ignore_sigpipe();
  impl_ = std::make_unique<Impl>(options);
}

HttplibTransport::~HttplibTransport() = default;

std::shared_ptr<Exchange> HttplibTransport::start(const ExchangeSpec& spec,
                                                  std::shared_ptr<ExchangeObserver> observer) {
  if (spec.request == nullptr) throw std::invalid_argument("ExchangeSpec::request must not be null");
  auto& core = *impl_->core;
  auto exchange = std::make_shared<detail::HttplibExchange>(impl_->core, spec, std::move(observer));
  {
    std::lock_guard lock(core.mutex);
    if (core.stopping) throw std::logic_error("HttplibTransport::start after shutdown began");
    core.queue.push_back(exchange);
    core.wake_watchdog_before(exchange->deadline);
  }
  core.work_ready.notify_one();
  return exchange;
}

}  // namespace fetchpipe

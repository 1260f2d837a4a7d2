#include "fetchpipe/tools/fault_server.hpp"

#include <mutex>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "endpoints.hpp"
#include "event_listener.hpp"
#include "httplib_listener.hpp"

namespace fetchpipe::tools {

namespace {

// IPv6 literals need brackets inside a URL.
std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]", host) : host;
}

}  // namespace

struct FaultServer::Impl {
  Options options;
  detail::Counters counters;
  // Declared after `counters`, so they are destroyed (and stopped) before it.
  std::optional<detail::EventListener> plain;
  std::optional<detail::HttplibListener> tls;
  std::mutex stop_mutex;
  bool stopped = false;
};

FaultServer::FaultServer(Options options) : impl_(std::make_unique<Impl>()) {
  if (options.tls && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    throw std::invalid_argument("FaultServer: Options::tls needs tls_cert_file and tls_key_file");
  }
  impl_->options = std::move(options);
  const Options& o = impl_->options;
  impl_->plain.emplace(o.host, o.port, impl_->counters);
  if (o.tls) {
    impl_->tls.emplace(
        detail::HttplibListenerOptions{o.host, o.tls_port, o.tls_cert_file, o.tls_key_file,
                                       o.tls_threads, o.start_timeout},
        impl_->counters);
  }
  impl_->plain->start();
}

FaultServer::~FaultServer() { stop(); }

void FaultServer::stop() {
  // A mutex rather than a flag, so a second concurrent caller returns only once all is stopped.
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->tls) impl_->tls->stop();
  impl_->plain->stop();
}

std::uint16_t FaultServer::port() const { return impl_->plain->port(); }

std::string FaultServer::base_url() const {
  return fmt::format("http://{}:{}", url_host(impl_->options.host), port());
}

std::string FaultServer::url(const std::string& path_and_query) const {
  return base_url() + path_and_query;
}

std::string FaultServer::cross_origin_url(const std::string& path_and_query) const {
  return fmt::format("http://localhost:{}{}", port(), path_and_query);
}

std::uint16_t FaultServer::tls_port() const { return impl_->tls ? impl_->tls->port() : 0; }

std::string FaultServer::tls_base_url() const {
  if (!impl_->tls) return {};
  return fmt::format("https://{}:{}", url_host(impl_->options.host), tls_port());
}

std::string FaultServer::tls_url(const std::string& path_and_query) const {
  return impl_->tls ? tls_base_url() + path_and_query : std::string{};
}

int FaultServer::count(const std::string& key) const { return impl_->counters.get(key); }

int FaultServer::aborted(const std::string& key) const { return impl_->counters.aborted(key); }

std::uint64_t FaultServer::bytes_sent(const std::string& key) const { return impl_->counters.sent(key); }

std::int64_t FaultServer::total_count() const { return impl_->counters.total(); }

void FaultServer::reset_counts() { impl_->counters.reset(); }

std::string FaultServer::describe_endpoints() const {
  std::string out =
      fmt::format("fetchpipe fault server\n  plain: {}  (every endpoint)\n", base_url());
  if (impl_->tls)
    out +=
        fmt::format("  tls:   {}  (no /reset; /hang and /delay hold a thread)\n", tls_base_url());
  out += detail::endpoint_summary();
  return out;
}

}  // namespace fetchpipe::tools

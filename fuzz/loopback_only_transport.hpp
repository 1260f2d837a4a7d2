// Shared by the server-playing fuzz targets: a Transport decorator that keeps every exchange on
// our own loopback server. A fuzzed response may redirect anywhere (another host, which would
// need DNS, or another local port that someone else's server holds); such exchanges are sent to a
// port that refuses connections instead, so the pipeline still sees a realistic failed hop.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::fuzz {

class LoopbackOnlyTransport final : public Transport {
 public:
  LoopbackOnlyTransport(std::shared_ptr<Transport> inner, std::uint16_t port, std::uint16_t refused_port)
      : inner_(std::move(inner)),
        http_prefix_("http://127.0.0.1:" + std::to_string(port) + "/"),
        https_prefix_("https://127.0.0.1:" + std::to_string(port) + "/"),
        refused_url_("http://127.0.0.1:" + std::to_string(refused_port) + "/") {}

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) override {
    // A prefix test, not a parse: whatever a parser makes of the rest, everything after the
    // first '/' of the path is the target, so the connection can only go to our port.
    const std::string_view url = spec.request->url;
    if (url.starts_with(http_prefix_) || url.starts_with(https_prefix_)) return inner_->start(spec, std::move(observer));
    auto redirected = std::make_shared<Redirected>(*spec.request, refused_url_, std::move(observer));
    ExchangeSpec changed = spec;
    changed.request = &redirected->request;
    return inner_->start(changed, redirected);
  }
  [[nodiscard]] std::string_view name() const override { return inner_->name(); }

 private:
  // Owns the rewritten request for as long as the inner transport may read it (until
  // on_complete returns) and forwards every observer call unchanged.
  struct Redirected final : ExchangeObserver {
    Redirected(const Request& original, const std::string& url, std::shared_ptr<ExchangeObserver> forward_to)
        : request(original), next(std::move(forward_to)) {
      request.url = url;
    }
    void on_head(ResponseHead head) override { next->on_head(std::move(head)); }
    bool on_body(std::string_view chunk) override { return next->on_body(chunk); }
    void on_complete(ExchangeResult result) override { next->on_complete(std::move(result)); }

    Request request;
    std::shared_ptr<ExchangeObserver> next;
  };

  std::shared_ptr<Transport> inner_;
  std::string http_prefix_;
  std::string https_prefix_;
  std::string refused_url_;
};

}  // namespace fetchpipe::fuzz

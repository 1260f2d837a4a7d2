// One worker thread of the httplib transport: takes exchanges from the queue and runs each as one
// blocking cpp-httplib send on a keep-alive client of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "client_cache.hpp"
#include "proxy_selection.hpp"
#include "exchange_state.hpp"
#include "raw_head.hpp"
#include "read_tap.hpp"

namespace fetchpipe::detail {

struct WorkerSettings {
  std::size_t clients = 16;                   // keep-alive clients kept (one per origin + TLS)
  std::chrono::milliseconds timeout_margin{250};  // added to cpp-httplib's backstop timeouts
  ProxyConfig proxy{};                            // resolved once per transport
  bool decompress = false;                        // Options::decompress
};

class Worker final : private ReadTap {
 public:
  // `slot` is this worker's index in Core::running.
  Worker(std::shared_ptr<Core> core, std::size_t slot, WorkerSettings settings);

  // The thread body: runs exchanges until the core is stopping and the queue is empty.
  void run();

 private:
  // Blocks for the next exchange to run, completing on the way those that ended while queued.
  // Null when it is time to exit.
  std::shared_ptr<HttplibExchange> next_exchange();
  ExchangeResult execute(HttplibExchange& ex);  // run(), timed
  ExchangeResult run(HttplibExchange& ex);
  // Records the end of the send under the lock: clears the socket, freezes the stop reason.
  void finish_locked(HttplibExchange& ex);

  // cpp-httplib hooks, called on this thread from inside send().
  void on_socket(PooledClient& client, int fd);
  bool on_head(HttplibExchange& ex, const httplib::Response& response);
  bool on_body(HttplibExchange& ex, const char* data, std::size_t size);
  // ReadTap: what crossed the socket while this worker was inside cpp-httplib.
  bool on_response_bytes(const char* data, std::size_t size) override;
  void on_request_bytes() override;
  // Records a stop from inside a hook (an observer exception or a limit) and returns false.
  bool stop_from_hook(HttplibExchange& ex, StopReason reason, std::string detail);

  std::shared_ptr<Core> core_;
  std::size_t slot_;
  WorkerSettings settings_;
  ClientCache clients_;
  // The exchange inside send() right now, and what happened during it; this thread only.
  HttplibExchange* current_ = nullptr;
  bool socket_created_ = false;
  bool head_delivered_ = false;
  std::optional<TimePoint> first_byte_at_;  // when this exchange's head was delivered
  std::uint64_t received_ = 0;
  RawHeadCapture raw_head_{kMaxResponseHeadBytes};
};

}  // namespace fetchpipe::detail

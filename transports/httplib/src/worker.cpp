#include "worker.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "error_mapping.hpp"
#include "message_conversion.hpp"

namespace fetchpipe::detail {
namespace {

// True when the kept-alive socket `fd` is readable between exchanges: unread bytes or the
// server's close. Either way the connection must not carry another request.
bool holds_unread_bytes(int fd) {
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool is_ipv4_address(const std::string& host) {
  in_addr parsed{};
  return ::inet_pton(AF_INET, host.c_str(), &parsed) == 1;
}
}  // namespace
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

// At least a millisecond: a zero timeout makes cpp-httplib's poll() give up at once.
microseconds at_least_1ms(nanoseconds d) {
  return std::max(std::chrono::duration_cast<microseconds>(d), microseconds{1000});
}

}  // namespace

Worker::Worker(std::shared_ptr<Core> core, std::size_t slot, WorkerSettings settings)
    : core_(std::move(core)),
      slot_(slot),
      settings_(settings),
      clients_(settings.clients, settings.decompress,
               [this](PooledClient& client, int fd) { on_socket(client, fd); }) {}

void Worker::run() {
  while (auto ex = next_exchange()) {
    ExchangeResult result = execute(*ex);
    ex->complete(std::move(result));
  }
}

std::shared_ptr<HttplibExchange> Worker::next_exchange() {
  std::unique_lock lock(core_->mutex);
  for (;;) {
    core_->work_ready.wait(lock, [&] { return !core_->queue.empty() || core_->stopping; });
    if (core_->queue.empty()) return nullptr;
    auto ex = std::move(core_->queue.front());
    core_->queue.pop_front();
    const TimePoint now = Clock::now();
    if (ex->stop_reason != StopReason::none || now >= ex->deadline) {
      ex->phase = Phase::done;
      const StopReason reason = ex->stop_reason;
      const std::string detail = ex->stop_detail;
      lock.unlock();
      ex->complete(result_while_queued(reason, detail));
      lock.lock();
      continue;
    }
    ex->phase = Phase::running;
    ex->last_progress = now;
    ex->connect_started = now;
    core_->running[slot_] = ex;
    core_->wake_watchdog_before(ex->next_due_locked());
    return ex;
  }
}

ExchangeResult Worker::execute(HttplibExchange& ex) {
  const TimePoint started_at = Clock::now();
  first_byte_at_.reset();
  ExchangeResult result = run(ex);
  // What cpp-httplib lets a caller see of the phases: when the head came, and the end.
  if (first_byte_at_) result.timings.first_byte = *first_byte_at_ - started_at;
  result.timings.total = Clock::now() - started_at;
  return result;
}

ExchangeResult Worker::run(HttplibExchange& ex) {
  auto url = Url::parse(ex.request->url);
  if (!url) {
    std::lock_guard lock(core_->mutex);
    finish_locked(ex);
    return ExchangeResult{.error = ErrorKind::invalid_request, .message = url.error()};
  }

  if (const auto version = ex.request->overrides.http_version; version && *version != HttpVersion::http1_1) {
    // cpp-httplib speaks HTTP/1.1 only; sending 1.1 when 2 was asked for would hide that.
    std::lock_guard lock(core_->mutex);
    finish_locked(ex);
    return ExchangeResult{
        .error = ErrorKind::invalid_request,
        .message = fmt::format("overrides.http_version = {}: the httplib transport speaks HTTP/1.1 only "
                               "(use the curl transport for HTTP/2)",
                               to_string(*version))};
  }

  const ProxyChoice proxy = choose_proxy(settings_.proxy, *url);
  if (!proxy.error.empty()) {
    std::lock_guard lock(core_->mutex);
    finish_locked(ex);
    return ExchangeResult{.error = ErrorKind::invalid_request, .message = proxy.error};
  }
  PooledClient& pooled = clients_.get(*url, ex.tls, proxy);
  httplib::ClientImpl& client = *pooled.client;
  // cpp-httplib's timeouts are only a backstop behind the watchdog (see Options::timeout_margin).
  const nanoseconds remaining = ex.deadline - Clock::now();
  const nanoseconds io_limit = ex.stall_timeout ? std::min(*ex.stall_timeout, remaining) : remaining;
  // The watchdog runs the connect clock; cpp-httplib's own connect and handshake timeouts are a
  // backstop behind it.
  client.set_connection_timeout(
      at_least_1ms(std::min(ex.connect_timeout + settings_.timeout_margin, remaining)));
  client.set_read_timeout(at_least_1ms(io_limit + settings_.timeout_margin));
  client.set_write_timeout(at_least_1ms(io_limit + settings_.timeout_margin));

  // Through a proxy, cpp-httplib 0.11 itself sends a plain-http target in absolute form and
  // opens a CONNECT tunnel for https.
  httplib::Request request = to_httplib_request(*ex.request, *url);
  if (settings_.decompress && !ex.request->headers.contains("Accept-Encoding")) {
    request.headers.emplace("Accept-Encoding", "gzip, deflate, br");  // what Debian's cpp-httplib decodes
  }
  request.response_handler = [&](const httplib::Response& r) { return on_head(ex, r); };
  request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    return on_body(ex, data, size);
  };
  current_ = &ex;
  socket_created_ = false;
  head_delivered_ = false;
  received_ = 0;
  raw_head_.reset();

  bool started = false;
  {
    std::lock_guard lock(core_->mutex);
    // A reused keep-alive connection is interruptible through its existing dup.
    if (ex.stop_reason == StopReason::none) {
      ex.stop_fd = pooled.dup_fd;
      started = true;
    }
  }
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  bool ok = false;
  if (started) {
    const ScopedReadTap tap(*this, url->is_https());
    ok = client.send(request, response, error);
  }
  current_ = nullptr;
  // cpp-httplib calls the response handler only for responses with a body; HEAD, 204 and 304
  // still owe the observer their head.
  if (ok && !head_delivered_) ok = on_head(ex, response);

  StopReason reason = StopReason::none;
  std::string detail;
  TimePoint last_progress;
  bool request_started = false;
  {
    std::lock_guard lock(core_->mutex);
    reason = ex.stop_reason;
    detail = ex.stop_detail;
    last_progress = ex.last_progress;
    request_started = ex.request_started;
    finish_locked(ex);
  }

  if (ok && reason == StopReason::none) {
    pooled.release_closed_socket();
    // cpp-httplib keeps a connection that still holds bytes after a complete response (pipelined
    // garbage, a second response, a close): the next exchange would read them as its own answer.
    if (pooled.dup_fd >= 0 && holds_unread_bytes(pooled.dup_fd)) clients_.discard(pooled);
    return ExchangeResult{};
  }
  const TimePoint now = Clock::now();
  FailureFacts facts{.error = error,
                     .stop_reason = reason,
                     .stop_detail = detail,
                     .socket_created = socket_created_,
                     .host_is_address = url->is_ipv6_literal() || is_ipv4_address(url->host()),
                     .deadline_passed = now >= ex.deadline,
                     .connect_elapsed = now >= ex.connect_started + ex.connect_timeout,
                     .stall_elapsed = request_started && ex.stall_timeout &&
                                      now - last_progress >= *ex.stall_timeout,
                     .tls_verify_result = 0,
                     .authority = fmt::format("{}:{}", url->host(), url->port())};
  if (url->is_https()) {
    facts.tls_verify_result = static_cast<httplib::SSLClient&>(client).get_openssl_verify_result();
  }
  ExchangeResult result = ok || !started ? result_for_stop(reason, detail) : classify_failure(facts);
  // An interrupted or failed connection is not reused: the next exchange gets a fresh client.
  clients_.discard(pooled);
  return result;
}

void Worker::finish_locked(HttplibExchange& ex) {
  ex.stop_fd = -1;
  ex.phase = Phase::done;
  core_->running[slot_].reset();
}

void Worker::on_socket(PooledClient& client, int fd) {
  socket_created_ = true;
  int previous = -1;
  const int dup = client.adopt_socket(fd, &previous);
  if (current_ != nullptr) {
    std::lock_guard lock(core_->mutex);
    current_->stop_fd = dup;
    // A stop recorded before the socket existed (e.g. during name resolution) applies now.
    if (current_->stop_reason != StopReason::none && dup >= 0) ::shutdown(dup, SHUT_RDWR);
  }
  // Only now, with no exchange pointing at it, may the old number be released for reuse.
  if (previous >= 0) ::close(previous);
}

bool Worker::on_head(HttplibExchange& ex, const httplib::Response& response) {
  try {
    {
      std::lock_guard lock(core_->mutex);
      if (ex.stop_reason != StopReason::none) return false;
    }
    // Deliver the head as the server sent it, not as cpp-httplib decoded it.
    std::vector<std::pair<std::string, std::string>> parsed(response.headers.begin(),
                                                            response.headers.end());
    FaithfulHead faithful = faithful_head(raw_head_.head(), response.status, parsed);
    if (!faithful.head) {
      if (raw_head_.head().empty() && !read_tap_active()) {
        faithful.refusal += " (recv/SSL_read are not the transport's: link fetchpipe_httplib "
                            "statically, or load it before libc and libssl)";
      }
      return stop_from_hook(ex, StopReason::unfaithful_head, faithful.refusal);
    }
    auto declared = declared_body_length(*ex.request, response);
    // cpp-httplib decodes the body: the encoded length would not match what the observer gets
    // (and the limit counts decoded bytes, checked as they come), and the coding no longer applies.
    if (settings_.decompress) {
      const auto coding = faithful.head->headers.get("Content-Encoding");
      if (coding && !iequals(*coding, "identity")) {
        // What cpp-httplib leaves undecoded would reach the sink as if it were the body.
        if (!iequals(*coding, "gzip") && !iequals(*coding, "deflate") && !iequals(*coding, "br")) {
          return stop_from_hook(ex, StopReason::bad_encoding,
                                fmt::format("the response's Content-Encoding '{}' is not one the httplib "
                                            "transport decodes (gzip, deflate, br)",
                                            shown_value(*coding)));
        }
        faithful.head->headers.remove("Content-Length");
        faithful.head->headers.remove("Content-Encoding");
        // Ranges count encoded bytes; the sink gets decoded ones. Never offer to continue them.
        faithful.head->headers.remove("Accept-Ranges");
        declared.reset();
      }
    }
    head_delivered_ = true;
    // The head was parsed once its last byte arrived; for the first byte's time that is the best
    // cpp-httplib lets us see.
    first_byte_at_ = Clock::now();
    if (response.version.starts_with("HTTP/")) faithful.head->http_version = response.version.substr(5);
    {
      const PausedReadTap user_code;
      ex.observer->on_head(std::move(*faithful.head));
    }
    if (ex.max_body_bytes && declared && *declared > *ex.max_body_bytes) {
      return stop_from_hook(ex, StopReason::body_limit,
                            fmt::format("response declares {} body bytes, over the {}-byte limit",
                                        *declared, *ex.max_body_bytes));
    }
    return true;
  } catch (const std::exception& e) {
    return stop_from_hook(ex, StopReason::observer_threw, e.what());
  } catch (...) {
    return stop_from_hook(ex, StopReason::observer_threw, "a non-standard exception");
  }
}

bool Worker::on_body(HttplibExchange& ex, const char* data, std::size_t size) {
  // cpp-httplib 0.11 is left inconsistent by an exception escaping a receiver: catch everything.
  try {
    {
      std::lock_guard lock(core_->mutex);
      if (ex.stop_reason != StopReason::none) return false;
    }
    received_ += size;
    if (ex.max_body_bytes && received_ > *ex.max_body_bytes) {
      return stop_from_hook(ex, StopReason::body_limit,
                            fmt::format("response body exceeds the {}-byte limit", *ex.max_body_bytes));
    }
    bool more = false;
    {
      const PausedReadTap user_code;
      more = ex.observer->on_body(std::string_view(data, size));
    }
    if (!more) return stop_from_hook(ex, StopReason::consumer, {});
    return true;
  } catch (const std::exception& e) {
    return stop_from_hook(ex, StopReason::observer_threw, e.what());
  } catch (...) {
    return stop_from_hook(ex, StopReason::observer_threw, "a non-standard exception");
  }
}

bool Worker::on_response_bytes(const char* data, std::size_t size) {
  if (current_ == nullptr) return true;
  {
    // Every response byte, head or body, is progress for the stall clock.
    std::lock_guard lock(core_->mutex);
    current_->last_progress = Clock::now();
  }
  // The head bound, enforced while the head arrives: cpp-httplib would otherwise keep every
  // header line it reads (it limits a line to 8 KiB, not their number) until a clock runs out.
  const RawHeadCapture::State head = raw_head_.feed(std::string_view(data, size));
  if (head == RawHeadCapture::State::too_large) {
    return stop_from_hook(*current_, StopReason::head_too_large,
                          fmt::format("the response head exceeds {} bytes", kMaxResponseHeadBytes));
  }
  if (head == RawHeadCapture::State::status_line_too_long) {
    return stop_from_hook(*current_, StopReason::head_too_large,
                          fmt::format("invalid response: a status line longer than {} bytes, which the httplib "
                                      "transport does not hand to cpp-httplib 0.11's parser",
                                      RawHeadCapture::kMaxStatusLine));
  }
  if (head == RawHeadCapture::State::unreadable_interim) {
    return stop_from_hook(*current_, StopReason::unreadable_interim,
                          "invalid response: the interim status 100 came with header fields, and cpp-httplib "
                          "0.11 cannot read the final response behind them");
  }
  return true;
}

void Worker::on_request_bytes() {
  if (current_ == nullptr) return;
  std::lock_guard lock(core_->mutex);
  if (!current_->request_started) {
    current_->request_started = true;
    current_->last_progress = Clock::now();
    // The stall clock may now be due before the connect clock the watchdog waits for.
    core_->wake_watchdog_before(current_->next_due_locked());
  }
}

bool Worker::stop_from_hook(HttplibExchange& ex, StopReason reason, std::string detail) {
  try {
    std::lock_guard lock(core_->mutex);
    ex.request_stop_locked(reason, std::move(detail));
  } catch (...) {
    // Only std::string's allocation can throw here; returning false still stops the exchange.
  }
  return false;
}

}  // namespace fetchpipe::detail

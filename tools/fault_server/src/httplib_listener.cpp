#include "httplib_listener.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "stop_signal.hpp"
#include "wire.hpp"

namespace fetchpipe::tools::detail {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kPieceBytes = 16 * 1024;

// cpp-httplib stores the peer and local addresses as pseudo headers; they were never sent.
bool is_pseudo_header(const std::string& name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

RequestInfo to_request_info(const httplib::Request& req) {
  RequestInfo info;
  info.method = req.method;
  info.target = req.target;
  info.path = req.path;
  for (const auto& [name, value] : req.params) info.params.emplace_back(name, value);
  for (const auto& [name, value] : req.headers) {
    if (!is_pseudo_header(name)) info.headers.push_back({name, value});
  }
  info.body = req.body;
  return info;
}

bool write_pattern(httplib::DataSink& sink, std::uint64_t offset, std::size_t n) {
  std::string piece(n, '\0');
  fill_pattern(piece.data(), offset, n);
  return sink.write(piece.data(), piece.size());
}

// Feeds one canned request to Server::process_request and swallows the answer.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string request) : request_(std::move(request)) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, request_.size() - offset_);
    std::copy_n(request_.data() + offset_, n, ptr);
    offset_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string request_;
  std::size_t offset_ = 0;
};

// cpp-httplib's request path lazily builds function-local statics (e.g. its set of method names).
// Debian's .so is not instrumented, so ThreadSanitizer misses the guard's acquire on the fast
// path and reports a race between the first worker that builds a static and the next one that
// reads it. Running a few requests through the same code on the constructing thread, before any
// worker exists, builds them first; thread creation then orders them for every worker.
class WarmableServer final : public httplib::SSLServer {
 public:
  using httplib::SSLServer::SSLServer;

  void warm_up() {
    for (const char* request :
         {"GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /bytes?n=10 HTTP/1.1\r\nHost: x\r\n\r\n",
          "GET /bytes?n=20000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
          "GET /bytes?n=20000&chunked=1 HTTP/1.1\r\nHost: x\r\n\r\n",
          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
          "PUT /truncate?n=10&sent=5 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"}) {
      MemoryStream stream(request);
      bool closed = false;
      process_request(stream, true, closed, [](httplib::Request&) {});
    }
  }
};

}  // namespace

struct HttplibListener::Impl {
  Impl(const HttplibListenerOptions& options, Counters& counters_in)
      : server(options.cert_file.c_str(), options.key_file.c_str()), counters(counters_in) {}

  void handle(const httplib::Request& req, httplib::Response& res) {
    Counters scratch;  // warm-up requests are not the caller's requests
    Plan plan = plan_for(to_request_info(req), warming_up ? scratch : counters);
    if (plan.delay.count() > 0 && !stop_signal.wait_until(Clock::now() + plan.delay)) {
      return stopping(res);
    }
    if (plan.fault == Fault::hang) {
      stop_signal.wait();  // a pool thread is the price of a hang here; see the public header
      return stopping(res);
    }
    if (plan.dripping_head()) {
      res.status = 501;
      res.set_content("header-drip is only available on the plain listener\n", "text/plain");
      return;
    }
    if (plan.fault == Fault::reset || plan.fault == Fault::close) {
      // A handler has no socket to abort: say so instead of pretending.
      res.status = 501;
      res.set_content("reset and close-after-read are only available on the plain listener\n", "text/plain");
      return;
    }
    res.status = plan.status;
    for (const auto& header : plan.headers) res.set_header(header.name, header.value);
    if (status_forbids_body(plan.status)) return;
    if (!plan.pattern) return res.set_content(plan.body, plan.content_type);
    if (plan.dripping()) return drip(res, plan);
    const std::uint64_t size = plan.pattern_bytes;
    if (plan.truncate_after) {
      // Returning false from the provider makes cpp-httplib close the connection mid-body.
      const std::uint64_t sent = *plan.truncate_after;
      res.set_content_provider(
          size, plan.content_type,
          [this, sent](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            if (offset >= sent || stop_signal.stopped()) return false;
            const auto n = std::min<std::uint64_t>({length, sent - offset, kPieceBytes});
            return write_pattern(sink, offset, static_cast<std::size_t>(n));
          });
    } else if (size == 0) {
      res.set_content("", plan.content_type);
    } else if (plan.chunked) {
      res.set_chunked_content_provider(
          plan.content_type, [this, size](std::size_t offset, httplib::DataSink& sink) {
            if (stop_signal.stopped()) return false;
            if (offset >= size) {
              sink.done();
              return true;
            }
            const auto n = std::min<std::uint64_t>(size - offset, kPieceBytes);
            return write_pattern(sink, offset, static_cast<std::size_t>(n));
          });
    } else {
      res.set_content_provider(
          size, plan.content_type,
          [this](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            if (stop_signal.stopped()) return false;
            const auto n = std::min<std::size_t>(length, kPieceBytes);
            return write_pattern(sink, offset, n);
          });
    }
  }

  void drip(httplib::Response& res, const Plan& plan) {
    const std::uint64_t size = plan.pattern_bytes;
    const auto interval = plan.drip_interval;
    const std::size_t chunk = plan.drip_chunk;
    res.set_chunked_content_provider(
        plan.content_type,
        [this, size, interval, chunk](std::size_t offset, httplib::DataSink& sink) {
          if (offset >= size) {
            sink.done();
            return true;
          }
          if (!stop_signal.wait_until(Clock::now() + interval)) return false;
          const auto n = std::min<std::uint64_t>(size - offset, chunk);
          return write_pattern(sink, offset, static_cast<std::size_t>(n));
        });
  }

  static void stopping(httplib::Response& res) {
    res.status = 503;
    res.set_header("Connection", "close");
    res.set_content("server stopping\n", "text/plain");
  }

  WarmableServer server;
  bool warming_up = false;  // only while no worker exists: plain bool is enough
  Counters& counters;
  StopSignal stop_signal;
  std::thread thread;
  std::atomic<bool> thread_done{false};
  int port = 0;
  std::mutex stop_mutex;
  bool stopped = false;
};

HttplibListener::HttplibListener(const HttplibListenerOptions& options, Counters& counters)
    : impl_(std::make_unique<Impl>(options, counters)) {
  auto& server = impl_->server;
  if (!server.is_valid()) {
    throw std::runtime_error(fmt::format("FaultServer: cannot load TLS certificate {} or key {}",
                                         options.cert_file.string(), options.key_file.string()));
  }
  // Without TCP_NODELAY, keep-alive requests stall on Nagle + delayed ACK (tens of ms each), and
  // the default of 5 requests per connection would make clients reconnect constantly.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  const std::size_t threads = std::max<std::size_t>(options.threads, 1);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const auto handler = [impl = impl_.get()](const httplib::Request& req, httplib::Response& res) {
    impl->handle(req, res);
  };
  server.Get(".*", handler);  // GET and HEAD
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);
  impl_->warming_up = true;
  server.warm_up();
  impl_->warming_up = false;

  if (options.port == 0) {
    impl_->port = server.bind_to_any_port(options.host);
  } else if (server.bind_to_port(options.host, options.port)) {
    impl_->port = options.port;
  } else {
    impl_->port = -1;
  }
  if (impl_->port <= 0) {
    throw std::runtime_error(
        fmt::format("FaultServer: cannot listen (TLS) on {}:{}", options.host, options.port));
  }
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->server.listen_after_bind();
    impl->thread_done.store(true);
  });
  // cpp-httplib 0.11.4 has no wait_until_ready(), and stop() before the loop runs is ignored, so
  // poll is_running() with a deadline before handing the port out.
  const auto deadline = Clock::now() + options.start_timeout;
  while (!server.is_running() && !impl_->thread_done.load() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    stop();
    throw std::runtime_error(
        fmt::format("FaultServer: TLS listener on {}:{} did not start within {} ms", options.host,
                    impl_->port, options.start_timeout.count()));
  }
}

HttplibListener::~HttplibListener() { stop(); }

void HttplibListener::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stop_signal.stop();  // first, so that sleeping handlers let the pool shut down
  // Server::stop() is ignored until the accept loop runs, and must be called only once after (it
  // asserts the listening socket is still open), so wait for one of the two.
  while (!impl_->thread_done.load()) {
    if (impl_->server.is_running()) {
      impl_->server.stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t HttplibListener::port() const { return static_cast<std::uint16_t>(impl_->port); }

}  // namespace fetchpipe::tools::detail

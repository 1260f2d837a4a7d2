#include "h2_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <stdexcept>
#include <vector>

namespace fetchpipe::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
  std::string path;
  std::string body;         // the response body
  std::size_t sent = 0;     // body bytes handed to nghttp2
  bool stall = false;       // send the first piece, then defer forever
};

struct Connection {
  void* impl = nullptr;     // the H2Server::Impl running it (nghttp2's user data is the connection)
  int fd = -1;
  SSL* ssl = nullptr;       // null on cleartext
  nghttp2_session* session = nullptr;
  std::map<std::int32_t, Stream> streams;
  std::string out;          // bytes nghttp2 produced that the socket did not take yet
  bool close_after_flush = false;
  bool dead = false;
};

struct Timer {
  Clock::time_point due;
  Connection* conn;
  std::int32_t stream_id;
};

}  // namespace

struct H2Server::Impl {
  H2Server& server;
  std::list<Connection> connections;
  std::vector<Timer> timers;
  std::map<std::string, int> path_hits;  // for /flaky/N
  nghttp2_session_callbacks* callbacks = nullptr;

  explicit Impl(H2Server& s) : server(s) {
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &on_begin_headers);
  }
  ~Impl() {
    for (Connection& c : connections) close_connection(c);
    nghttp2_session_callbacks_del(callbacks);
  }

  // nghttp2's user data is the connection; the connection knows its Impl.
  struct Context {
    Impl* impl;
    Connection* conn;
    explicit Context(void* user)
        : impl(static_cast<Impl*>(static_cast<Connection*>(user)->impl)), conn(static_cast<Connection*>(user)) {}
  };

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    Context ctx(user);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      ctx.conn->streams[frame->hd.stream_id] = Stream{};
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    Context ctx(user);
    const std::string_view n{reinterpret_cast<const char*>(name), namelen};
    if (n == ":path") {
      auto it = ctx.conn->streams.find(frame->hd.stream_id);
      if (it != ctx.conn->streams.end()) it->second.path.assign(reinterpret_cast<const char*>(value), valuelen);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    Context ctx(user);
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
      ctx.impl->server.client_resets_.fetch_add(1);
      ctx.conn->streams.erase(frame->hd.stream_id);
      return 0;
    }
    const bool request_ends = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                              (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (request_ends && ctx.conn->streams.contains(frame->hd.stream_id)) {
      ctx.impl->server.requests_.fetch_add(1);
      ctx.impl->handle(*ctx.conn, frame->hd.stream_id);
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* conn = static_cast<Connection*>(source->ptr);
    auto it = conn->streams.find(stream_id);
    if (it == conn->streams.end()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    Stream& s = it->second;
    if (s.stall && s.sent > 0) return NGHTTP2_ERR_DEFERRED;
    const std::size_t n = std::min(length, s.body.size() - s.sent);
    std::memcpy(buf, s.body.data() + s.sent, n);
    s.sent += n;
    if (s.sent == s.body.size() && !s.stall) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      static_cast<Impl*>(conn->impl)->server.completed_.fetch_add(1);
    }
    return static_cast<ssize_t>(n);
  }

  void respond(Connection& c, std::int32_t id, int status, std::string body,
               const std::vector<std::pair<std::string, std::string>>& extra = {}, bool stall = false) {
    auto it = c.streams.find(id);
    if (it == c.streams.end()) return;  // reset by the client meanwhile
    it->second.body = std::move(body);
    it->second.stall = stall;
    std::vector<std::pair<std::string, std::string>> fields{{":status", std::to_string(status)}};
    if (!stall) fields.emplace_back("content-length", std::to_string(it->second.body.size()));
    fields.insert(fields.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields) {
      nva.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()),
                               n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    provider.source.ptr = &c;
    provider.read_callback = &read_body;
    nghttp2_submit_response(c.session, id, nva.data(), nva.size(), &provider);
  }

  void handle(Connection& c, std::int32_t id) {
    const std::string path = c.streams[id].path;
    if (int left = server.refuse_left_.load(); left > 0 && server.refuse_left_.compare_exchange_strong(left, left - 1)) {
      server.refused_.fetch_add(1);
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
      c.streams.erase(id);
      return;
    }
    if (int left = server.goaway_left_.load(); left > 0 && server.goaway_left_.compare_exchange_strong(left, left - 1)) {
      server.refused_.fetch_add(1);
      nghttp2_submit_goaway(c.session, NGHTTP2_FLAG_NONE, std::max(0, id - 2), NGHTTP2_NO_ERROR, nullptr, 0);
      c.close_after_flush = true;
      return;
    }
    const auto number_after = [&](std::string_view prefix) {
      return std::atoll(path.substr(prefix.size()).c_str());
    };
    if (path == "/ok") {
      respond(c, id, 200, "ok");
    } else if (path.starts_with("/bytes/")) {
      respond(c, id, 200, std::string(static_cast<std::size_t>(number_after("/bytes/")), 'x'));
    } else if (path.starts_with("/delay/")) {
      timers.push_back(Timer{Clock::now() + std::chrono::milliseconds(number_after("/delay/")), &c, id});
    } else if (path == "/stall") {
      respond(c, id, 200, "partial", {}, true);
    } else if (path == "/redirect") {
      respond(c, id, 302, "", {{"location", "/ok"}});
    } else if (path.starts_with("/status/")) {
      respond(c, id, static_cast<int>(number_after("/status/")), "status");
    } else if (path.starts_with("/flaky/")) {
      const int hits = ++path_hits[path];
      if (hits <= number_after("/flaky/")) {
        respond(c, id, 503, "try again");
      } else {
        respond(c, id, 200, "ok");
      }
    } else if (path == "/reset-before-head") {
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
      c.streams.erase(id);
    } else if (path == "/reset-after-head") {
      respond(c, id, 200, "never", {}, true);
      flush(c);
      nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
      c.streams.erase(id);
    } else {
      respond(c, id, 404, "not found");
    }
  }

  // One write of c.out: the count written, -1 on error, `again` when the socket is full.
  static ssize_t send_some(Connection& c, bool& again) {
    if (c.ssl == nullptr) {
      const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      again = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      return again ? 0 : w;
    }
    const int w = SSL_write(c.ssl, c.out.data(), static_cast<int>(c.out.size()));
    if (w > 0) return w;
    const int err = SSL_get_error(c.ssl, w);
    again = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
    return again ? 0 : -1;
  }

  // One read: the count read, 0 at the end, -1 on error, `again` when nothing is there yet.
  static ssize_t recv_some(Connection& c, char* buf, std::size_t size, bool& again) {
    if (c.ssl == nullptr) {
      const ssize_t n = ::recv(c.fd, buf, size, 0);
      again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      return again ? 0 : n;
    }
    const int n = SSL_read(c.ssl, buf, static_cast<int>(size));
    if (n > 0) return n;
    const int err = SSL_get_error(c.ssl, n);
    again = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
    if (again) return 0;
    return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }

  // Moves what nghttp2 wants to send into the socket; false when the connection is done.
  bool flush(Connection& c) {
    for (;;) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(c.session, &data);
      if (n < 0) return false;
      if (n == 0) break;
      c.out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    while (!c.out.empty()) {
      bool again = false;
      const ssize_t w = send_some(c, again);
      if (w < 0) return false;
      if (again) break;
      c.out.erase(0, static_cast<std::size_t>(w));
    }
    if (c.close_after_flush && c.out.empty()) return false;
    return nghttp2_session_want_read(c.session) != 0 || nghttp2_session_want_write(c.session) != 0 || !c.out.empty();
  }

  void close_connection(Connection& c) {
    if (c.session != nullptr) {
      nghttp2_session_del(c.session);
      c.session = nullptr;
    }
    if (c.ssl != nullptr) SSL_free(c.ssl);
    c.ssl = nullptr;
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.dead = true;
  }

  void accept_one() {
    const int fd = ::accept4(server.listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    server.connections_.fetch_add(1);
    Connection& c = connections.emplace_back();
    c.fd = fd;
    c.impl = this;
    if (server.ssl_ctx_ != nullptr) {
      c.ssl = SSL_new(static_cast<SSL_CTX*>(server.ssl_ctx_));
      SSL_set_fd(c.ssl, fd);
      SSL_set_accept_state(c.ssl);  // the handshake runs inside the first reads and writes
    }
    nghttp2_session_server_new(&c.session, callbacks, &c);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, settings, 1);
    if (!flush(c)) close_connection(c);
  }

  void read_from(Connection& c) {
    char buf[16384];
    for (;;) {
      bool again = false;
      const ssize_t n = recv_some(c, buf, sizeof buf, again);
      if (again) break;
      if (n <= 0) return close_connection(c);
      if (nghttp2_session_mem_recv(c.session, reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(n)) < 0) {
        return close_connection(c);
      }
    }
    if (!flush(c)) close_connection(c);
  }

  void run_timers() {
    const auto now = Clock::now();
    std::vector<Timer> due;
    std::erase_if(timers, [&](const Timer& t) {
      if (t.due > now) return false;
      due.push_back(t);
      return true;
    });
    for (const Timer& t : due) {
      if (t.conn->dead) continue;
      respond(*t.conn, t.stream_id, 200, "late");
      if (!flush(*t.conn)) close_connection(*t.conn);
    }
  }

  int poll_timeout_ms() const {
    if (timers.empty()) return 1000;
    const auto next = std::min_element(timers.begin(), timers.end(), [](auto& a, auto& b) { return a.due < b.due; })->due;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 1000));
  }

  void loop() {
    for (;;) {
      std::vector<pollfd> fds{{server.wake_[0], POLLIN, 0}, {server.listen_fd_, POLLIN, 0}};
      std::vector<Connection*> order;
      for (Connection& c : connections) {
        if (c.dead) continue;
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        order.push_back(&c);
      }
      ::poll(fds.data(), fds.size(), poll_timeout_ms());
      if ((fds[0].revents & POLLIN) != 0) return;
      if ((fds[1].revents & POLLIN) != 0) accept_one();
      for (std::size_t i = 0; i < order.size(); ++i) {
        Connection& c = *order[i];
        if (c.dead) continue;
        if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          read_from(c);
        } else if ((fds[i + 2].revents & POLLOUT) != 0 && !flush(c)) {
          close_connection(c);
        }
      }
      run_timers();
      // Timers point at connections: a dead one is only dropped once no timer names it.
      std::erase_if(connections, [&](const Connection& c) {
        return c.dead && std::none_of(timers.begin(), timers.end(), [&](const Timer& t) { return t.conn == &c; });
      });
    }
  }
};

namespace {

int select_h2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
              void*) {
  unsigned char* chosen = nullptr;
  if (nghttp2_select_next_protocol(&chosen, outlen, in, inlen) != 1) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

H2Server::H2Server() : H2Server(Options{}) {}

H2Server::H2Server(Options options) : options_(std::move(options)) {
  if (!options_.cert_file.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, options_.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      throw std::runtime_error("H2Server: cannot load the certificate or key");
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_alpn_select_cb(ctx, &select_h2, nullptr);
    ssl_ctx_ = ctx;
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("H2Server: socket/pipe failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 512) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("H2Server: bind/listen failed: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

H2Server::~H2Server() {
  const char byte = 1;
  (void)!::write(wake_[1], &byte, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string H2Server::url(std::string_view path) const {
  return (ssl_ctx_ != nullptr ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + std::string(path);
}

void H2Server::run() {
  Impl impl(*this);
  impl.loop();
}

}  // namespace fetchpipe::testing

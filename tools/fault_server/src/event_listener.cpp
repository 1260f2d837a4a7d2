#include "event_listener.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "request_parser.hpp"

namespace fetchpipe::tools::detail {

namespace {

using Clock = std::chrono::steady_clock;

// epoll user data for the two non-connection descriptors; connections count up from kFirstId.
constexpr std::uint64_t kWakeId = 0;
constexpr std::uint64_t kListenId = 1;
constexpr std::uint64_t kFirstId = 2;

constexpr std::size_t kReadBytes = 64 * 1024;
// Generated bodies are produced this far ahead of the socket, never more: 50 MB costs 256 KiB.
constexpr std::size_t kOutputHighWater = 256 * 1024;
constexpr std::size_t kPieceBytes = 16 * 1024;
// Accept at most this many per wake-up, so one flood cannot starve timers and open connections.
constexpr int kAcceptBurst = 512;
// After EMFILE and friends, stop accepting for this long instead of spinning on a ready listener.
constexpr auto kAcceptPause = std::chrono::milliseconds(50);

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(fmt::format("FaultServer: {}: {}", what, std::strerror(errno)));
}

// Binds a non-blocking listening socket on host:port (getaddrinfo, so "::1" and names work).
int bind_listener(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error(
        fmt::format("FaultServer: cannot resolve {}: {}", host, ::gai_strerror(rc)));
  }
  int fd = -1;
  int saved_errno = 0;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      saved_errno = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // The kernel caps the backlog at net.core.somaxconn; ask for the most so a burst of ten
    // thousand connects is queued rather than dropped.
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 65535) != 0) {
      saved_errno = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    errno = saved_errno;
    fail(fmt::format("cannot listen on {}:{}", host, port));
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname");
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

struct EventListener::Loop {
  enum class State { reading, waiting, hanging, writing, dripping, dripping_head };
  using Timers = std::multimap<Clock::time_point, std::uint64_t>;

  struct Connection {
    int fd = -1;
    std::uint64_t id = 0;
    State state = State::reading;
    bool closed = false;
    bool peer_closed = false;    // FIN seen: the client will send nothing more
    bool continue_sent = false;  // "100 Continue" already sent for the request being read
    bool keep_alive = true;      // of the response being sent
    std::uint32_t interest = 0;  // epoll mask currently registered
    std::string in;              // received, not yet parsed
    std::string out;             // to send, from out_offset
    std::size_t out_offset = 0;
    ParsedRequest request;
    Plan plan;
    // Pattern body still to generate while writing, and how to frame it.
    std::uint64_t gen_offset = 0;
    std::uint64_t gen_remaining = 0;
    bool gen_chunked = false;
    bool body_chunked = false;   // the response body uses chunked coding (drip too)
    bool gen_terminate = false;  // append the last-chunk once the pattern is out
    std::uint64_t drip_remaining = 0;
    std::uint64_t head_lines_sent = 0;
    Clock::time_point head_drip_until{};
    std::optional<Timers::iterator> timer;

    [[nodiscard]] bool output_pending() const { return out_offset < out.size(); }
  };

  Loop(int listen_fd, Counters& counters) : listen_fd_(listen_fd), counters_(counters) {}

  ~Loop() {
    for (auto& [id, conn] : connections_) {
      if (!conn->closed) ::close(conn->fd);
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  void setup() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) fail("epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) fail("eventfd");
    add(wake_fd_, kWakeId, EPOLLIN);
    add(listen_fd_, kListenId, EPOLLIN);
  }

  void add(int fd, std::uint64_t id, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl ADD");
  }

  void wake() {
    const std::uint64_t one = 1;
    // A full counter (EAGAIN) already means "wake up", so the result needs no check.
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }

  void run() {
    std::array<epoll_event, 512> events{};
    while (!stop_requested_.load(std::memory_order_acquire)) {
      const int n =
          ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms());
      if (n < 0 && errno != EINTR) break;  // only EBADF/EINVAL: a bug, not a condition to spin on
      for (int i = 0; i < n; ++i) {
        const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
        const std::uint32_t mask = events[static_cast<std::size_t>(i)].events;
        if (id == kWakeId) {
          std::uint64_t value = 0;
          [[maybe_unused]] const auto r = ::read(wake_fd_, &value, sizeof value);
        } else if (id == kListenId) {
          accept_all();
        } else if (auto it = connections_.find(id);
                   it != connections_.end() && !it->second->closed) {
          on_event(*it->second, mask);
        }
      }
      run_timers();
      resume_accepting_if_due();
      reap();
    }
  }

  // ---- timing -------------------------------------------------------------------------------

  int wait_ms() const {
    std::optional<Clock::time_point> next;
    if (!timers_.empty()) next = timers_.begin()->first;
    if (accept_paused_until_ && (!next || *accept_paused_until_ < *next))
      next = accept_paused_until_;
    if (!next) return -1;
    const auto left = *next - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    // Round up, or a timer due in 0.4 ms would make the loop spin with a zero timeout.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<std::int64_t>(ms, 60'000));
  }

  void set_timer(Connection& c, Clock::time_point when) {
    cancel_timer(c);
    c.timer = timers_.emplace(when, c.id);
  }

  void cancel_timer(Connection& c) {
    if (c.timer) {
      timers_.erase(*c.timer);
      c.timer.reset();
    }
  }

  void run_timers() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const std::uint64_t id = timers_.begin()->second;
      timers_.erase(timers_.begin());
      const auto it = connections_.find(id);
      if (it == connections_.end() || it->second->closed) continue;
      Connection& c = *it->second;
      c.timer.reset();
      if (c.state == State::waiting) {
        c.plan.delay = std::chrono::milliseconds(0);
        respond(c);
      } else if (c.state == State::dripping) {
        drip(c);
      } else if (c.state == State::dripping_head) {
        drip_head(c);
      }
      drive(c);
    }
  }

  // ---- accepting ----------------------------------------------------------------------------

  void accept_all() {
    for (int i = 0; i < kAcceptBurst; ++i) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
          pause_accepting();
        return;  // EAGAIN: drained
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto conn = std::make_unique<Connection>();
      conn->fd = fd;
      conn->id = next_id_++;
      conn->interest = EPOLLIN | EPOLLRDHUP;
      epoll_event ev{};
      ev.events = conn->interest;
      ev.data.u64 = conn->id;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        // Out of epoll watches or memory: refuse this one client rather than fail the server.
        ::close(fd);
        pause_accepting();
        return;
      }
      connections_.emplace(conn->id, std::move(conn));
    }
  }

  // The listener stays readable while connections wait in the backlog, so with no descriptor to
  // accept them into, a level-triggered loop would spin. Stop watching it for a moment instead;
  // the clients wait in the kernel queue until descriptors are free again.
  void pause_accepting() {
    if (accept_paused_until_) return;
    epoll_event ev{};
    ev.data.u64 = kListenId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    accept_paused_until_ = Clock::now() + kAcceptPause;
  }

  void resume_accepting_if_due() {
    if (!accept_paused_until_ || Clock::now() < *accept_paused_until_) return;
    accept_paused_until_.reset();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
  }

  // ---- connections --------------------------------------------------------------------------

  void on_event(Connection& c, std::uint32_t mask) {
    // A client that closed (FIN, or RST when our bytes were unread) while we delay, hang or drip
    // has given up on its request: count it, and free the descriptor.
    const bool answering = c.state == State::waiting || c.state == State::hanging || c.state == State::dripping;
    const bool gone = (mask & (EPOLLERR | EPOLLRDHUP | EPOLLHUP)) != 0;
    if (answering && gone) counters_.record_abort(c.request.info.param("key"));
    if ((mask & EPOLLERR) != 0) return close(c);
    if ((mask & (EPOLLRDHUP | EPOLLHUP)) != 0) {
      c.peer_closed = true;
      if (answering || c.state == State::dripping_head || (mask & EPOLLHUP) != 0) return close(c);
    }
    if (c.state == State::reading && (mask & (EPOLLIN | EPOLLRDHUP)) != 0) read_input(c);
    if (!c.closed) drive(c);
  }

  void read_input(Connection& c) {
    std::array<char, kReadBytes> buffer;
    for (;;) {
      const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
      if (n > 0) {
        c.in.append(buffer.data(), static_cast<std::size_t>(n));
        // The parser enforces the real limits; this only bounds one burst of reading.
        if (c.in.size() > kMaxHeaderBytes + kMaxBodyBytes + kReadBytes) return;
        continue;
      }
      if (n == 0) {
        c.peer_closed = true;
        return;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) close(c);
      return;
    }
  }

  // Moves a connection forward as far as it can go without waiting: parse, respond, send, and
  // parse again for pipelined requests. Loops instead of recursing, so deep pipelines are fine.
  void drive(Connection& c) {
    while (!c.closed) {
      if (!flush(c)) return;  // blocked on the socket (interest updated) or closed
      if (c.state == State::writing) {
        if (!c.keep_alive) return close(c);
        c.state = State::reading;
        continue;
      }
      if (c.state != State::reading) return update_interest(c);
      const ParseOutcome outcome = parse_request(c.in, c.request);
      if (outcome.kind == ParseOutcome::Kind::incomplete) {
        if (c.peer_closed) return close(c);  // the rest of the request can never arrive
        if (outcome.wants_continue && !c.continue_sent) {
          c.continue_sent = true;
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          continue;
        }
        return update_interest(c);
      }
      if (outcome.kind == ParseOutcome::Kind::error) {
        c.request = ParsedRequest{};
        c.request.keep_alive = false;
        c.plan = Plan{};
        c.plan.status = outcome.error_status;
        c.plan.body = fmt::format("{}\n", reason_phrase(outcome.error_status));
        c.in.clear();
        respond(c);
        continue;
      }
      c.in.erase(0, outcome.consumed);
      c.continue_sent = false;
      c.plan = plan_for(c.request.info, counters_);
      respond(c);
    }
  }

  // Carries out c.plan for c.request: sets the state and queues the head and the first bytes.
  void respond(Connection& c) {
    const Plan& plan = c.plan;
    if (plan.delay.count() > 0) {
      c.state = State::waiting;
      set_timer(c, Clock::now() + plan.delay);
      return;
    }
    if (plan.fault == Fault::reset) return reset(c);
    if (plan.fault == Fault::close) return close(c);
    if (plan.fault == Fault::hang) {
      c.state = State::hanging;
      return;
    }
    if (plan.dripping_head()) {
      fmt::format_to(std::back_inserter(c.out), "HTTP/1.1 {} {}\r\n", plan.status,
                     reason_phrase(plan.status));
      c.state = State::dripping_head;
      c.keep_alive = false;
      c.head_lines_sent = 0;
      c.head_drip_until = Clock::now() + plan.head_drip_for;
      set_timer(c, Clock::now() + plan.head_drip_interval);
      return;
    }
    const bool no_body = status_forbids_body(plan.status);
    const bool wants_chunks = !no_body && (plan.chunked || plan.dripping());
    // HTTP/1.0 has no chunked coding: such a body is sent raw and ends when the connection does.
    const bool chunked = wants_chunks && !c.request.http10;
    const bool close_delimited = wants_chunks && c.request.http10;
    c.keep_alive =
        c.request.keep_alive && !c.peer_closed && !plan.truncate_after && !close_delimited;
    c.body_chunked = chunked;
    auto out = std::back_inserter(c.out);
    fmt::format_to(out, "HTTP/1.1 {} {}\r\n", plan.status, reason_phrase(plan.status));
    if (!no_body) {
      fmt::format_to(out, "Content-Type: {}\r\n", plan.content_type);
      if (chunked) {
        c.out += "Transfer-Encoding: chunked\r\n";
      } else if (!close_delimited) {
        fmt::format_to(out, "Content-Length: {}\r\n", plan.body_size());
      }
    }
    for (const auto& header : plan.headers)
      fmt::format_to(out, "{}: {}\r\n", header.name, header.value);
    if (!c.keep_alive) {
      c.out += "Connection: close\r\n";
    } else if (c.request.http10) {
      c.out += "Connection: keep-alive\r\n";
    }
    c.out += "\r\n";

    c.state = State::writing;
    c.gen_offset = plan.pattern_offset;
    c.gen_remaining = 0;
    c.gen_terminate = false;
    if (no_body || c.request.head) return;
    if (!plan.pattern) {
      c.out += plan.body;
      return;
    }
    if (plan.dripping()) {
      c.state = State::dripping;
      c.drip_remaining = plan.pattern_bytes;
      set_timer(c, Clock::now() + plan.drip_interval);
      return;
    }
    c.gen_remaining = plan.truncate_after.value_or(plan.pattern_bytes);
    c.gen_chunked = chunked;
    c.gen_terminate = chunked;
  }

  // Queues one drip chunk; after the last one the connection finishes like any response.
  void drip(Connection& c) {
    const auto n = std::min<std::uint64_t>(c.plan.drip_chunk, c.drip_remaining);
    append_pattern(c, n, c.body_chunked);
    c.drip_remaining -= n;
    if (c.drip_remaining == 0) {
      if (c.body_chunked) c.out += "0\r\n\r\n";
      c.state = State::writing;
    } else {
      set_timer(c, Clock::now() + c.plan.drip_interval);
    }
  }

  // Queues the next header lines of a dripping head (none while earlier ones are unsent), or its
  // end once the count or the time limit is reached.
  void drip_head(Connection& c) {
    const Plan& plan = c.plan;
    const auto now = Clock::now();
    const bool counted_out = plan.head_drip_lines > 0 && c.head_lines_sent >= plan.head_drip_lines;
    if (counted_out || now >= c.head_drip_until) {
      c.out += "Content-Length: 0\r\nConnection: close\r\n\r\n";
      c.state = State::writing;
      return;
    }
    if (!c.output_pending()) {
      for (std::size_t i = 0; i < plan.head_drip_per_tick; ++i) {
        if (plan.head_drip_lines > 0 && c.head_lines_sent >= plan.head_drip_lines) break;
        fmt::format_to(std::back_inserter(c.out), "X-Drip-{}: ", ++c.head_lines_sent);
        const std::size_t at = c.out.size();
        c.out.resize(at + plan.head_drip_bytes);
        fill_pattern(c.out.data() + at, 0, plan.head_drip_bytes);
        c.out += "\r\n";
      }
    }
    set_timer(c, now + plan.head_drip_interval);
  }

  void append_pattern(Connection& c, std::uint64_t n, bool chunked) {
    if (n == 0) return;
    if (chunked) fmt::format_to(std::back_inserter(c.out), "{:x}\r\n", n);
    const std::size_t at = c.out.size();
    c.out.resize(at + n);
    fill_pattern(c.out.data() + at, c.gen_offset, static_cast<std::size_t>(n));
    c.gen_offset += n;
    if (chunked) c.out += "\r\n";
  }

  // Sends queued output, generating more pattern while writing. Returns true when everything
  // queued (and generated) is sent; false when the socket is full or the connection closed.
  bool flush(Connection& c) {
    for (;;) {
      if (!c.output_pending()) {
        c.out.clear();
        c.out_offset = 0;
        if (c.state == State::writing && c.gen_remaining > 0) {
          while (c.gen_remaining > 0 && c.out.size() < kOutputHighWater) {
            const auto n = std::min<std::uint64_t>(c.gen_remaining, kPieceBytes);
            append_pattern(c, n, c.gen_chunked);
            c.gen_remaining -= n;
          }
        }
        if (c.state == State::writing && c.gen_remaining == 0 && c.gen_terminate) {
          c.gen_terminate = false;
          c.out += "0\r\n\r\n";
        }
        if (c.out.empty()) return true;
      }
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset, MSG_NOSIGNAL);
      if (n >= 0) {
        c.out_offset += static_cast<std::size_t>(n);
        if (n > 0) counters_.record_sent(c.request.info.param("key"), static_cast<std::uint64_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        update_interest(c);
        return false;
      }
      close(c);
      return false;
    }
  }

  void update_interest(Connection& c) {
    if (c.closed) return;
    std::uint32_t mask = c.peer_closed ? 0U : static_cast<std::uint32_t>(EPOLLRDHUP);
    if (c.state == State::reading && !c.peer_closed) mask |= EPOLLIN;
    if (c.output_pending()) mask |= EPOLLOUT;
    if (mask == c.interest) return;
    epoll_event ev{};
    ev.events = mask;
    ev.data.u64 = c.id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) != 0) return close(c);
    c.interest = mask;
  }

  // SO_LINGER {on, 0 s} turns close() into an abortive close: the peer gets RST, not FIN.
  void reset(Connection& c) {
    const linger abort_on_close{1, 0};
    ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    close(c);
  }

  // Closes now; the Connection object lives until reap(), because events for it may still be
  // queued in the current epoll batch.
  void close(Connection& c) {
    if (c.closed) return;
    cancel_timer(c);
    ::close(c.fd);  // closing also removes it from the epoll set
    c.closed = true;
    closed_.push_back(c.id);
  }

  void reap() {
    for (const auto id : closed_) connections_.erase(id);
    closed_.clear();
  }

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  Counters& counters_;
  std::atomic<bool> stop_requested_{false};
  std::uint64_t next_id_ = kFirstId;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::uint64_t> closed_;
  Timers timers_;
  std::optional<Clock::time_point> accept_paused_until_;
};

EventListener::EventListener(const std::string& host, std::uint16_t port, Counters& counters) {
  const int fd = bind_listener(host, port);
  try {
    port_ = local_port(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  loop_ = std::make_unique<Loop>(fd, counters);  // owns fd from here on
  loop_->setup();
}

EventListener::~EventListener() { stop(); }

void EventListener::start() {
  thread_ = std::thread([this] { loop_->run(); });
}

void EventListener::stop() {
  if (stopped_.exchange(true)) return;
  loop_->stop_requested_.store(true, std::memory_order_release);
  loop_->wake();
  if (thread_.joinable()) thread_.join();
  loop_.reset();  // closes every connection and the listening socket
}

}  // namespace fetchpipe::tools::detail

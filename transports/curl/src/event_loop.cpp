#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "error_mapping.hpp"

namespace fetchpipe::detail {
namespace {

// libcurl's phase times, in microseconds from the transfer's start; a zero means the phase did
// not happen on this transfer (a reused connection, no TLS), so it is left out.
PhaseTimings phase_timings(CURL* curl) {
  const auto get = [curl](CURLINFO info) -> std::optional<std::chrono::nanoseconds> {
    curl_off_t us = 0;
    if (curl_easy_getinfo(curl, info, &us) != CURLE_OK || us <= 0) return std::nullopt;
    return std::chrono::microseconds{us};
  };
  return PhaseTimings{.name_resolved = get(CURLINFO_NAMELOOKUP_TIME_T),
                      .connected = get(CURLINFO_CONNECT_TIME_T),
                      .tls_done = get(CURLINFO_APPCONNECT_TIME_T),
                      .first_byte = get(CURLINFO_STARTTRANSFER_TIME_T),
                      .total = get(CURLINFO_TOTAL_TIME_T)};
}

constexpr std::uint64_t kWakeupTag = ~std::uint64_t{0};
constexpr int kMaxEvents = 512;

bool has_deadline(TimePoint deadline) { return deadline != TimePoint{} && deadline != TimePoint::max(); }

void validate(const CurlTransport::Options& o) {
  auto fail = [](const char* field, auto value, const char* rule) {
    throw std::invalid_argument(fmt::format("CurlTransport::Options::{} = {}: {}", field, value, rule));
  };
  if (o.connections_per_shard < 1) fail("connections_per_shard", o.connections_per_shard, "must be at least 1");
  if (o.max_idle_connection_age.count() < 0) {
    fail("max_idle_connection_age", o.max_idle_connection_age.count(), "must not be negative (seconds)");
  }
  if (o.max_streams_per_connection < 1 || o.max_streams_per_connection > 0x7fffffff) {
    fail("max_streams_per_connection", o.max_streams_per_connection, "must be between 1 and 2^31-1");
  }
  if (std::string_view{to_string(o.http_version)} == "unknown") {
    fail("http_version", static_cast<int>(o.http_version), "not a fetchpipe::HttpVersion");
  }
  if (o.tcp_keepalive && o.tcp_keepalive_idle.count() < 1) {
    fail("tcp_keepalive_idle", o.tcp_keepalive_idle.count(), "must be at least 1 s when tcp_keepalive is on");
  }
  if (o.tcp_keepalive && o.tcp_keepalive_interval.count() < 1) {
    fail("tcp_keepalive_interval", o.tcp_keepalive_interval.count(),
         "must be at least 1 s when tcp_keepalive is on");
  }
}

// libcurl re-sends a request by itself in two cases only, and gives up after five with "Connection
// died, tried 5 times before giving up": a REUSED connection that died before any response byte
// (the request may have been processed), or an HTTP/2 stream the server refused with
// REFUSED_STREAM before any response byte (RFC 9113 section 8.7: not processed). A transfer on a
// fresh connection (CURLOPT_FRESH_CONNECT) never takes the first path, so there the message
// means every try was refused.
bool refused_every_time(const Transfer& t, CURLcode code) {
  if (!t.fresh_connect || (code != CURLE_RECV_ERROR && code != CURLE_SEND_ERROR)) return false;
  return std::string_view{t.easy->error}.starts_with("Connection died, tried");
}

long to_long(std::size_t value) { return value > LONG_MAX ? LONG_MAX : static_cast<long>(value); }

std::string elapsed_ms(TimePoint from, TimePoint to) {
  return fmt::format("{} ms", std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}

}  // namespace

EventLoop::EventLoop(CurlTransport::Options options)
    : options_((validate(options), std::move(options))),
      mailbox_(std::make_shared<Mailbox>()),
      pool_(options_.max_pooled_handles) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    throw std::runtime_error(fmt::format("CurlTransport: epoll_create1 failed: {}", std::strerror(errno)));
  }
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.u64 = kWakeupTag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, mailbox_->wakeup_fd(), &wake) != 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw std::runtime_error(fmt::format("CurlTransport: epoll_ctl(eventfd) failed: {}", std::strerror(err)));
  }
  curl_slist* list = curl_slist_append(nullptr, "Expect:");
  curl_slist* full = list != nullptr ? curl_slist_append(list, "Content-Type:") : nullptr;
  if (full == nullptr) {
    curl_slist_free_all(list);
    ::close(epoll_fd_);
    throw std::runtime_error("CurlTransport: out of memory building header defaults");
  }
  body_defaults_.list = full;
  scratch_.reserve(256);
  done_.reserve(64);
  commands_.reserve(64);
  thread_ = std::thread([this] { run(); });
  mailbox_->set_loop_thread(thread_.get_id());
}

void EventLoop::begin_shutdown() { mailbox_->close(); }

EventLoop::~EventLoop() {
  mailbox_->close();
  thread_.join();
  curl_slist_free_all(body_defaults_.list);
  ::close(epoll_fd_);
}

std::shared_ptr<Exchange> EventLoop::start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) {
  if (!observer) throw std::invalid_argument("CurlTransport::start: observer is null");
  auto transfer = std::make_shared<Transfer>(spec, std::move(observer), mailbox_);
  if (!mailbox_->push(Command{Command::Kind::start, transfer})) {
    throw std::runtime_error("CurlTransport::start: the transport is shutting down");
  }
  started_.fetch_add(1, std::memory_order_relaxed);
  return transfer;
}

CurlTransport::Stats EventLoop::stats() const {
  return CurlTransport::Stats{started_.load(std::memory_order_relaxed), completed_.load(std::memory_order_relaxed),
                              connections_opened_.load(std::memory_order_relaxed),
                              shard_count_.load(std::memory_order_relaxed)};
}

// ---------------------------------------------------------------------------------------------
// The loop

void EventLoop::run() {
  std::vector<epoll_event> events(kMaxEvents);
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, wait_timeout_ms());
    if (n < 0) n = 0;  // EINTR; anything else would repeat and is not recoverable by waiting
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeupTag) {
        mailbox_->drain_wakeup();
      } else {
        handle_socket_event(static_cast<int>(events[i].data.u64), events[i].events);
      }
    }
    run_due_shard_timers();
    collect_completions();
    run_due_transfer_timers();
    if (!drain_mailbox()) break;
    // Start what was just added (libcurl asked for a 0 ms timer) instead of paying one more
    // epoll_wait round trip, and pick up anything that failed at once.
    now_ = Clock::now();
    run_due_shard_timers();
    collect_completions();
  }
  shutdown();
}

int EventLoop::wait_timeout_ms() const {
  if (mailbox_->has_commands() || !dirty_shards_.empty()) return 0;
  TimePoint due = TimePoint::max();
  for (const auto& shard : shards_) due = std::min(due, shard->timer_due);
  if (!timers_.empty()) due = std::min(due, timers_.top().timer_key);
  if (due == TimePoint::max()) return -1;  // idle: sleep until a socket or the mailbox wakes us
  const auto now = Clock::now();
  if (due <= now) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// ---------------------------------------------------------------------------------------------
// Sockets

EventLoop::FdState& EventLoop::fd_state(int fd) {
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(std::max<std::size_t>(fd + 1, fds_.size() * 2));
  return fds_[static_cast<std::size_t>(fd)];
}

void EventLoop::handle_socket_event(int fd, std::uint32_t events) {
  FdState& state = fd_state(fd);
  if (state.wanted == 0 || state.shard == nullptr) {
    // A parked keep-alive socket became readable (the server closed it) or writable: stop
    // watching it; libcurl notices a dead connection itself when it next looks at it. An event
    // left over for a socket already closed (closing took it out of epoll) touches nothing: its
    // number may belong to another thread's descriptor by now.
    if (state.in_epoll) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      state.in_epoll = false;
    }
    return;
  }
  int flags = 0;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) != 0) flags |= CURL_CSELECT_IN;
  if ((events & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
  if ((events & EPOLLERR) != 0) flags |= CURL_CSELECT_ERR;
  socket_action(*state.shard, fd, flags);
}

void EventLoop::update_socket(Shard& shard, int fd, int what) {
  FdState& state = fd_state(fd);
  if (what == CURL_POLL_REMOVE) {
    state.wanted = 0;
    if (!state.owned && state.in_epoll) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      state.in_epoll = false;
    }
    return;  // a connection socket stays registered while it idles in the cache
  }
  state.shard = &shard;
  std::uint32_t wanted = 0;
  if ((what & CURL_POLL_IN) != 0) wanted |= EPOLLIN;
  if ((what & CURL_POLL_OUT) != 0) wanted |= EPOLLOUT;
  state.wanted = wanted;
  // Only the state of sockets we saw open is trusted; for others the kernel is asked every time.
  if (state.owned && state.in_epoll && state.registered == wanted) return;
  epoll_event event{};
  event.events = wanted;
  event.data.u64 = static_cast<std::uint64_t>(fd);
  if (state.in_epoll) {
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    }
  } else if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  }
  state.in_epoll = true;
  state.registered = wanted;
}

int EventLoop::socket_callback(CURL*, curl_socket_t fd, int what, void* shard, void*) {
  auto* s = static_cast<Shard*>(shard);
  s->loop->update_socket(*s, fd, what);
  return 0;
}

int EventLoop::timer_callback(CURLM*, long timeout_ms, void* shard) {
  // Only record it: libcurl must not be called from inside this callback.
  auto* s = static_cast<Shard*>(shard);
  s->timer_due = timeout_ms < 0 ? TimePoint::max() : Clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

curl_socket_t EventLoop::open_socket_callback(void* loop, curlsocktype, curl_sockaddr* address) {
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  auto* self = static_cast<EventLoop*>(loop);
  try {
    // A fresh fd number is in no epoll set, whatever an earlier socket of that number left.
    self->fd_state(fd) = FdState{nullptr, 0, 0, false, true};
  } catch (...) {
    ::close(fd);
    return CURL_SOCKET_BAD;
  }
  return fd;
}

int EventLoop::close_socket_callback(void* loop, curl_socket_t fd) {
  auto* self = static_cast<EventLoop*>(loop);
  // Closing removes the socket from epoll (no duplicates of it exist), so just forget it.
  if (static_cast<std::size_t>(fd) < self->fds_.size()) self->fds_[static_cast<std::size_t>(fd)] = FdState{};
  return ::close(fd);
}

void EventLoop::socket_action(Shard& shard, curl_socket_t fd, int flags) {
  int running = 0;
  const CURLMcode rc = curl_multi_socket_action(shard.multi, fd, flags, &running);
  if (!shard.dirty) {
    shard.dirty = true;
    dirty_shards_.push_back(&shard);
  }
  if (rc != CURLM_OK) fail_shard(shard, rc);
}

void EventLoop::run_due_shard_timers() {
  for (const auto& shard : shards_) {
    if (shard->timer_due > now_) continue;
    shard->timer_due = TimePoint::max();  // the callback may set a new one during the call
    socket_action(*shard, CURL_SOCKET_TIMEOUT, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Completions and timers

void EventLoop::collect_completions() {
  // Callbacks run below may make more shards dirty (they cannot: they only queue commands), but
  // iterate by index anyway so the vector may grow safely.
  for (std::size_t i = 0; i < dirty_shards_.size(); ++i) {
    Shard& shard = *dirty_shards_[i];
    shard.dirty = false;
    done_.clear();
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(shard.multi, &queued)) {
      if (message->msg == CURLMSG_DONE) done_.emplace_back(message->easy_handle, message->data.result);
    }
    for (const auto& [easy, code] : done_) {
      char* transfer = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &transfer);
      complete_from_curl(*reinterpret_cast<Transfer*>(transfer), code);
    }
  }
  dirty_shards_.clear();
}

void EventLoop::run_due_transfer_timers() {
  while (!timers_.empty() && timers_.top().timer_key <= now_) {
    Transfer& t = timers_.top();
    if (t.deadline <= now_) {
      finish(t, ErrorKind::attempt_timeout,
             fmt::format("exchange deadline reached after {}", elapsed_ms(t.started, now_)));
    } else if (t.stall_armed && t.stall_due <= now_) {
      finish(t, ErrorKind::stall_timeout,
             fmt::format("no response byte for {} (stall timeout)",
                         elapsed_ms(t.stall_due - *t.spec.stall_timeout, now_)));
    } else {
      // Bytes arrived since the key was set: move the key to the current stall time.
      t.timer_key = std::min(t.deadline, t.stall_armed ? t.stall_due : TimePoint::max());
      timers_.schedule(t);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Commands and dispatch

bool EventLoop::drain_mailbox() {
  mailbox_->take(commands_);
  for (Command& command : commands_) {
    if (command.kind == Command::Kind::start) {
      intake(std::move(command.transfer));
    } else if (!command.transfer->finished.load(std::memory_order_relaxed)) {
      finish(*command.transfer, ErrorKind::cancelled, "exchange cancelled");
    }
  }
  commands_.clear();
  dispatch_pending();
  return !mailbox_->closed();
}

void EventLoop::intake(std::shared_ptr<Transfer> transfer) {
  std::uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Transfer& t = *transfer;
  slots_[slot].transfer = std::move(transfer);
  t.slot = slot;
  t.started = now_;
  t.timers = &timers_;
  if (has_deadline(t.spec.deadline)) {
    t.deadline = t.spec.deadline;
    t.timer_key = t.deadline;
    timers_.schedule(t);
  }
  pending_.emplace_back(slot, slots_[slot].generation);
}

void EventLoop::dispatch_pending() {
  const std::size_t cap = options_.max_total_connections;
  while (!pending_.empty() && (cap == 0 || active_ < cap)) {
    const auto [slot, generation] = pending_.front();
    pending_.pop_front();
    if (slots_[slot].generation != generation) continue;  // ended while waiting (cancel, deadline)
    dispatch(*slots_[slot].transfer);
  }
}

void EventLoop::dispatch(Transfer& t) {
  if (t.spec.request == nullptr) {
    finish(t, ErrorKind::invalid_request, "ExchangeSpec::request is null");
    return;
  }
  t.easy = pool_.acquire();
  if (t.easy == nullptr) {
    finish(t, ErrorKind::internal_error, "curl: cannot create an easy handle");
    return;
  }
  const CURLcode rc = configure_easy(t, options_, body_defaults_, scratch_, &open_socket_callback,
                                     &close_socket_callback, this);
  if (rc != CURLE_OK) {
    finish(t, map_curl_code(rc, false), curl_message(rc, t.easy->error));
    return;
  }
  Shard* shard = t.multiplexed ? multiplexed_shard() : pick_shard();
  if (shard == nullptr) {
    finish(t, ErrorKind::internal_error, "curl: cannot create a multi handle");
    return;
  }
  const CURLMcode mrc = curl_multi_add_handle(shard->multi, t.easy->curl);
  if (mrc != CURLM_OK) {
    finish(t, ErrorKind::internal_error, fmt::format("curl: curl_multi_add_handle: {}", curl_multi_strerror(mrc)));
    return;
  }
  t.shard = shard;
  ++shard->active;
  ++active_;
}

Shard* EventLoop::pick_shard() {
  while (!shards_with_room_.empty()) {
    Shard* shard = shards_with_room_.back();
    if (shard->active < options_.connections_per_shard) return shard;
    shard->in_free_list = false;
    shards_with_room_.pop_back();
  }
  Shard* shard = create_shard();
  if (shard != nullptr) {
    shard->in_free_list = true;
    shards_with_room_.push_back(shard);
  }
  return shard;
}

Shard* EventLoop::multiplexed_shard() {
  if (multiplexed_ != nullptr) return multiplexed_;
  Shard* shard = create_shard();
  if (shard == nullptr) return nullptr;
  shard->multiplexed = true;
  curl_multi_setopt(shard->multi, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  curl_multi_setopt(shard->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, to_long(options_.max_streams_per_connection));
  multiplexed_ = shard;
  return shard;
}

Shard* EventLoop::create_shard() {
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return nullptr;
  auto shard = std::make_unique<Shard>();
  shard->loop = this;
  shard->multi = multi;
  const std::size_t idle = options_.max_idle_connections != 0 ? options_.max_idle_connections
                                                               : options_.connections_per_shard;
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &socket_callback);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, shard.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &timer_callback);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, shard.get());
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, to_long(idle));
  if (options_.max_host_connections != 0) {
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, to_long(options_.max_host_connections));
  }
  shards_.push_back(std::move(shard));
  shard_count_.store(shards_.size(), std::memory_order_relaxed);
  return shards_.back().get();
}

// ---------------------------------------------------------------------------------------------
// Ending a transfer: the single place that calls on_complete

void EventLoop::complete_from_curl(Transfer& t, CURLcode code) {
  if (t.cancel_requested.load(std::memory_order_relaxed)) {
    // cancel() came first from the caller's point of view; its command is still queued.
    finish(t, ErrorKind::cancelled, "exchange cancelled");
    return;
  }
  if (code == CURLE_OK) {
    if (!t.head_complete && !t.head_fired && t.head_bytes > 0) {
      // libcurl 7.88 ends a transfer whose connection closed inside the head as OK: the head
      // never reached its blank line, so there is no response to hand over.
      finish(t, ErrorKind::connection_reset, "the connection closed before the response head ended");
      return;
    }
    if (!t.head_complete && !t.head_fired) {
      long status = 0;
      curl_easy_getinfo(t.easy->curl, CURLINFO_RESPONSE_CODE, &status);
      t.head.status = static_cast<int>(status);
      t.head_complete = true;
    }
    finish(t, std::nullopt, {});
    return;
  }
  switch (t.abort) {
    case AbortReason::cancelled:
      finish(t, ErrorKind::cancelled, "exchange cancelled");
      return;
    case AbortReason::observer_stopped:
      finish(t, ErrorKind::cancelled, "stopped: on_body returned false");
      return;
    case AbortReason::body_too_large:
      finish(t, ErrorKind::body_too_large,
             fmt::format("body exceeds the limit of {} bytes", t.spec.max_body_bytes.value_or(0)));
      return;
    case AbortReason::observer_threw:
      finish(t, ErrorKind::internal_error, std::move(t.abort_message));
      return;
    case AbortReason::head_too_large:
      finish(t, ErrorKind::connection_reset,
             fmt::format("the response head exceeds {} bytes", kMaxResponseHeadBytes));
      return;
    case AbortReason::head_unterminated:
      finish(t, ErrorKind::connection_reset, "invalid response: the head did not end with an empty line");
      return;
    case AbortReason::none:
      break;
  }
  if (code == CURLE_OUT_OF_MEMORY && !t.head_complete && !t.head_fired) {
    // libcurl 7.88 refuses one header line over 100 KiB (CURL_MAX_HTTP_HEADER) with "out of
    // memory", before our header callback sees it: the same unusable head as above.
    finish(t, ErrorKind::connection_reset, "a response header line exceeds libcurl's 100 KiB limit");
    return;
  }
  if (refused_by_goaway(t)) {
    finish(t, ErrorKind::connect_failure,
           fmt::format("HTTP/2: the server's GOAWAY named last stream {}, below this request's stream {}, so it "
                       "never processed the request ({})",
                       t.goaway_last_stream, t.h2_stream_id, curl_message(code, t.easy->error)));
    return;
  }
  if (refused_every_time(t, code)) {
    finish(t, ErrorKind::connect_failure,
           fmt::format("HTTP/2: the server refused the stream (REFUSED_STREAM) on every connection libcurl "
                       "tried, so it never processed the request ({})",
                       curl_message(code, t.easy->error)));
    return;
  }
  curl_off_t connect_us = 0;
  curl_off_t tls_us = 0;
  curl_easy_getinfo(t.easy->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(t.easy->curl, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  const bool https = t.spec.request->url.starts_with("https:") || t.spec.request->url.starts_with("HTTPS:");
  // A reused connection reports no connect time: the request having gone out proves it too.
  const bool connected = t.request_sent || (connect_us > 0 && (!https || tls_us > 0));
  finish(t, map_curl_code(code, connected), curl_message(code, t.easy->error));
}

void EventLoop::finish(Transfer& t, std::optional<ErrorKind> error, std::string message) {
  if (t.shard != nullptr) {
    curl_multi_remove_handle(t.shard->multi, t.easy->curl);
    Shard& shard = *t.shard;
    t.shard = nullptr;
    --shard.active;
    --active_;
    if (!shard.in_free_list && !shard.multiplexed) {
      shard.in_free_list = true;
      shards_with_room_.push_back(&shard);
    }
  }
  PhaseTimings timings;
  if (t.easy != nullptr) {
    timings = phase_timings(t.easy->curl);
    long connects = 0;
    if (curl_easy_getinfo(t.easy->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
      connections_opened_.fetch_add(static_cast<std::uint64_t>(connects), std::memory_order_relaxed);
    }
    pool_.release(t.easy);
    t.easy = nullptr;
  }
  timers_.remove(t);
  t.finished.store(true, std::memory_order_release);
  // Keep the transfer alive through the callbacks; its slot is free for reuse from here.
  Slot& slot = slots_[t.slot];
  std::shared_ptr<Transfer> keep = std::move(slot.transfer);
  ++slot.generation;
  free_slots_.push_back(t.slot);

  const bool cancelled = error == ErrorKind::cancelled;
  if (!cancelled && t.head_complete && !t.head_fired && !fire_head(t)) {
    // on_head threw: report that instead of the outcome it interrupted.
    error = ErrorKind::internal_error;
    message = std::move(t.abort_message);
  }
  // Counted first, so a caller woken by on_complete already sees it in stats().
  completed_.fetch_add(1, std::memory_order_relaxed);
  try {
    t.observer->on_complete(ExchangeResult{error, std::move(message), timings});
  } catch (...) {  // nowhere to report it: the exchange is over; never unwind into the loop
  }
  t.observer.reset();
}

void EventLoop::fail_shard(Shard& shard, CURLMcode code) {
  // After an error from curl_multi_socket_action the state of the shard's transfers is unknown
  // (man curl_multi_socket_action): end them all.
  const std::string message = fmt::format("curl: curl_multi_socket_action: {}", curl_multi_strerror(code));
  for (Slot& slot : slots_) {
    if (slot.transfer && slot.transfer->shard == &shard) finish(*slot.transfer, ErrorKind::internal_error, message);
  }
}

void EventLoop::shutdown() {
  // The mailbox is closed: no command can arrive after this take.
  mailbox_->take(commands_);
  for (Command& command : commands_) {
    if (command.kind == Command::Kind::start) intake(std::move(command.transfer));
  }
  commands_.clear();
  pending_.clear();
  for (Slot& slot : slots_) {
    if (slot.transfer) finish(*slot.transfer, ErrorKind::cancelled, "exchange cancelled: transport destroyed");
  }
  // Every libcurl handle is freed on the thread that owns them. Cleaning up a multi handle closes
  // its cached connections (through close_socket_callback, which still needs fds_).
  for (auto& shard : shards_) {
    curl_multi_cleanup(shard->multi);
    shard->multi = nullptr;
  }
  pool_.clear();
}

}  // namespace fetchpipe::detail

// event_loop.hpp — one thread that owns the libcurl handles of a CurlTransport's exchanges
// (one EventLoop per Options::event_loops; each is independent of the others).
//
// Structure (one pass of the loop):
//   1. epoll_wait on ONE epoll set holding every socket of every shard plus the mailbox eventfd,
//      until the earliest of: a shard's libcurl timer, a transfer's deadline or stall time. With
//      nothing to do it blocks indefinitely: an idle transport uses no CPU.
//   2. Each ready socket goes to curl_multi_socket_action of the shard that owns it.
//   3. Shards whose libcurl timer is due get curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
//   4. Completions: for each shard touched, ALL messages are read before any handle is removed
//      (removal walks the unread messages, so interleaving is quadratic).
//   5. Transfer timers that are due end their transfers (attempt_timeout, stall_timeout).
//   6. The mailbox is drained once: cancels and new transfers (re-adding once per pass, after the
//      event batch, measured +13-25% req/s), then due shard timers again so new transfers start
//      at once.
//
// Shards: libcurl 7.88 spends time per request proportional to the connections one multi handle
// holds (connection search, remove_handle walks), so transfers are spread over multi handles of at
// most Options::connections_per_shard transfers each. A new transfer goes to the most recently
// freed shard with room (LIFO), which keeps low-concurrency work on one shard and its warm
// connection cache. Shards are created on demand and kept until the transport is destroyed.
// HTTP/2 transfers all go to one more multi handle of their own: there a connection carries many
// transfers (CURLPIPE_MULTIPLEX), so one cache per origin is what keeps them on one connection,
// and its connection count stays small whatever the number of transfers.
//
// Sockets: each socket is registered in epoll once. When libcurl stops watching a connection
// socket (it went idle into the connection cache) it stays registered; an event on it removes it
// then. Open and close callbacks tell the loop when an fd number starts or stops naming a
// connection, so the cached registration state is never stale. A keep-alive request then costs
// no epoll_ctl at all. Sockets libcurl did not open through us (the threaded resolver's wakeup
// pipe) are added and removed eagerly.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "easy_pool.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "mailbox.hpp"
#include "timer_heap.hpp"
#include "transfer.hpp"

namespace fetchpipe::detail {

class EventLoop;

// One libcurl multi handle and its share of the transfers.
struct Shard {
  EventLoop* loop = nullptr;
  CURLM* multi = nullptr;
  TimePoint timer_due = TimePoint::max();  // libcurl's single timer for this multi handle
  std::size_t active = 0;                  // transfers added to `multi`
  bool dirty = false;                      // may have completion messages to read
  bool in_free_list = false;               // listed as having room
  bool multiplexed = false;                // the HTTP/2 shard: never listed, never full
};

class EventLoop {
 public:
  // Validates options, sets up epoll and the mailbox, starts the thread.
  explicit EventLoop(CurlTransport::Options options);
  // Cancels everything in flight, joins the thread, frees every libcurl handle.
  ~EventLoop();
  // Refuses every later start() and tells the thread to wind down, without waiting for it, so
  // a transport with several loops stops them all before joining any.
  void begin_shutdown();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  std::shared_ptr<Exchange> start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer);
  [[nodiscard]] CurlTransport::Stats stats() const;

 private:
  // What the loop knows about one file descriptor number.
  struct FdState {
    Shard* shard = nullptr;    // whose multi handle watches it
    std::uint32_t wanted = 0;  // epoll events libcurl wants now; 0 = not watched
    std::uint32_t registered = 0;  // events currently registered in epoll
    bool in_epoll = false;
    bool owned = false;        // opened through our open-socket callback (a connection)
  };
  struct Slot {
    std::shared_ptr<Transfer> transfer;
    std::uint32_t generation = 0;
  };

  // libcurl callbacks (C signatures), forwarding to members.
  static int socket_callback(CURL* easy, curl_socket_t fd, int what, void* shard, void* socketp);
  static int timer_callback(CURLM* multi, long timeout_ms, void* shard);
  static curl_socket_t open_socket_callback(void* loop, curlsocktype purpose, curl_sockaddr* address);
  static int close_socket_callback(void* loop, curl_socket_t fd);

  void run();
  [[nodiscard]] int wait_timeout_ms() const;
  void handle_socket_event(int fd, std::uint32_t events);
  void update_socket(Shard& shard, int fd, int what);
  FdState& fd_state(int fd);
  void socket_action(Shard& shard, curl_socket_t fd, int flags);
  void run_due_shard_timers();
  void collect_completions();
  void run_due_transfer_timers();
  bool drain_mailbox();  // false once the mailbox is closed
  void intake(std::shared_ptr<Transfer> transfer);
  void dispatch_pending();
  void dispatch(Transfer& transfer);
  Shard* pick_shard();
  Shard* multiplexed_shard();
  Shard* create_shard();
  void complete_from_curl(Transfer& transfer, CURLcode code);
  void finish(Transfer& transfer, std::optional<ErrorKind> error, std::string message);
  void fail_shard(Shard& shard, CURLMcode code);
  void shutdown();

  const CurlTransport::Options options_;
  std::shared_ptr<Mailbox> mailbox_;
  int epoll_fd_ = -1;

  // Loop thread only, from here to the thread member.
  TimePoint now_;  // refreshed after every epoll_wait
  EasyPool pool_;
  TimerHeap timers_;
  BodyHeaderDefaults body_defaults_;
  std::string scratch_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<Shard*> shards_with_room_;  // LIFO; entries may be full, checked on use
  std::vector<Shard*> dirty_shards_;
  Shard* multiplexed_ = nullptr;  // every HTTP/2 transfer, created on first use
  std::vector<FdState> fds_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::deque<std::pair<std::uint32_t, std::uint32_t>> pending_;  // (slot, generation) not yet added
  std::size_t active_ = 0;  // transfers added to a multi handle
  std::vector<Command> commands_;  // swapped with the mailbox each pass
  std::vector<std::pair<CURL*, CURLcode>> done_;  // completion messages of one shard

  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> connections_opened_{0};
  std::atomic<std::uint64_t> shard_count_{0};

  std::thread thread_;
};

}  // namespace fetchpipe::detail

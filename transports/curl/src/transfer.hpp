// transfer.hpp — one exchange as the event loop runs it, and the libcurl callbacks that feed it.
//
// A Transfer is also the Exchange handed to the pipeline, so starting an exchange allocates one
// object. Two fields cross threads and are atomics: `cancel_requested` (set by cancel() from any
// thread, read by the loop) and `finished` (set by the loop just before on_complete, read by
// cancel() to make a late cancel a no-op). Everything else belongs to the loop thread once the
// start command has been taken from the mailbox (the mailbox's lock orders the hand-over).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "easy_pool.hpp"
#include "fetchpipe/transport.hpp"
#include "fetchpipe/transports/curl_transport.hpp"
#include "mailbox.hpp"
#include "timer_heap.hpp"

namespace fetchpipe::detail {

struct Shard;

// Why fetchpipe itself stopped a transfer from inside a libcurl callback (libcurl then reports
// 23 or 42, which says nothing about the reason).
enum class AbortReason : unsigned char {
  none,
  cancelled,         // cancel() was called while bytes were arriving
  observer_stopped,  // on_body returned false
  body_too_large,    // more body bytes than spec.max_body_bytes
  observer_threw,    // on_head or on_body threw
  head_too_large,    // the response head exceeded kMaxResponseHeadBytes
  head_unterminated, // body bytes came before the head's empty line (libcurl ends a head leniently)
};

// The most response-head bytes (status line and fields, all 1xx heads included) an exchange
// accepts; beyond it the exchange ends as connection_reset. Same bound as the httplib transport.
inline constexpr std::size_t kMaxResponseHeadBytes = 256 * 1024;

class Transfer final : public Exchange, public std::enable_shared_from_this<Transfer> {
 public:
  Transfer(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer,
           std::shared_ptr<Mailbox> mailbox)
      : spec(spec), observer(std::move(observer)), mailbox(std::move(mailbox)) {}

  void cancel() override;

  // Crosses threads.
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> finished{false};

  // Set at construction, then read-only.
  const ExchangeSpec spec;
  std::shared_ptr<ExchangeObserver> observer;  // reset by the loop after on_complete
  const std::shared_ptr<Mailbox> mailbox;

  // Loop thread only.
  EasyHandle* easy = nullptr;
  Shard* shard = nullptr;             // non-null while added to a multi handle
  std::uint32_t slot = 0;             // index in the loop's slot table
  TimerHeap* timers = nullptr;        // the loop's heap, for arming the stall clock
  std::size_t heap_index = TimerHeap::kNotQueued;
  TimePoint timer_key;                // earliest moment a clock of this transfer may fire
  TimePoint deadline = TimePoint::max();  // spec.deadline, or max for none
  TimePoint started;                  // when the loop took the start command
  ResponseHead head;                  // the response head being parsed
  bool head_complete = false;         // the blank line after a final (non-1xx) head was seen
  bool decoding = false;              // libcurl decodes Content-Encoding (Options::accept_encoding)
  bool multiplexed = false;           // HTTP/2 asked for and possible: runs on the HTTP/2 shard
  bool fresh_connect = false;         // CURLOPT_FRESH_CONNECT: never on a reused connection
  // HTTP/2 stream id and a GOAWAY's last stream id, read from libcurl's info text for the
  // transfers that watch for it (see watch_goaway in transfer.cpp); 0 / -1 = not seen.
  std::uint32_t h2_stream_id = 0;
  std::int64_t goaway_last_stream = -1;
  bool head_fired = false;            // on_head was called
  bool stall_armed = false;           // stall clock running (from when the request is sent)
  bool request_sent = false;          // the connection was ready and the request went out
  TimePoint stall_due;                // when the stall timeout fires unless a byte comes first
  std::uint64_t body_bytes = 0;
  AbortReason abort = AbortReason::none;
  std::string abort_message;          // what an observer threw
  std::size_t head_bytes = 0;         // response-head bytes seen (bounded by kMaxResponseHeadBytes)
  // The last field line, held back until a line that is not a continuation of it (obs-fold)
  // arrives, so folding appends instead of rebuilding the head.
  bool field_open = false;
  std::string field_name;
  std::string field_value;
};

// Shared header lists that stop libcurl from adding headers the user did not ask for when a body
// is sent: "Expect: 100-continue" and "Content-Type: application/x-www-form-urlencoded".
struct BodyHeaderDefaults {
  curl_slist* list = nullptr;  // owned by the event loop, read-only while transfers use it
};

// Sets every option a transfer needs on its (reset) easy handle. `scratch` is reused to build
// header lines. Returns CURLE_OK, or the code of the first option libcurl refused.
[[nodiscard]] CURLcode configure_easy(Transfer& transfer, const CurlTransport::Options& options,
                                      const BodyHeaderDefaults& defaults, std::string& scratch,
                                      curl_opensocket_callback open_socket,
                                      curl_closesocket_callback close_socket, void* socket_data);

// Calls on_head once (catching what it throws into transfer.abort). Returns false if it threw.
bool fire_head(Transfer& transfer);

// True when the server's GOAWAY named a last stream below this transfer's, before any response
// byte: RFC 9113 section 6.8, the server did not process it.
[[nodiscard]] bool refused_by_goaway(const Transfer& transfer);

}  // namespace fetchpipe::detail

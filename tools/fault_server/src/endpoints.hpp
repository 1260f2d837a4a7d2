// The endpoint logic, once for both listeners: a request goes in, a Plan (what to answer and
// which fault to inject) comes out. Listeners only carry plans out, so the plain and the TLS
// listener cannot drift apart.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire.hpp"

namespace fetchpipe::tools::detail {

struct Header {
  std::string name;
  std::string value;
};

// What the endpoint logic sees of a request, filled by either listener.
struct RequestInfo {
  std::string method;
  std::string target;  // raw request target: path and query, as sent
  std::string path;    // decoded path, without the query
  Params params;       // decoded query parameters, in order
  std::vector<Header> headers;
  std::string body;

  // The first value of query parameter `name`, or nullptr.
  [[nodiscard]] const std::string* param(std::string_view name) const;
};

// close: read the request, then close the connection (FIN) without a byte of answer.
enum class Fault { none, hang, reset, close };

// What to answer. Carried out in this order: wait `delay`; then `fault`, if any, replaces the
// response; otherwise send status, headers and a body that is either `body` or a generated
// pattern, possibly chunked, dripped, or cut short.
struct Plan {
  std::chrono::milliseconds delay{0};
  Fault fault = Fault::none;
  int status = 200;
  std::vector<Header> headers;  // extra headers: Retry-After, Location
  std::string content_type = "text/plain";
  std::string body;      // used when !pattern
  bool pattern = false;  // body is `pattern_bytes` bytes of fill_pattern instead
  std::uint64_t pattern_bytes = 0;
  std::uint64_t pattern_offset = 0;  // the pattern starts at this byte of it (a 206's part)
  bool chunked = false;  // send the pattern body with chunked transfer coding
  // Send only this many body bytes (Content-Length still announces the whole body), then close.
  std::optional<std::uint64_t> truncate_after;
  // > 0: send the pattern body chunked, `drip_chunk` bytes per interval, the first after one.
  std::chrono::milliseconds drip_interval{0};
  std::size_t drip_chunk = 0;

  // > 0: a head that arrives line by line (plain listener only): the status line at once, then
  // every interval `head_drip_per_tick` lines "X-Drip-N: <head_drip_bytes pattern bytes>",
  // until `head_drip_lines` lines (0: no count limit) or `head_drip_for` have passed; then the
  // head ends (Content-Length: 0, Connection: close). A tick whose lines are still unsent adds
  // none, so a client that stops reading costs the server nothing.
  std::chrono::milliseconds head_drip_interval{0};
  std::uint64_t head_drip_lines = 0;
  std::size_t head_drip_per_tick = 1;
  std::size_t head_drip_bytes = 16;
  std::chrono::milliseconds head_drip_for{10000};

  [[nodiscard]] std::uint64_t body_size() const { return pattern ? pattern_bytes : body.size(); }
  [[nodiscard]] bool dripping() const { return drip_interval.count() > 0; }
  [[nodiscard]] bool dripping_head() const { return head_drip_interval.count() > 0; }
};

// Request counters, shared by both listeners and read by the test thread.
class Counters {
 public:
  // Counts one request, and one for `key` when given; returns the key's new count (0 without).
  // One locked step, so concurrent /flaky requests never both see "first".
  int record(const std::string* key);
  // How many requests `key` has seen.
  [[nodiscard]] int get(const std::string& key) const;
  // Counts one request (for `key` when given) whose client closed the connection before the
  // answer was complete.
  void record_abort(const std::string* key);
  [[nodiscard]] int aborted(const std::string& key) const;
  // Adds `bytes` written to the socket for a request with `key` (when given).
  void record_sent(const std::string* key, std::uint64_t bytes);
  [[nodiscard]] std::uint64_t sent(const std::string& key) const;
  [[nodiscard]] std::int64_t total() const;
  void reset();

 private:
  mutable std::mutex mutex_;
  std::int64_t total_ = 0;
  std::map<std::string, int, std::less<>> by_key_;
  std::map<std::string, int, std::less<>> aborted_by_key_;
  std::map<std::string, std::uint64_t, std::less<>> sent_by_key_;
};

// Decides the answer to `request`, counting it first.
[[nodiscard]] Plan plan_for(const RequestInfo& request, Counters& counters);

// The endpoint list for describe_endpoints(), each line "  /path?params  what it does".
[[nodiscard]] std::string endpoint_summary();

}  // namespace fetchpipe::tools::detail

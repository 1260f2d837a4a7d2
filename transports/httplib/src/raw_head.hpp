// The response head as the server sent it. cpp-httplib 0.11 percent-decodes every header value
// while parsing (`Location: /a%2Fb` arrives as `/a/b`, `%2F%2Fevil/x` as `//evil/x`), so the
// transport captures the raw bytes cpp-httplib reads (see read_tap.hpp), cuts the head out of
// them here, and delivers the values from the wire. It cross-checks its own parse against
// cpp-httplib's: a head the two read differently is refused, never delivered half-decoded.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::detail {

// Collects the bytes of one response, up to the end of its final head (a "100 Continue" before it
// is skipped, as cpp-httplib skips it). Bytes after the head (the body) are not kept.
class RawHeadCapture {
 public:
  // unreadable_interim: a "100 Continue" head with header fields. cpp-httplib 0.11 skips exactly
  // one line after a 100 status line, so it would take the next field for the blank line and
  // fail to read the final response behind it: the transport refuses it by name instead.
  // status_line_too_long: cpp-httplib 0.11 matches a status line with std::regex, whose
  // recursion grows with the line: a long enough line overflows a worker's stack (found by
  // fuzz_response_httplib under ASan with a 49 KB reason phrase). Longer than kMaxStatusLine, the
  // line never reaches it.
  enum class State { reading, complete, too_large, unreadable_interim, status_line_too_long };
  static constexpr std::size_t kMaxStatusLine = 4096;

  // `limit`: the most head bytes (interim heads included) read before giving up.
  explicit RawHeadCapture(std::size_t limit) : limit_(limit) {}

  // Starts over for a new exchange.
  void reset();
  // Feeds the next bytes read from the connection; returns the state after them.
  State feed(std::string_view bytes);

  [[nodiscard]] State state() const { return state_; }
  // The final head, status line to blank line included; empty unless complete.
  [[nodiscard]] std::string_view head() const;

 private:
  void scan();

  std::size_t limit_;
  State state_ = State::reading;
  std::string buffer_;          // from the start of the current head
  std::size_t line_start_ = 0;  // first byte of the line being scanned
  std::size_t erased_ = 0;      // bytes of interim heads dropped before the current one
  int lines_ = 0;               // complete lines of the current head
  bool skip_next_line_ = false; // after "100 Continue": cpp-httplib skips one line
};

// A raw head split into its status and header fields, by the same line rules cpp-httplib uses
// (lines end in CRLF, others are skipped; "name: value" with leading blanks of the value and
// trailing blanks of the line dropped; an empty value is dropped). Values stay undecoded.
struct RawHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;  // wire order
  // A Content-Length or Transfer-Encoding line with an empty value: cpp-httplib drops it, and so
  // frames the body differently from what the server sent.
  std::string dropped_framing_field;
};
[[nodiscard]] std::optional<RawHead> parse_raw_head(std::string_view head);

// What cpp-httplib 0.11 makes of a header value: %XX and %uXXXX decoded, the rest as is.
[[nodiscard]] std::string httplib_decoded(std::string_view value);

// A header value a server sent, fit for an error message: one line (control bytes as \xNN), at
// most 120 bytes of it (then "...").
[[nodiscard]] std::string shown_value(std::string_view value);

// The response head to deliver: `raw`'s fields in wire order, undecoded, provided it describes
// the same response cpp-httplib parsed (`status`, and `headers` equal to `raw`'s fields once
// decoded). Otherwise an explanation of why it cannot be delivered faithfully.
struct FaithfulHead {
  std::optional<ResponseHead> head;
  std::string refusal;  // set when head is empty
};
[[nodiscard]] FaithfulHead faithful_head(std::string_view raw, int status,
                                         const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace fetchpipe::detail

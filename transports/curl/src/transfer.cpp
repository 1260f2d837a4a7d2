#include "transfer.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <string_view>

namespace fetchpipe::detail {
namespace {

// How long a timeout is in whole milliseconds, at least 1 (0 means "default" to libcurl).
long to_ms_at_least_1(std::chrono::nanoseconds d) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return ms < 1 ? 1L : static_cast<long>(ms);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool observer_threw(Transfer& t, const char* where) {
  t.abort = AbortReason::observer_threw;
  try {
    throw;
  } catch (const std::exception& e) {
    t.abort_message = std::string(where) + " threw: " + e.what();
  } catch (...) {
    t.abort_message = std::string(where) + " threw a non-standard exception";
  }
  return false;
}

// The stall clock: "no response byte (head or body) for that long, at any point after the
// request was sent". Armed when libcurl is about to send the request on a ready connection
// (CURLOPT_PREREQFUNCTION), pushed back by every header line and body piece.
void arm_stall(Transfer& t) {
  if (!t.spec.stall_timeout || t.stall_armed) return;
  t.stall_armed = true;
  t.stall_due = Clock::now() + *t.spec.stall_timeout;
  if (t.stall_due < t.timer_key || t.heap_index == TimerHeap::kNotQueued) {
    t.timer_key = std::min(t.stall_due, t.deadline);
    t.timers->schedule(t);
  }
}

// Adds the field held back for continuation lines, if any, to the head.
void close_field(Transfer& t) {
  if (!t.field_open) return;
  t.field_open = false;
  t.head.headers.add(std::move(t.field_name), std::move(t.field_value));
  t.field_name.clear();
  t.field_value.clear();
}

void stall_saw_bytes(Transfer& t) {
  if (t.stall_armed) t.stall_due = Clock::now() + *t.spec.stall_timeout;
}

// CURLOPT_PREREQFUNCTION: the connection (and TLS) is ready and the request goes out next.
int on_request_ready(void* user, char*, char*, int, int) {
  auto& t = *static_cast<Transfer*>(user);
  t.request_sent = true;
  arm_stall(t);
  return CURL_PREREQFUNC_OK;
}

// CURLOPT_HEADERFUNCTION: one complete header line per call, CRLF included. Parses status lines
// and fields; a 1xx head is dropped when its blank line arrives, so only the final head is kept.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  stall_saw_bytes(t);
  if (t.head_fired) return length;  // trailers after the body: not reported
  t.head_bytes += length;
  if (t.head_bytes > kMaxResponseHeadBytes) {
    t.abort = AbortReason::head_too_large;
    return 0;  // any other count than `length` makes libcurl stop the transfer
  }
  const std::string_view line{data, length};
  if (line.starts_with("HTTP/")) {
    // A new head begins (after a 1xx, or a proxy's CONNECT answer): forget the previous one.
    t.field_open = false;
    t.head.headers.clear();
    t.head.status = 0;
    t.head_complete = false;
    const auto space = line.find(' ');
    t.head.http_version = std::string(line.substr(5, std::min(space, line.size()) - 5));
    if (space != std::string_view::npos && space + 4 <= line.size()) {
      int status = 0;
      const auto* first = line.data() + space + 1;
      if (std::from_chars(first, first + 3, status).ec == std::errc{}) t.head.status = status;
    }
    return length;
  }
  const std::string_view content = trim(line);
  // Only a truly empty line ends the head: " \r\n" is an (empty) continuation line, not the end.
  if (line == "\r\n" || line == "\n") {
    close_field(t);
    if (t.head.status >= 200 || t.head.status == 0) {
      t.head_complete = true;
    } else {
      t.head.headers.clear();  // interim 1xx response: not reported
    }
    return length;
  }
  if ((line.front() == ' ' || line.front() == '\t') && t.field_open) {
    // obs-fold continuation (RFC 9112 section 5.2): joined to the open field's value by one
    // space. Appending to the held-back field keeps a flood of continuation lines linear.
    if (!content.empty()) t.field_value.append(" ").append(content);
    return length;
  }
  close_field(t);
  const auto colon = content.find(':');
  if (colon == std::string_view::npos) return length;  // not a field: ignore rather than fail
  t.field_name.assign(trim(content.substr(0, colon)));
  t.field_value.assign(trim(content.substr(colon + 1)));
  t.field_open = true;
  return length;
}

// CURLOPT_WRITEFUNCTION: a piece of the body (at most 16 KiB). Returning CURL_WRITEFUNC_ERROR
// makes libcurl end the transfer with 23; `abort` records why.
std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  if (t.cancel_requested.load(std::memory_order_relaxed)) {
    t.abort = AbortReason::cancelled;
    return CURL_WRITEFUNC_ERROR;
  }
  if (!t.head_fired && !t.head_complete) {
    // libcurl 7.88 also ends a head at a line that merely starts with CR: the head the server
    // sent never ended, and what follows is not a body anyone framed.
    t.abort = AbortReason::head_unterminated;
    return CURL_WRITEFUNC_ERROR;
  }
  if (!t.head_fired && !fire_head(t)) return CURL_WRITEFUNC_ERROR;
  t.body_bytes += length;
  if (t.spec.max_body_bytes && t.body_bytes > *t.spec.max_body_bytes) {
    t.abort = AbortReason::body_too_large;
    return CURL_WRITEFUNC_ERROR;
  }
  stall_saw_bytes(t);
  try {
    if (!t.observer->on_body(std::string_view{data, length})) {
      t.abort = AbortReason::observer_stopped;
      return CURL_WRITEFUNC_ERROR;
    }
  } catch (...) {
    observer_threw(t, "on_body");
    return CURL_WRITEFUNC_ERROR;
  }
  return length;
}

// Builds the request's header list. Lines are "Name: value", or "Name;" for an empty value (a
// bare "Name:" would tell libcurl to remove the header). When a body is sent and the user did not
// choose, "Expect:" and "Content-Type:" stop libcurl adding its own.
CURLcode set_headers(Transfer& t, const BodyHeaderDefaults& defaults, bool sends_body,
                     std::string& scratch) {
  const Headers& headers = t.spec.request->headers;
  EasyHandle& easy = *t.easy;
  if (headers.empty()) {
    if (!sends_body) return CURLE_OK;
    easy.headers = defaults.list;  // shared, not owned
    easy.owns_headers = false;
    return curl_easy_setopt(easy.curl, CURLOPT_HTTPHEADER, easy.headers);
  }
  easy.owns_headers = true;
  bool has_expect = false;
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    has_expect = has_expect || iequals(name, "Expect");
    has_content_type = has_content_type || iequals(name, "Content-Type");
    scratch.assign(name);
    if (value.empty()) {
      scratch.push_back(';');
    } else {
      scratch.append(": ").append(value);
    }
    curl_slist* grown = curl_slist_append(easy.headers, scratch.c_str());
    if (grown == nullptr) return CURLE_OUT_OF_MEMORY;
    easy.headers = grown;
  }
  const char* suppress[] = {sends_body && !has_expect ? "Expect:" : nullptr,
                            sends_body && !has_content_type ? "Content-Type:" : nullptr};
  for (const char* line : suppress) {
    if (line == nullptr) continue;
    curl_slist* grown = curl_slist_append(easy.headers, line);
    if (grown == nullptr) return CURLE_OUT_OF_MEMORY;
    easy.headers = grown;
  }
  return curl_easy_setopt(easy.curl, CURLOPT_HTTPHEADER, easy.headers);
}

CURLcode set_method_and_body(Transfer& t, bool& sends_body) {
  CURL* curl = t.easy->curl;
  const Request& request = *t.spec.request;
  const std::string& method = request.method;
  sends_body = false;
  if (method == "GET" && request.body.empty()) return CURLE_OK;
  if (method == "HEAD") return curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  CURLcode rc = CURLE_OK;
  if (method != "POST") {
    rc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (rc != CURLE_OK) return rc;
  }
  sends_body = method == "POST" || method == "PUT" || method == "PATCH" || !request.body.empty();
  if (!sends_body) return CURLE_OK;
  // POSTFIELDS with an explicit size: the body is sent from the request without a copy (it stays
  // valid until on_complete returns) and libcurl never falls back to reading stdin for size 0.
  rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  if (rc != CURLE_OK) return rc;
  return curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
}

// The number after `key` in `line`, if any.
std::optional<std::uint64_t> number_after(std::string_view line, std::string_view key) {
  const auto at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t value = 0;
  const char* first = line.data() + at + key.size();
  if (std::from_chars(first, line.data() + line.size(), value).ec != std::errc{}) return std::nullopt;
  return value;
}

// CURLOPT_DEBUGFUNCTION: libcurl 7.88's info lines "Using Stream ID: N" and "recveived GOAWAY,
// error=E, last_stream=L" (sic; matched without the misspelt word).
int on_debug_text(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_TEXT) return 0;
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view line{data, size};
  if (const auto id = number_after(line, "Using Stream ID: ")) {
    // A new try (libcurl re-sends a refused stream on a fresh connection): what an earlier
    // connection's GOAWAY said does not cover this stream.
    t.h2_stream_id = static_cast<std::uint32_t>(*id);
    t.goaway_last_stream = -1;
  } else if (line.find("GOAWAY, error=") != std::string_view::npos) {
    if (const auto last = number_after(line, "last_stream=")) t.goaway_last_stream = static_cast<std::int64_t>(*last);
  }
  return 0;
}

bool prior_knowledge_reuse_works() {
  static const bool works = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000;
  return works;
}

long curl_http_version(HttpVersion version) {
  switch (version) {
    case HttpVersion::http2: return CURL_HTTP_VERSION_2TLS;
    case HttpVersion::http2_prior_knowledge: return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    case HttpVersion::http1_1: break;
  }
  // Set explicitly: libcurl 7.62+ would otherwise negotiate h2 on every https connection.
  return CURL_HTTP_VERSION_1_1;
}

}  // namespace

void Transfer::cancel() {
  if (finished.load(std::memory_order_acquire)) return;
  if (cancel_requested.exchange(true, std::memory_order_acq_rel)) return;  // already asked
  // A closed mailbox means the transport is shutting down: it cancels everything itself.
  mailbox->push(Command{Command::Kind::cancel, shared_from_this()});
}

bool refused_by_goaway(const Transfer& t) {
  return t.goaway_last_stream >= 0 && t.h2_stream_id > t.goaway_last_stream && t.head_bytes == 0 &&
         t.body_bytes == 0;
}

bool fire_head(Transfer& t) {
  t.head_fired = true;
  // libcurl hands on the decoded body: the encoded length would not match it (the pipeline checks
  // Content-Length against the bytes it receives), and the coding no longer applies.
  if (t.decoding) {
    const auto coding = t.head.headers.get("Content-Encoding");
    if (coding && !iequals(*coding, "identity")) {
      t.head.headers.remove("Content-Length");
      t.head.headers.remove("Content-Encoding");
    }
  }
  try {
    t.observer->on_head(std::move(t.head));
  } catch (...) {
    return observer_threw(t, "on_head");
  }
  return true;
}

CURLcode configure_easy(Transfer& t, const CurlTransport::Options& options,
                        const BodyHeaderDefaults& defaults, std::string& scratch,
                        curl_opensocket_callback open_socket, curl_closesocket_callback close_socket,
                        void* socket_data) {
  CURL* curl = t.easy->curl;
  const Request& request = *t.spec.request;
  static const TlsOptions kDefaultTls;
  const TlsOptions& tls = t.spec.tls != nullptr ? *t.spec.tls : kDefaultTls;

#define FETCHPIPE_SET(option, value)                            \
  do {                                                          \
    if (CURLcode rc_ = curl_easy_setopt(curl, option, value); rc_ != CURLE_OK) return rc_; \
  } while (false)

  FETCHPIPE_SET(CURLOPT_URL, request.url.c_str());
  FETCHPIPE_SET(CURLOPT_PRIVATE, static_cast<void*>(&t));
  FETCHPIPE_SET(CURLOPT_ERRORBUFFER, t.easy->error);
  // Signals cannot be used with threads; the threaded resolver needs none.
  FETCHPIPE_SET(CURLOPT_NOSIGNAL, 1L);
  FETCHPIPE_SET(CURLOPT_PROTOCOLS_STR, "http,https");
  FETCHPIPE_SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  FETCHPIPE_SET(CURLOPT_FOLLOWLOCATION, 0L);  // the pipeline follows redirects itself
  FETCHPIPE_SET(CURLOPT_WRITEFUNCTION, &on_write);
  FETCHPIPE_SET(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  FETCHPIPE_SET(CURLOPT_HEADERFUNCTION, &on_header);
  FETCHPIPE_SET(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  FETCHPIPE_SET(CURLOPT_PREREQFUNCTION, &on_request_ready);
  FETCHPIPE_SET(CURLOPT_PREREQDATA, static_cast<void*>(&t));
  // The loop must see every socket open and close to keep its epoll set exact without an
  // epoll_ctl per request (see event_loop.cpp).
  FETCHPIPE_SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
  FETCHPIPE_SET(CURLOPT_OPENSOCKETDATA, socket_data);
  FETCHPIPE_SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket);
  FETCHPIPE_SET(CURLOPT_CLOSESOCKETDATA, socket_data);
  FETCHPIPE_SET(CURLOPT_CONNECTTIMEOUT_MS, to_ms_at_least_1(t.spec.connect_timeout));
  FETCHPIPE_SET(CURLOPT_MAXAGE_CONN, static_cast<long>(options.max_idle_connection_age.count()));
  FETCHPIPE_SET(CURLOPT_QUICK_EXIT, 1L);  // do not wait for a stuck resolver thread at cleanup
  if (!request.is_idempotent()) {
    // libcurl re-sends a request, body included, when a REUSED connection closes after the
    // request went out and before any response byte. A non-idempotent request must reach the
    // server at most once per attempt the pipeline records, so it never rides a reused
    // connection (a fresh one is never retried that way). The one re-send left is libcurl's
    // answer to an HTTP/2 REFUSED_STREAM, which the server sends only for a stream it did not
    // process (RFC 9113 section 8.7).
    FETCHPIPE_SET(CURLOPT_FRESH_CONNECT, 1L);
    t.fresh_connect = true;
  }
  const HttpVersion version = request.overrides.http_version.value_or(options.http_version);
  FETCHPIPE_SET(CURLOPT_HTTP_VERSION, curl_http_version(version));
  const bool https = request.url.size() > 5 && iequals(std::string_view{request.url}.substr(0, 6), "https:");
  if (version == HttpVersion::http2_prior_knowledge && !https && !prior_knowledge_reuse_works()) {
    // libcurl before 8.0 fails every transfer that reuses a prior-knowledge h2 connection, to
    // wait for it or to multiplex on it ("Error in the HTTP2 framing layer", curl issue 10634,
    // fixed in 8.0.0): each such transfer gets a connection of its own, kept by no one.
    FETCHPIPE_SET(CURLOPT_FRESH_CONNECT, 1L);
    FETCHPIPE_SET(CURLOPT_FORBID_REUSE, 1L);
    t.fresh_connect = true;
  } else {
    t.multiplexed = version == HttpVersion::http2_prior_knowledge || (version == HttpVersion::http2 && https);
  }
  // Wait for the origin's connection to say whether it multiplexes rather than open one more
  // per transfer while the first is still connecting.
  if (t.multiplexed) FETCHPIPE_SET(CURLOPT_PIPEWAIT, 1L);
  if (t.multiplexed && t.fresh_connect) {
    // libcurl 7.88 reports a stream above a GOAWAY's last stream id (not processed) as the
    // generic CURLE_HTTP2, and says which it was only in its info text. Watched only for the
    // requests that need it (not idempotent: only "never processed" lets them be sent again),
    // which ride a connection of their own anyway; the rest skip the cost of verbose mode.
    FETCHPIPE_SET(CURLOPT_DEBUGFUNCTION, &on_debug_text);
    FETCHPIPE_SET(CURLOPT_DEBUGDATA, static_cast<void*>(&t));
    FETCHPIPE_SET(CURLOPT_VERBOSE, 1L);
  }
  if (options.tcp_keepalive) {
    FETCHPIPE_SET(CURLOPT_TCP_KEEPALIVE, 1L);
    FETCHPIPE_SET(CURLOPT_TCP_KEEPIDLE, static_cast<long>(options.tcp_keepalive_idle.count()));
    FETCHPIPE_SET(CURLOPT_TCP_KEEPINTVL, static_cast<long>(options.tcp_keepalive_interval.count()));
  }
  if (!options.user_agent.empty()) FETCHPIPE_SET(CURLOPT_USERAGENT, options.user_agent.c_str());
  if (options.accept_encoding) {
    // "" = every coding this libcurl decodes (Debian's 7.88: gzip, deflate, br, zstd).
    FETCHPIPE_SET(CURLOPT_ACCEPT_ENCODING, options.accept_encoding->c_str());
    t.decoding = true;
  }
  // Unset, libcurl reads the proxy environment itself; the httplib transport mirrors its rules.
  if (options.proxy) FETCHPIPE_SET(CURLOPT_PROXY, options.proxy->c_str());
  if (options.no_proxy) FETCHPIPE_SET(CURLOPT_NOPROXY, options.no_proxy->c_str());
  if (t.spec.max_body_bytes && request.method != "HEAD") {
    // Refuses early when Content-Length says too much; chunked bodies are counted in on_write.
    // Not for HEAD: its Content-Length describes a body that is never sent.
    FETCHPIPE_SET(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(*t.spec.max_body_bytes));
  }
  FETCHPIPE_SET(CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
  FETCHPIPE_SET(CURLOPT_SSL_VERIFYHOST, tls.verify_peer ? 2L : 0L);
  // Either option REPLACES the system store: libcurl keeps its compiled-in default for the one
  // not set (Debian: /etc/ssl/certs), which would keep every public CA trusted. Both set: both.
  if (!tls.ca_file.empty() || !tls.ca_path.empty()) {
    FETCHPIPE_SET(CURLOPT_CAINFO, tls.ca_file.empty() ? nullptr : tls.ca_file.c_str());
    FETCHPIPE_SET(CURLOPT_CAPATH, tls.ca_path.empty() ? nullptr : tls.ca_path.c_str());
  }
#undef FETCHPIPE_SET

  bool sends_body = false;
  if (CURLcode rc = set_method_and_body(t, sends_body); rc != CURLE_OK) return rc;
  return set_headers(t, defaults, sends_body, scratch);
}

}  // namespace fetchpipe::detail

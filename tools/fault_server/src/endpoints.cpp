#include "endpoints.hpp"

#include "compressed_body.hpp"
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace fetchpipe::tools::detail {

namespace {

constexpr std::string_view kFixedBody = "hello from fetchpipe\n";
constexpr std::int64_t kMaxDelayMs = 24LL * 3600 * 1000;

// A query parameter as an integer in [lo, hi]; `fallback` when absent or malformed. Out-of-range
// values are clamped rather than rejected: a fault server should do *something* predictable.
std::int64_t int_param(const RequestInfo& request, std::string_view name, std::int64_t fallback,
                       std::int64_t lo, std::int64_t hi) {
  const std::string* text = request.param(name);
  if (text == nullptr || text->empty()) return fallback;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec == std::errc::result_out_of_range) return text->front() == '-' ? lo : hi;
  if (ec != std::errc{} || end != text->data() + text->size()) return fallback;
  return std::clamp(value, lo, hi);
}

bool has_crlf(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

Plan text(int status, std::string body) {
  Plan plan;
  plan.status = status;
  plan.body = std::move(body);
  return plan;
}

int redirect_code(const RequestInfo& request) {
  const auto code = int_param(request, "code", 302, 0, 999);
  switch (code) {
    case 301:
    case 302:
    case 303:
    case 307:
    case 308: return static_cast<int>(code);
    default: return 302;
  }
}

Plan redirect(int code, std::string location) {
  Plan plan = text(code, fmt::format("redirecting to {}\n", location));
  plan.headers.push_back({"Location", std::move(location)});
  return plan;
}

std::string encode(std::string_view value) {
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Appends "name=value" to a target's query, encoded.
void add_param(std::string& target, std::string_view name, std::string_view value) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += name;
  target += '=';
  target += encode(value);
}

// Carries `key` into a redirect target, so a chain keeps counting under the same key.
std::string with_key(std::string target, const RequestInfo& request) {
  if (const std::string* key = request.param("key")) add_param(target, "key", *key);
  return target;
}

Plan fixed() { return text(200, std::string(kFixedBody)); }

Plan bytes(const RequestInfo& request) {
  Plan plan;
  plan.content_type = "application/octet-stream";
  plan.pattern = true;
  plan.pattern_bytes = static_cast<std::uint64_t>(
      int_param(request, "n", 1024, 0, std::numeric_limits<std::int64_t>::max()));
  plan.chunked = int_param(request, "chunked", 0, 0, 1) == 1;
  return plan;
}

// /gzip?n=N&coding=gzip|deflate|br|zstd&fill=pattern|zeros: N bytes compressed, Content-Encoding
// set, Content-Length the compressed size. fill=zeros with a large N is a decompression bomb
// (not with br: see compressed_body.hpp).
Plan compressed(const RequestInfo& request) {
  const std::string* param = request.param("coding");
  const std::string name = param != nullptr ? *param : "gzip";
  detail::Coding coding = detail::Coding::gzip;
  if (name == "deflate") coding = detail::Coding::deflate;
  else if (name == "br") coding = detail::Coding::br;
  else if (name == "zstd") coding = detail::Coding::zstd;
  else if (name != "gzip") return text(400, "coding must be gzip, deflate, br or zstd\n");
  const auto n = static_cast<std::uint64_t>(int_param(request, "n", 1024, 0, std::int64_t{1} << 30));
  const std::string* fill = request.param("fill");
  const bool zeros = fill != nullptr && *fill == "zeros";
  // br, and zstd of the pattern, are stored as they are: the body is N bytes in memory.
  const bool stored = coding == detail::Coding::br || (coding == detail::Coding::zstd && !zeros);
  if (stored && n > (std::uint64_t{64} << 20)) return text(400, "n must be at most 64 MiB for this coding\n");
  auto body = detail::compressed_body(coding, n, zeros);
  if (!body) return text(500, "compression failed\n");
  Plan plan = text(200, std::move(*body));
  plan.content_type = "application/octet-stream";
  plan.headers.push_back({"Content-Encoding", name});
  return plan;
}

Plan truncated(std::uint64_t n, std::uint64_t sent) {
  Plan plan;
  plan.content_type = "application/octet-stream";
  plan.pattern = true;
  plan.pattern_bytes = n;
  plan.truncate_after = std::min(sent, n);
  return plan;
}

Plan truncate(const RequestInfo& request) {
  const auto n = int_param(request, "n", 1000, 0, std::numeric_limits<std::int64_t>::max());
  const auto sent = int_param(request, "sent", n / 2, 0, n);
  return truncated(static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(sent));
}

Plan status(const RequestInfo& request) {
  const auto code = int_param(request, "code", 200, 0, 999);
  // 1xx are interim responses: a client would wait forever for the final one.
  if (code < 200 || code > 599) return text(400, "code must be 200..599\n");
  Plan plan = text(static_cast<int>(code), fmt::format("status {}\n", code));
  if (request.param("bytes") != nullptr) {  // a large error page: N pattern bytes instead
    plan.content_type = "application/octet-stream";
    plan.body.clear();
    plan.pattern = true;
    plan.pattern_bytes = static_cast<std::uint64_t>(
        int_param(request, "bytes", 0, 0, std::numeric_limits<std::int64_t>::max()));
  }
  if (const std::string* retry_after = request.param("retry_after")) {
    if (has_crlf(*retry_after)) return text(400, "retry_after must not contain CR or LF\n");
    plan.headers.push_back({"Retry-After", *retry_after});
  }
  return plan;
}

const std::string* header(const RequestInfo& request, std::string_view name) {
  for (const auto& h : request.headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return &h.value;
    }
  }
  return nullptr;
}

// The comma-separated offsets of `cuts`, in order; malformed items are skipped.
std::vector<std::uint64_t> cut_list(const RequestInfo& request) {
  std::vector<std::uint64_t> cuts;
  const std::string* text = request.param("cuts");
  if (text == nullptr) return cuts;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec == std::errc{} && end == item.data() + item.size()) cuts.push_back(value);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return cuts;
}

// N pattern bytes that may be fetched in parts (see fault_server.hpp for every parameter): the
// first answer (no Range) is cut after C bytes; `Range: bytes=X-` with a matching `If-Range`
// gets a 206 of the rest; a stale If-Range, the whole. `seen` is this key's request count.
Plan resumable(const RequestInfo& request, int seen) {
  const auto n = static_cast<std::uint64_t>(int_param(request, "n", 1000, 1, std::numeric_limits<std::int64_t>::max()));
  const auto cut = static_cast<std::uint64_t>(int_param(request, "cut", static_cast<std::int64_t>(n / 2), 0,
                                                        static_cast<std::int64_t>(n)));
  const std::string* etag_param = request.param("etag");
  const std::string tag = etag_param != nullptr && !has_crlf(*etag_param) ? *etag_param : std::string("v1");
  // change_after=K: from the key's (K+1)-th request on, another entity: new validator, other bytes.
  // fail_after=K (with key): from the key's (K+1)-th request on, 503 "status 503\n".
  const auto fail_after = int_param(request, "fail_after", 0, 0, std::numeric_limits<int>::max());
  if (fail_after > 0 && seen > fail_after) return text(503, "status 503\n");
  const auto change_after = int_param(request, "change_after", 0, 0, std::numeric_limits<int>::max());
  const bool changed = change_after > 0 && seen > change_after;
  const std::string* kind = request.param("validator");
  std::string validator;
  Plan plan;
  plan.content_type = "application/octet-stream";
  plan.pattern = true;
  plan.pattern_bytes = n;
  plan.headers.push_back({"Accept-Ranges", "bytes"});
  if (kind != nullptr && *kind == "last-modified") {
    validator = changed ? "Thu, 02 Jan 2025 00:00:00 GMT" : "Wed, 01 Jan 2025 00:00:00 GMT";
    plan.headers.push_back({"Last-Modified", validator});
  } else {
    validator = (kind != nullptr && *kind == "weak" ? "W/\"" : "\"") + tag + (changed ? ".2\"" : "\"");
    plan.headers.push_back({"ETag", validator});
  }
  // The changed entity is the pattern shifted by 7 bytes: every byte differs from the original.
  const std::uint64_t shift = changed ? 7 : 0;
  plan.pattern_offset = shift;
  const std::vector<std::uint64_t> cuts = cut_list(request);
  // With `cuts`, any answer starting at byte F is cut at the first listed offset past F.
  const auto cut_from = [&](std::uint64_t from) -> std::optional<std::uint64_t> {
    for (const auto c : cuts) {
      if (c > from && c < n) return c - from;
    }
    return std::nullopt;
  };
  // drip_ms=I&chunk=C: every answer trickles in, chunked, C bytes (default 1000) every I ms, and
  // is never cut: for killing a client mid-download.
  const auto drip_ms = int_param(request, "drip_ms", 0, 0, kMaxDelayMs);
  const auto drip = [&](Plan p) {
    if (drip_ms > 0) {
      p.truncate_after.reset();
      p.chunked = true;
      p.drip_interval = std::chrono::milliseconds(drip_ms);
      p.drip_chunk = static_cast<std::size_t>(int_param(request, "chunk", 1000, 1, 1 << 20));
    }
    return p;
  };
  const std::string* range = header(request, "Range");
  const std::string* if_range = header(request, "If-Range");
  if (range == nullptr) {
    plan.truncate_after = request.param("cuts") != nullptr ? cut_from(0) : std::optional{cut};
    return drip(plan);
  }
  std::uint64_t from = 0;
  const bool parsed = range->rfind("bytes=", 0) == 0 && range->back() == '-' &&
                      std::from_chars(range->data() + 6, range->data() + range->size() - 1, from).ec == std::errc{};
  if (!parsed || from >= n) return text(416, "unsatisfiable range\n");
  // Changed (or unconditional, or a weak validator, which If-Range must not use): all of it.
  if (if_range == nullptr || *if_range != validator || validator.rfind("W/", 0) == 0) {
    plan.truncate_after = cut_from(0);
    return drip(plan);
  }
  // lie=D: the 206 claims (and sends) the part from byte X+D instead of X; with lie_until=K
  // (and a key) only up to the key's K-th request.
  const bool lying = seen <= int_param(request, "lie_until", std::numeric_limits<int>::max(), 0,
                                       std::numeric_limits<int>::max());
  const auto lie = lying ? int_param(request, "lie", 0, -static_cast<std::int64_t>(from),
                                     static_cast<std::int64_t>(n - 1 - from))
                         : 0;
  const std::uint64_t start = from + static_cast<std::uint64_t>(lie);
  plan.status = 206;
  plan.headers.push_back({"Content-Range", fmt::format("bytes {}-{}/{}", start, n - 1, n)});
  plan.pattern_offset = start + shift;
  plan.pattern_bytes = n - start;
  if (const auto c = cut_from(start)) plan.truncate_after = c;
  return drip(plan);
}

Plan fault_plan(Fault fault) {
  Plan plan;
  plan.fault = fault;
  return plan;
}

Plan flaky(const RequestInfo& request, int seen) {
  const auto fail = int_param(request, "fail", 1, 0, std::numeric_limits<int>::max());
  if (seen > fail) return text(200, fmt::format("ok after {} failures\n", fail));
  if (const std::string* fault = request.param("fault")) {
    if (*fault == "reset") return fault_plan(Fault::reset);
    if (*fault == "hang") return fault_plan(Fault::hang);
    if (*fault == "truncate") return truncated(100, 10);
    return text(400, "fault must be reset, truncate or hang\n");
  }
  RequestInfo as_status;
  as_status.params = {{"code", request.param("status") ? *request.param("status") : "503"}};
  if (const std::string* retry_after = request.param("retry_after")) {
    as_status.params.emplace_back("retry_after", *retry_after);
  }
  return status(as_status);
}

// A well-mixed hash of a request's number: which requests of a key are slow, the same every run.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// `seen`: the request's number among its key's (0 without a key: then every request draws alike).
Plan delay(const RequestInfo& request, int seen) {
  auto ms = int_param(request, "ms", 100, 0, kMaxDelayMs);
  const auto slow_permille = int_param(request, "slow_permille", 0, 0, 1000);
  if (slow_permille > 0 && static_cast<std::int64_t>(mix(static_cast<std::uint64_t>(seen)) % 1000) < slow_permille) {
    ms = int_param(request, "slow_ms", ms, 0, kMaxDelayMs);
  }
  Plan plan = text(200, fmt::format("delayed {} ms\n", ms));
  plan.delay = std::chrono::milliseconds(ms);
  return plan;
}

Plan drip(const RequestInfo& request) {
  Plan plan;
  plan.content_type = "application/octet-stream";
  plan.pattern = true;
  plan.pattern_bytes = static_cast<std::uint64_t>(
      int_param(request, "n", 100, 0, std::numeric_limits<std::int64_t>::max()));
  plan.chunked = true;
  plan.drip_interval =
      std::chrono::milliseconds(int_param(request, "interval_ms", 100, 1, kMaxDelayMs));
  plan.drip_chunk = static_cast<std::size_t>(int_param(request, "chunk", 10, 1, 1 << 20));
  return plan;
}

Plan redirect_chain(const RequestInfo& request) {
  const auto n = int_param(request, "n", 1, 0, 1000000);
  if (n == 0) return fixed();
  const int code = redirect_code(request);
  const std::string* to = request.param("to");
  if (to != nullptr && (to->empty() || to->front() != '/' || has_crlf(*to))) {
    return text(400, "to must be a path\n");
  }
  if (n == 1) return redirect(code, with_key(to != nullptr ? *to : "/fixed", request));
  std::string next = fmt::format("/redirect?n={}&code={}", n - 1, code);
  if (to != nullptr) add_param(next, "to", *to);
  return redirect(code, with_key(std::move(next), request));
}

Plan redirect_to(const RequestInfo& request) {
  const std::string* url = request.param("url");
  if (url == nullptr || url->empty() || has_crlf(*url)) return text(400, "url is required\n");
  return redirect(redirect_code(request), *url);
}

// A response head of about `bytes` header bytes: `lines` headers X-Big-1.. (default 1) sharing
// them, each value a run of the byte pattern. Tests that clients bound what they buffer.
Plan big_header(const RequestInfo& request) {
  const auto bytes = int_param(request, "bytes", 1 << 20, 0, std::int64_t{64} << 20);
  const auto lines = int_param(request, "lines", 1, 1, 100000);
  Plan plan = text(200, "big header\n");
  const auto per_line = static_cast<std::size_t>(bytes / lines);
  std::string value(per_line, '\0');
  fill_pattern(value.data(), 0, value.size());
  for (std::int64_t i = 1; i <= lines; ++i) plan.headers.push_back({fmt::format("X-Big-{}", i), value});
  return plan;
}

// `fields` short fields F1..Fn ("a"), then one header X-Folded whose value continues over
// obs-fold lines (RFC 9112 section 5.2): about `bytes` head bytes in lines of " " + `width`
// pattern bytes. Tests that clients unfold in linear time (many fields make a per-line rebuild of
// the head costly); a client that unfolds sees the pattern runs joined by single spaces.
Plan folded_header(const RequestInfo& request) {
  const auto bytes = int_param(request, "bytes", 1 << 18, 0, std::int64_t{64} << 20);
  const auto width = static_cast<std::size_t>(int_param(request, "width", 1, 1, 4096));
  const auto fields = int_param(request, "fields", 0, 0, 100000);
  Plan plan = text(200, "folded header\n");
  for (std::int64_t i = 1; i <= fields; ++i) plan.headers.push_back({fmt::format("F{}", i), "a"});
  const std::size_t line_bytes = width + 3;  // CR LF SP before each continuation
  std::string run(width, '\0');
  fill_pattern(run.data(), 0, width);
  std::string value = run;
  for (auto left = static_cast<std::size_t>(bytes); left >= line_bytes; left -= line_bytes) {
    value.append("\r\n ").append(run);
  }
  plan.headers.push_back({"X-Folded", std::move(value)});
  return plan;
}

// A head that keeps arriving: for clients' stall clocks (slow lines are progress) and for their
// head bounds (a flood of lines must be cut by the client, not buffered).
Plan header_drip(const RequestInfo& request) {
  Plan plan = text(200, "");
  plan.head_drip_interval = std::chrono::milliseconds(int_param(request, "interval_ms", 100, 1, kMaxDelayMs));
  plan.head_drip_lines = static_cast<std::uint64_t>(
      int_param(request, "lines", 10, 0, std::numeric_limits<std::int64_t>::max()));
  plan.head_drip_per_tick = static_cast<std::size_t>(int_param(request, "per_tick", 1, 1, 4096));
  plan.head_drip_bytes = static_cast<std::size_t>(int_param(request, "bytes", 16, 0, 1 << 20));
  plan.head_drip_for = std::chrono::milliseconds(int_param(request, "max_ms", 10000, 0, kMaxDelayMs));
  return plan;
}

Plan echo(const RequestInfo& request) {
  std::string out = fmt::format("method {}\ntarget {}\n", request.method, request.target);
  for (const auto& header : request.headers)
    out += fmt::format("header {}: {}\n", header.name, header.value);
  out += fmt::format("body-length {}\n\n", request.body.size());
  out += request.body;
  return text(200, std::move(out));
}

// /echo/<anything>: like /echo, or, with `location`, a redirect to it verbatim (so a relative
// Location such as "?q=a%2Bb" comes back to an /echo/ path that shows the raw target).
Plan echo_or_redirect(const RequestInfo& request) {
  const std::string* location = request.param("location");
  if (location == nullptr) return echo(request);
  if (location->empty() || has_crlf(*location)) return text(400, "location must be one line\n");
  return redirect(redirect_code(request), *location);
}

}  // namespace

const std::string* RequestInfo::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

int Counters::record(const std::string* key) {
  std::lock_guard lock(mutex_);
  ++total_;
  return key == nullptr ? 0 : ++by_key_[*key];
}

int Counters::get(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second;
}

void Counters::record_abort(const std::string* key) {
  if (key == nullptr) return;
  std::lock_guard lock(mutex_);
  ++aborted_by_key_[*key];
}

int Counters::aborted(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = aborted_by_key_.find(key);
  return it == aborted_by_key_.end() ? 0 : it->second;
}

void Counters::record_sent(const std::string* key, std::uint64_t bytes) {
  if (key == nullptr) return;
  std::lock_guard lock(mutex_);
  sent_by_key_[*key] += bytes;
}

std::uint64_t Counters::sent(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = sent_by_key_.find(key);
  return it == sent_by_key_.end() ? 0 : it->second;
}

std::int64_t Counters::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void Counters::reset() {
  std::lock_guard lock(mutex_);
  total_ = 0;
  by_key_.clear();
  aborted_by_key_.clear();
  sent_by_key_.clear();
}

Plan plan_for(const RequestInfo& request, Counters& counters) {
  const std::string& path = request.path;
  // Key-less /flaky requests share the key "" so that "fail the first N" still means something.
  static const std::string kNoKey;
  const std::string* key = request.param("key");
  if (key == nullptr && path == "/flaky") key = &kNoKey;
  const int seen = counters.record(key);

  if (path == "/fixed") return fixed();
  if (path == "/bytes") return bytes(request);
  if (path == "/gzip") return compressed(request);
  if (path == "/status") return status(request);
  if (path == "/flaky") return flaky(request, seen);
  if (path == "/delay") return delay(request, seen);
  if (path == "/hang") return fault_plan(Fault::hang);
  if (path == "/reset") return fault_plan(Fault::reset);
  if (path == "/truncate") return truncate(request);
  if (path == "/resumable") return resumable(request, seen);
  if (path == "/drip") return drip(request);
  if (path == "/redirect") return redirect_chain(request);
  if (path == "/redirect-loop") {
    const int code = redirect_code(request);
    return redirect(code, with_key(fmt::format("/redirect-loop?code={}", code), request));
  }
  if (path == "/redirect-to") return redirect_to(request);
  if (path == "/echo") return echo(request);
  if (path.rfind("/echo/", 0) == 0) return echo_or_redirect(request);
  if (path == "/big-header") return big_header(request);
  if (path == "/folded-header") return folded_header(request);
  if (path == "/close-after-read") return fault_plan(Fault::close);
  if (path == "/header-drip") return header_drip(request);
  return text(404, fmt::format("no endpoint {}\n", path));
}

std::string endpoint_summary() {
  return "  /fixed                                   200 \"hello from fetchpipe\\n\" (benchmark "
         "path)\n"
         "  /bytes?n=N&chunked=0|1                   N pattern bytes, Content-Length or chunked\n"
         "  /gzip?n=N&coding=gzip|deflate|br|zstd&fill=zeros  N bytes (pattern or zeros) compressed\n"
         "  /status?code=C&retry_after=V&bytes=N     status C, Retry-After V verbatim; N pattern bytes\n"
         "  /flaky?key=K&fail=N&status=S&retry_after=V&fault=reset|truncate|hang\n"
         "                                           first N requests for K fail, then 200\n"
         "  /delay?ms=M                              200 after M ms (event loop, no thread each)\n"
         "  /delay?ms=M&slow_ms=S&slow_permille=P&key=K  S ms instead for P of every 1000 of K's requests\n"
         "  /hang                                    never answers\n"
         "  /reset                                   aborts the connection with RST\n"
         "  /truncate?n=N&sent=S                     Content-Length N, only S bytes, then close\n"
         "  /resumable?n=N&cut=C&etag=E              N bytes, cut after C; Range + If-Range: E gets a 206\n"
         "    &cuts=C1,C2,..&change_after=K&lie=D&lie_until=K&fail_after=K&drip_ms=I&chunk=C\n"
         "    &validator=etag|last-modified|weak\n"
         "  /drip?n=N&interval_ms=I&chunk=C          C bytes every I ms until N, chunked\n"
         "  /redirect?n=N&code=R&to=PATH             N redirects, then PATH (default /fixed)\n"
         "  /redirect-loop?code=R                    redirects to itself forever\n"
         "  /redirect-to?url=U&code=R                redirects to U\n"
         "  /echo                                    describes method, target, headers, body\n"
         "  /echo/ANY?location=L&code=R              like /echo; with L, redirects to L verbatim\n"
         "  /big-header?bytes=N&lines=L              200 with ~N header bytes in L X-Big-i headers\n"
         "  /folded-header?bytes=N&width=W&fields=F  F fields, then X-Folded over ~N bytes of obs-fold\n"
         "  /close-after-read                        reads the request, closes without answering\n"
         "  /header-drip?lines=N&bytes=B&interval_ms=I&per_tick=P&max_ms=M\n"
         "                                           head lines trickling in (plain listener only)\n"
         "  (any endpoint) key=K                     counted per key\n";
}

}  // namespace fetchpipe::tools::detail

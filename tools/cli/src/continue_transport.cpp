#include "continue_transport.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>
#include <utility>

namespace fetchpipe::cli {
namespace {

std::string_view strip(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// "bytes=K-" as the pipeline writes it; nullopt for anything else.
std::optional<std::uint64_t> open_range_start(std::string_view range) {
  if (!range.starts_with("bytes=") || !range.ends_with('-')) return std::nullopt;
  return to_u64(range.substr(6, range.size() - 7));
}

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"), checked for sense.
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view v) {
  v = strip(v);
  if (!v.starts_with("bytes ")) return std::nullopt;
  v = strip(v.substr(6));
  const auto dash = v.find('-');
  const auto slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  const auto first = to_u64(v.substr(0, dash));
  const auto last = to_u64(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange range{*first, *last, std::nullopt};
  if (v.substr(slash + 1) != "*") {
    range.total = to_u64(v.substr(slash + 1));
    if (!range.total || *last >= *range.total) return std::nullopt;
  }
  return range;
}

// What If-Range may carry for this response: RFC 9110 13.1.5 allows a strong ETag or a date.
std::string offered_validator(const Headers& headers) {
  const auto ranges = headers.get("Accept-Ranges");
  if (!ranges || strip(*ranges) != "bytes") return "";
  if (const auto etag = headers.get("ETag")) {
    const auto v = strip(*etag);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return std::string(v);
  }
  if (const auto date = headers.get("Last-Modified")) return std::string(strip(*date));
  return "";
}

}  // namespace

struct ContinueTransport::Continuation {
  enum class Mode { shifting, stripping, off };
  // Called by a Tap with the head of its exchange; returns the head to hand on, or an error
  // message when the exchange must fail instead.
  struct Verdict {
    std::optional<ResponseHead> head;
    std::string error;
  };
  Verdict judge(ResponseHead head, std::optional<std::uint64_t> asked, std::uint64_t relative, bool stripped);

  mutable std::mutex mutex_;
  Mode mode_ = Mode::off;
  std::uint64_t offset_ = 0;
  std::string sidecar_validator_;
  std::string seen_validator_;
  bool asked_taken_ = true;
  bool translated_ = false;
  std::optional<std::uint64_t> asked_{};
};

// Hands one exchange's events on, after Continuation::judge has seen its head.
class ContinueTransport::Tap final : public ExchangeObserver {
 public:
  Tap(std::shared_ptr<Continuation> owner, std::shared_ptr<ExchangeObserver> next, std::shared_ptr<Request> sent,
      std::optional<std::uint64_t> shifted, std::uint64_t relative, bool stripped)
      : owner_(std::move(owner)), next_(std::move(next)), sent_(std::move(sent)), shifted_(shifted), relative_(relative),
        stripped_(stripped) {}

  void on_head(ResponseHead head) override {
    Continuation::Verdict v = owner_->judge(std::move(head), shifted_, relative_, stripped_);
    if (v.head) {
      next_->on_head(std::move(*v.head));
    } else {
      refused_ = std::move(v.error);  // the pipeline never sees this response
    }
  }
  bool on_body(std::string_view chunk) override { return !refused_ && next_->on_body(chunk); }
  void on_complete(ExchangeResult result) override {
    if (refused_) {
      result.error = ErrorKind::connection_reset;
      result.message = std::move(*refused_);
    }
    next_->on_complete(std::move(result));
  }

 private:
  std::shared_ptr<Continuation> owner_;
  std::shared_ptr<ExchangeObserver> next_;
  std::shared_ptr<Request> sent_;  // ExchangeSpec::request points here until on_complete
  std::optional<std::uint64_t> shifted_;
  std::uint64_t relative_;
  bool stripped_;
  std::optional<std::string> refused_;
};

ContinueTransport::ContinueTransport(std::shared_ptr<Transport> inner, std::uint64_t offset, std::string validator)
    : inner_(std::move(inner)), state_(std::make_shared<Continuation>()) {
  if (offset > 0 && !validator.empty()) {
    state_->mode_ = Continuation::Mode::shifting;
    state_->offset_ = offset;
    state_->sidecar_validator_ = std::move(validator);
  }
}

std::shared_ptr<Exchange> ContinueTransport::start(const ExchangeSpec& spec, std::shared_ptr<ExchangeObserver> observer) {
  auto sent = std::make_shared<Request>(*spec.request);
  std::optional<std::uint64_t> asked;     // what this exchange asks, for the report
  std::optional<std::uint64_t> shifted;   // set when this exchange continues FILE.part
  std::uint64_t relative = 0;
  bool stripped = false;
  {
    Continuation& st = *state_;
    std::lock_guard lock(st.mutex_);
    const auto range = sent->headers.get("Range");
    if (st.mode_ == Continuation::Mode::shifting && sent->method == "GET") {
      if (range) {
        relative = open_range_start(*range).value_or(0);
      } else {
        sent->headers.set("If-Range", st.sidecar_validator_);
      }
      asked = shifted = st.offset_ + relative;
      sent->headers.set("Range", fmt::format("bytes={}-", *asked));
    } else if (st.mode_ == Continuation::Mode::stripping && range) {
      // The pipeline counts from the start this run gave up: only the whole entity is safe now.
      sent->headers.remove("Range");
      sent->headers.remove("If-Range");
      stripped = true;
    } else if (range) {
      asked = open_range_start(*range);
    }
    if (st.asked_taken_) {
      st.asked_taken_ = false;
      st.asked_ = asked;
    }
  }
  ExchangeSpec sent_spec = spec;
  sent_spec.request = sent.get();
  auto tap = std::make_shared<Tap>(state_, std::move(observer), sent, shifted, relative, stripped);
  return inner_->start(sent_spec, std::move(tap));
}

ContinueTransport::Continuation::Verdict ContinueTransport::Continuation::judge(
    ResponseHead head, std::optional<std::uint64_t> asked, std::uint64_t relative, bool stripped) {
  std::lock_guard lock(mutex_);
  translated_ = false;
  if (head.status == 200 || head.status == 206) seen_validator_ = offered_validator(head.headers);
  if (stripped && head.status == 200) mode_ = Mode::off;
  if (!asked || mode_ != Mode::shifting) return {std::move(head), {}};
  if (head.status == 200) {
    mode_ = Mode::off;  // the entity changed: this is all of the new one
    return {std::move(head), {}};
  }
  if (head.status != 206 && head.status != 416) return {std::move(head), {}};  // judged as usual
  const auto field = head.headers.get("Content-Range");
  const auto range = head.status == 206 && field ? parse_content_range(*field) : std::nullopt;
  if (!range || range->first != *asked) {
    // Not the part asked for: nothing of it may reach the file.
    mode_ = relative == 0 ? Mode::off : Mode::stripping;
    return {std::nullopt,
            head.status == 416
                ? fmt::format("the server cannot continue from byte {} (416); starting over", *asked)
                : fmt::format("invalid response: a 206 to a Range request from byte {} has Content-Range '{}'; "
                              "starting over",
                              *asked, field.value_or(""))};
  }
  // The part asked for: hand it on as the answer to what the pipeline itself asked.
  if (relative == 0) {
    translated_ = true;
    head.status = 200;
    head.headers.remove("Content-Range");
  } else {
    head.headers.set("Content-Range",
                     fmt::format("bytes {}-{}/{}", range->first - offset_, range->last - offset_,
                                 range->total ? std::to_string(*range->total - offset_) : std::string("*")));
  }
  return {std::move(head), {}};
}

std::uint64_t ContinueTransport::base() const {
  std::lock_guard lock(state_->mutex_);
  return state_->mode_ == Continuation::Mode::shifting ? state_->offset_ : 0;
}

std::string ContinueTransport::validator() const {
  std::lock_guard lock(state_->mutex_);
  return state_->seen_validator_;
}

bool ContinueTransport::take_translated() {
  std::lock_guard lock(state_->mutex_);
  return std::exchange(state_->translated_, false);
}

std::optional<std::uint64_t> ContinueTransport::take_asked() {
  std::lock_guard lock(state_->mutex_);
  state_->asked_taken_ = true;
  return std::exchange(state_->asked_, std::nullopt);
}

}  // namespace fetchpipe::cli

#include "batch_report.hpp"

#include <fmt/format.h>

#include "json_writer.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

std::string human_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string clock_time(std::chrono::nanoseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace

void BatchTally::add(const BatchLineReport& report) {
  switch (report.outcome) {
    case FetchReport::Outcome::success: ++succeeded; break;
    case FetchReport::Outcome::failure: ++failed; break;
    case FetchReport::Outcome::cancelled: ++cancelled; break;
  }
  bytes += report.bytes;
}

BatchLineReport invalid_line_report(std::uint64_t line, std::string url, std::string message) {
  BatchLineReport r;
  r.line = line;
  r.url = std::move(url);
  r.outcome = FetchReport::Outcome::failure;
  r.error_kind = std::string(to_string(ErrorKind::invalid_request));
  r.error_message = fmt::format("line {}: {}", line, message);
  r.reason = GiveUpReason::not_retryable;
  return r;
}

std::string to_json(const BatchLineReport& r) {
  JsonWriter w;
  w.begin_object();
  w.key("line").value(r.line);
  w.key("url").value(r.url);
  w.key("output").value(r.output);
  w.key("outcome").value(outcome_name(r.outcome));
  w.key("status").value(r.status);
  w.key("error");
  if (r.error_kind.empty()) {
    w.null();
  } else {
    w.begin_object().key("kind").value(r.error_kind).key("message").value(r.error_message).end_object();
  }
  w.key("reason");
  if (r.reason && *r.reason != GiveUpReason::none) w.value(to_string(*r.reason));
  else w.null();
  w.key("attempts").value(static_cast<std::uint64_t>(r.attempts));
  w.key("elapsed_ms").value(static_cast<std::int64_t>(to_ms(r.elapsed)));
  w.key("bytes").value(r.bytes);
  w.end_object();
  return w.str();
}

std::string summary_json(const BatchTally& t, bool cancelled, std::chrono::nanoseconds elapsed) {
  std::string_view outcome = "success";
  if (cancelled) outcome = "cancelled";
  else if (t.failed != 0 || t.cancelled != 0) outcome = "failure";
  JsonWriter w;
  w.begin_object();
  w.key("outcome").value(outcome);
  w.key("total").value(t.done());
  w.key("succeeded").value(t.succeeded);
  w.key("failed").value(t.failed);
  w.key("cancelled").value(t.cancelled);
  w.key("skipped").value(t.skipped);
  w.key("elapsed_ms").value(static_cast<std::int64_t>(to_ms(elapsed)));
  w.key("bytes").value(t.bytes);
  w.end_object();
  return w.str();
}

std::string progress_text(const BatchTally& t, std::optional<std::uint64_t> total, std::chrono::nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const std::uint64_t fetched = t.done() - t.skipped;
  const double rate = seconds > 0 ? static_cast<double>(fetched) / seconds : 0.0;
  std::string text = fmt::format("{}/{} done, {} failed, {}, {:.1f}/s, {} elapsed", t.done(),
                                 total ? fmt::format("{}", *total) : std::string("?"), t.failed, human_bytes(t.bytes),
                                 rate, clock_time(elapsed));
  if (total && rate > 0 && *total >= t.done()) {
    const auto left = std::chrono::duration<double>(static_cast<double>(*total - t.done()) / rate);
    text += fmt::format(", ETA {}", clock_time(std::chrono::duration_cast<std::chrono::nanoseconds>(left)));
  }
  return text;
}

}  // namespace fetchpipe::cli

#include "report.hpp"

#include <fmt/format.h>

#include "json_writer.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
std::string_view outcome_name(FetchReport::Outcome outcome) noexcept {
  switch (outcome) {
    case FetchReport::Outcome::success: return "success";
    case FetchReport::Outcome::failure: return "failure";
    case FetchReport::Outcome::cancelled: return "cancelled";
  }
  return "failure";
}

FetchReport report_from_response(Response response) {
  FetchReport report;
  report.outcome = FetchReport::Outcome::success;
  report.status = response.status;
  report.reason = GiveUpReason::none;
  report.http_version = std::move(response.http_version);
  report.attempts = std::move(response.attempts);
  return report;
}

FetchReport report_from_error(Error error, FetchReport::Outcome outcome) {
  FetchReport report;
  report.outcome = outcome;
  report.status = error.status;
  report.error_kind = std::string(to_string(error.kind));
  report.error_message = std::move(error.message);
  report.reason = error.reason;
  report.attempts = std::move(error.attempts);
  return report;
}

FetchReport usage_error_report(std::string message, std::string transport) {
  FetchReport report;
  report.outcome = FetchReport::Outcome::failure;
  report.error_kind = std::string(to_string(ErrorKind::invalid_request));
  report.error_message = std::move(message);
  // What the library reports for a request it refuses to send.
  report.reason = GiveUpReason::not_retryable;
  report.transport = std::move(transport);
  return report;
}

std::string to_json(const FetchReport& report) {
  JsonWriter w;
  w.begin_object();
  w.key("outcome").value(outcome_name(report.outcome));
  w.key("status").value(report.status);
  w.key("error");
  if (report.error_kind.empty()) {
    w.null();
  } else {
    w.begin_object().key("kind").value(report.error_kind).key("message").value(report.error_message).end_object();
  }
  w.key("reason");
  if (report.reason && *report.reason != GiveUpReason::none) w.value(to_string(*report.reason));
  else w.null();
  w.key("attempts").begin_array();
  for (const auto& a : report.attempts) {
    w.begin_object();
    w.key("attempt").value(a.number);
    w.key("status").value(a.status);
    w.key("error");
    if (a.error) w.value(to_string(*a.error));
    else w.null();
    w.key("elapsed_ms").value(static_cast<std::int64_t>(to_ms(a.elapsed)));
    w.key("backoff_ms");
    if (a.backoff) w.value(static_cast<std::int64_t>(to_ms(*a.backoff)));
    else w.null();
    w.key("hedge").value(a.hedge);
    w.key("resumed_from").value(a.resumed_from);
    w.end_object();
  }
  w.end_array();
  w.key("elapsed_ms").value(static_cast<std::int64_t>(to_ms(report.elapsed)));
  w.key("bytes").value(report.bytes);
  w.key("transport").value(report.transport);
  w.key("http_version");
  if (report.http_version.empty()) w.null();
  else w.value(report.http_version);
  w.end_object();
  return w.str();
}

std::string describe_attempt(const AttemptRecord& record) {
  std::string what;
  if (record.error) {
    what = std::string(to_string(*record.error));
    if (record.status) what += fmt::format(" (status {})", *record.status);
    // The transport's or the pipeline's own words on it.
    if (!record.message.empty()) what += fmt::format(": {}", printable(record.message));
  } else if (!record.message.empty()) {
    // A rejected status: the message names it and quotes the first line of the body.
    what = printable(record.message);
  } else if (record.status) {
    what = fmt::format("status {}", *record.status);
  } else {
    what = "no response";
  }
  std::string line = fmt::format("attempt {}{}: {} in {}", record.number, record.hedge ? " (hedge)" : "", what,
                                 human_duration(record.elapsed));
  if (record.resumed_from) line += fmt::format(" (asked from byte {})", *record.resumed_from);
  if (record.backoff) line += fmt::format("; retrying in {}", human_duration(*record.backoff));
  return line;
}

}  // namespace fetchpipe::cli

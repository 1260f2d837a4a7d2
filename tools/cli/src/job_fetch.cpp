#include "job_fetch.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace fetchpipe::cli {
namespace {

// What the callbacks of one fetch share. Callbacks of one fetch never overlap (the callback
// contract), so only the handle, set after fetch() returns, needs the mutex.
struct JobState {
  std::string id;
  OutputFile file;
  std::function<void(JobResult)> done;
  Executor& finisher;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::uint64_t bytes = 0;
  std::optional<std::string> sink_error{};
  std::mutex mutex;
  FetchHandle handle;
  bool cancel_when_started = false;

  JobState(std::string i, OutputFile f, std::function<void(JobResult)> d, Executor& e)
      : id(std::move(i)), file(std::move(f)), done(std::move(d)), finisher(e) {}

  void sink_failed(std::string message) {
    if (sink_error) return;
    sink_error = std::move(message);
    FetchHandle h;
    {
      std::lock_guard lock(mutex);
      h = handle;
      if (!h.valid()) cancel_when_started = true;
    }
    if (h.valid()) h.cancel();
  }

  // On the transport's thread: hand the rest to the finisher.
  void finish(FetchReport report, const std::shared_ptr<JobState>& self) {
    report.elapsed = std::chrono::steady_clock::now() - start;
    finisher.post([self, report = std::move(report)]() mutable { self->settle(std::move(report)); });
  }

  void settle(FetchReport report) {
    report.bytes = bytes;
    JobResult result{id, std::move(report), {}};
    FetchReport& r = result.report;
    if (sink_error) {
      r.outcome = FetchReport::Outcome::failure;
      r.error_kind = std::string(to_string(ErrorKind::internal_error));
      r.error_message = *sink_error;
      r.reason = GiveUpReason::not_retryable;
    } else if (r.outcome == FetchReport::Outcome::success) {
      if (file.commit()) {
        result.output = file.path();
      } else {
        r.outcome = FetchReport::Outcome::failure;
        r.error_kind = std::string(to_string(ErrorKind::internal_error));
        r.error_message = fmt::format("cannot move the body into '{}': {}", file.path(), std::strerror(errno));
        r.reason = GiveUpReason::not_retryable;
      }
    }
    file.discard();  // no-op after a commit
    done(std::move(result));
  }
};

}  // namespace

FetchHandle start_job_fetch(Client& client, Executor& finisher, std::string id, const Request& request,
                            OutputFile file, std::function<void(JobResult)> done) {
  auto state = std::make_shared<JobState>(std::move(id), std::move(file), std::move(done), finisher);
  Callbacks cb;
  cb.on_success = [state](Response r) {
    FetchReport report;
    report.outcome = FetchReport::Outcome::success;
    report.status = r.status;
    report.reason = GiveUpReason::none;
    report.attempts = std::move(r.attempts);
    state->finish(std::move(report), state);
  };
  cb.on_failure = [state](Error e) { state->finish(report_from_error(std::move(e), FetchReport::Outcome::failure), state); };
  cb.on_cancel = [state](Error e) { state->finish(report_from_error(std::move(e), FetchReport::Outcome::cancelled), state); };
  cb.on_chunk = [state](std::string_view chunk) {
    if (state->sink_error) return;
    if (state->file.write(chunk)) {
      state->bytes += chunk.size();
    } else {
      state->sink_failed(fmt::format("cannot write the body to '{}': {}", state->file.path(), std::strerror(errno)));
    }
  };
  cb.on_rewind = [state] {
    if (state->sink_error) return;
    if (state->file.rewind()) {
      state->bytes = 0;
    } else {
      state->sink_failed(fmt::format("cannot truncate '{}' for a retry: {}", state->file.path(), std::strerror(errno)));
    }
  };
  FetchHandle handle = client.fetch(request, std::move(cb));
  bool cancel_now = false;
  {
    std::lock_guard lock(state->mutex);
    state->handle = handle;
    cancel_now = state->cancel_when_started;
  }
  if (cancel_now) handle.cancel();
  return handle;
}

JobResult rejected_job(std::string id, std::string kind, std::string message) {
  JobResult result;
  result.id = std::move(id);
  result.report.outcome = FetchReport::Outcome::failure;
  result.report.error_kind = std::move(kind);
  result.report.error_message = std::move(message);
  result.report.reason = GiveUpReason::not_retryable;
  return result;
}

}  // namespace fetchpipe::cli

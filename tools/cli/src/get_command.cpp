// `fetchpipe get URL [options]`: one fetch, body streamed to stdout or to -o FILE.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <map>
#include <optional>

#include <fetchpipe/client.hpp>
#include <fetchpipe/executor.hpp>

#include "batch_command.hpp"
#include "client_setup.hpp"
#include "commands.hpp"
#include "continue_transport.hpp"
#include "exit_codes.hpp"
#include "fail_with_body.hpp"
#include "fd_io.hpp"
#include "help_text.hpp"
#include "output_file.hpp"
#include "part_file.hpp"
#include "report.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// After a cancel, how long the fetch gets to report on_cancel before the tool exits anyway: a
// writer blocked on a full stdout pipe, or cpp-httplib inside getaddrinfo, can delay it, and
// docs/cli.md promises exit 130 within a second.
constexpr auto kCancelGrace = std::chrono::milliseconds{700};

void print_error_line(std::string_view message) { fmt::print(stderr, "fetchpipe: {}\n", printable(message)); }

int usage_failure(const std::string& message, bool json, const std::string& transport) {
  print_error_line(message);
  if (json) fmt::print(stderr, "{}\n", to_json(usage_error_report(message, transport)));
  std::fflush(stderr);
  return kExitUsage;
}

// Writes all of `bytes` to stdout, unbuffered: the body must not pile up in memory.
bool write_stdout(std::string_view bytes) { return write_all(STDOUT_FILENO, bytes); }

// Everything the callbacks, the signal thread and main() share about the one fetch.
struct FetchState {
  std::mutex mutex;
  std::condition_variable done_cv;
  std::optional<FetchReport> report;  // set once, by the terminal callback
  FetchHandle handle;
  bool cancel_requested = false;
  std::chrono::steady_clock::time_point cancel_at{};
  int signal = 0;
  std::optional<std::string> sink_error;  // set when stdout or the file refused a write
  std::vector<AttemptRecord> seen_attempts;  // as reported by on_attempt
  std::uint64_t bytes = 0;                   // body bytes now in the sink
  // -C, per attempt: the byte of the resource it asked for, and whether its 200 was a 206.
  struct Continued {
    std::optional<std::uint64_t> asked;
    bool was_206 = false;
  };
  std::map<int, Continued> asked_by_attempt;
  bool error_body_written = false;  // --fail-with-body wrote a failed status's body
};

class GetRun {
 public:
  GetRun(GetCommand cmd, std::unique_ptr<BodyFile> file, PartFile* part)
      : cmd_(std::move(cmd)), file_(std::move(file)), part_(part) {}

  int run() {
    ClientOptions options = client_options(cmd_, 1);
    if (part_) {
      // -C: the transport continues FILE.part, and tells the file which entity it holds.
      continue_ = std::make_shared<ContinueTransport>(options.transport, part_->offset(), part_->validator());
      options.transport = continue_;
      part_->follow(continue_);
    }
    Client client(std::move(options));

    // Declared after the client's state it touches, so it stops first.
    SignalWatcher watcher([this](int signo) { on_signal(signo); });
    start_ = std::chrono::steady_clock::now();
    FetchHandle handle = client.fetch(cmd_.request, callbacks());
    {
      std::unique_lock lock(state_.mutex);
      state_.handle = handle;
      if (state_.cancel_requested) {
        lock.unlock();
        handle.cancel();
      }
    }
    FetchReport report = wait_for_report();
    return finish(std::move(report));
  }

 private:
  Callbacks callbacks() {
    Callbacks cb;
    cb.on_success = [this](Response r) { complete(report_from_response(std::move(r))); };
    cb.on_failure = [this](Error e) {
      // --fail-with-body: a retried status has no accepted body; its last answer is in `e`.
      if (const auto body = cmd_.fail_with_body ? final_error_body(e) : std::nullopt) {
        // Bytes of an earlier, cut 2xx may be in the sink: a file starts over; stdout cannot.
        bool clean = false;
        {
          std::lock_guard lock(state_.mutex);
          clean = state_.bytes == 0;
        }
        if (!clean && file_) {
          rewind();
          clean = true;
        }
        if (clean) {
          write_chunk(*body);
          std::lock_guard lock(state_.mutex);
          state_.error_body_written = true;
        }
      }
      complete(report_from_error(std::move(e), FetchReport::Outcome::failure));
    };
    cb.on_cancel = [this](Error e) { complete(report_from_error(std::move(e), FetchReport::Outcome::cancelled)); };
    cb.on_attempt = [this](const AttemptRecord& reported) {
      AttemptRecord record = reported;
      note_continuation(record);
      if (cmd_.verbose) fmt::print(stderr, "* {}\n", describe_attempt(record));
      std::lock_guard lock(state_.mutex);
      state_.seen_attempts.push_back(record);
    };
    cb.on_chunk = [this](std::string_view chunk) { write_chunk(chunk); };
    // Only a file can start over. Without on_rewind the pipeline refuses to retry once a byte
    // reached stdout (reason `committed`): bytes a pipe has taken cannot be taken back.
    if (file_) cb.on_rewind = [this] { rewind(); };
    return cb;
  }

  // With -C the library counts from the first byte this run fetched; the user wants the byte of
  // the resource each attempt asked for. The transport knows it: attempts run one after another,
  // and each is reported before the next one starts.
  void note_continuation(AttemptRecord& record) {
    if (!continue_) return;
    std::lock_guard lock(state_.mutex);
    auto [it, fresh] = state_.asked_by_attempt.try_emplace(record.number);
    if (fresh) it->second = FetchState::Continued{continue_->take_asked(), continue_->take_translated()};
    record.resumed_from = it->second.asked;
    if (it->second.was_206 && record.status == 200) record.status = 206;
  }

  void write_chunk(std::string_view chunk) {
    {
      std::lock_guard lock(state_.mutex);
      if (state_.sink_error) return;
    }
    const bool ok = file_ ? file_->write(chunk) : write_stdout(chunk);
    if (ok) {
      std::lock_guard lock(state_.mutex);
      state_.bytes += chunk.size();
      return;
    }
    sink_failed(fmt::format("cannot write the body to {}: {}", file_ ? "'" + file_->path() + "'" : "stdout",
                            std::strerror(errno)));
  }

  void rewind() {
    if (!file_->rewind()) {
      sink_failed(fmt::format("cannot truncate '{}' for a retry: {}", file_->path(), std::strerror(errno)));
      return;
    }
    std::lock_guard lock(state_.mutex);
    state_.bytes = 0;
  }

  // The sink broke (disk full, stdout closed): nothing more can be delivered, so stop the fetch.
  void sink_failed(std::string message) {
    FetchHandle handle;
    {
      std::lock_guard lock(state_.mutex);
      if (state_.sink_error) return;
      state_.sink_error = std::move(message);
      handle = state_.handle;
    }
    handle.cancel();  // safe from inside a callback
  }

  void complete(FetchReport report) {
    std::lock_guard lock(state_.mutex);
    if (state_.report) return;
    state_.report = std::move(report);
    state_.done_cv.notify_all();
  }

  void on_signal(int signo) {
    FetchHandle handle;
    {
      std::lock_guard lock(state_.mutex);
      if (state_.cancel_requested) {
        // A second ^C: the user does not want to wait for anything.
        state_.cancel_at = std::chrono::steady_clock::time_point{};
        state_.done_cv.notify_all();
        return;
      }
      state_.cancel_requested = true;
      state_.signal = signo;
      state_.cancel_at = std::chrono::steady_clock::now();
      handle = state_.handle;  // empty when fetch() has not returned yet; run() cancels then
      // Wake main() so it starts counting the grace period.
      state_.done_cv.notify_all();
    }
    handle.cancel();
  }

  FetchReport wait_for_report() {
    std::unique_lock lock(state_.mutex);
    while (!state_.report) {
      if (state_.cancel_requested) {
        if (state_.done_cv.wait_until(lock, state_.cancel_at + kCancelGrace) == std::cv_status::timeout &&
            !state_.report) {
          lock.unlock();
          forced_exit();
        }
      } else {
        state_.done_cv.wait(lock);
      }
    }
    return *state_.report;
  }

  // The fetch did not report its cancel in time. Say what is known and leave without running
  // destructors: they would wait for the same blocked thread.
  [[noreturn]] void forced_exit() {
    FetchReport report;
    report.outcome = FetchReport::Outcome::cancelled;
    report.error_kind = std::string(to_string(ErrorKind::cancelled));
    report.reason = GiveUpReason::cancelled;
    report.transport = cmd_.transport;
    report.elapsed = std::chrono::steady_clock::now() - start_;
    {
      std::lock_guard lock(state_.mutex);
      report.error_message = fmt::format("{} {}: cancelled by {} (the transfer did not stop in time)",
                                         cmd_.request.method, cmd_.request.url, signal_name(state_.signal));
      report.attempts = state_.seen_attempts;
      report.bytes = state_.bytes;
    }
    if (file_) file_->unlink_now();
    print_error_line(report.error_message);
    if (cmd_.json) fmt::print(stderr, "{}\n", to_json(report));
    std::fflush(stderr);
    std::_Exit(kExitCancelled);
  }

  int finish(FetchReport report) {
    report.transport = cmd_.transport;
    report.elapsed = std::chrono::steady_clock::now() - start_;
    const bool non_2xx_body = report.outcome == FetchReport::Outcome::success && report.status &&
                              (*report.status < 200 || *report.status >= 300);
    std::optional<std::string> sink_error;
    bool error_body_written = false;
    int signo = 0;
    std::size_t attempts_printed = 0;
    {
      std::lock_guard lock(state_.mutex);
      report.bytes = state_.bytes;
      sink_error = state_.sink_error;
      error_body_written = state_.error_body_written;
      signo = state_.signal;
      attempts_printed = state_.seen_attempts.size();
    }
    for (auto& a : report.attempts) note_continuation(a);
    if (continue_ && !report.attempts.empty() && report.status == 200) report.status = report.attempts.back().status;
    // A cancelled attempt is never reported through on_attempt; show it with the others.
    if (cmd_.verbose) {
      for (std::size_t i = attempts_printed; i < report.attempts.size(); ++i) {
        fmt::print(stderr, "* {}\n", describe_attempt(report.attempts[i]));
      }
    }
    if (sink_error) {
      // Our own failure, not the server's: whatever the fetch reported, the body is not whole.
      report.outcome = FetchReport::Outcome::failure;
      report.error_kind = std::string(to_string(ErrorKind::internal_error));
      report.error_message = *sink_error;
      report.reason = GiveUpReason::not_retryable;
    } else if ((report.outcome == FetchReport::Outcome::success || error_body_written) && file_ &&
               !file_->commit()) {
      report.outcome = FetchReport::Outcome::failure;
      report.error_kind = std::string(to_string(ErrorKind::internal_error));
      report.error_message = fmt::format("cannot move the body into '{}': {}", file_->path(), std::strerror(errno));
      report.reason = GiveUpReason::not_retryable;
    }
    if (file_) file_->discard();  // no-op after a commit
    // --fail-with-body: the body is written (and -o kept), and the fetch is the failure it is.
    if (non_2xx_body) fail_non_2xx(report, cmd_.request.method, cmd_.request.url);

    int code = kExitSuccess;
    switch (report.outcome) {
      case FetchReport::Outcome::success:
        if (cmd_.verbose) {
          fmt::print(stderr, "* done: status {}, {} bytes in {}\n", report.status.value_or(0), report.bytes,
                     human_duration(report.elapsed));
        }
        break;
      case FetchReport::Outcome::cancelled:
        if (signo != 0) report.error_message = fmt::format("{} (by {})", report.error_message, signal_name(signo));
        print_error_line(report.error_message);
        code = kExitCancelled;
        break;
      case FetchReport::Outcome::failure: {
        const auto kind = error_kind_from_string(report.error_kind).value_or(ErrorKind::internal_error);
        print_error_line(fmt::format("{} [{}, {}]", report.error_message, report.error_kind,
                                     to_string(report.reason.value_or(GiveUpReason::not_retryable))));
        // A cancel nobody asked for (a transport shutting down) is an internal failure, not 130.
        code = kind == ErrorKind::cancelled ? kExitTransport : exit_code_for(kind);
        break;
      }
    }
    if (cmd_.json) fmt::print(stderr, "{}\n", to_json(report));
    std::fflush(stderr);
    return code;
  }

  GetCommand cmd_;
  std::unique_ptr<BodyFile> file_;
  PartFile* part_;  // file_ itself, when it is a -C FILE.part
  std::shared_ptr<ContinueTransport> continue_;
  FetchState state_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace

int run_get(Args args) {
  GetParse parsed = parse_get(args);
  GetCommand& cmd = parsed.command;
  if (cmd.help) {
    fmt::print("{}", kGetHelp);
    return kExitSuccess;
  }
  if (parsed.error) return usage_failure(*parsed.error, cmd.json, cmd.transport);
  if (cmd.batch.input_file) {
    const bool batch_json = cmd.json;
    const std::string batch_transport = cmd.transport;
    try {
      return run_batch(std::move(cmd));
    } catch (const UsageError& e) {
      return usage_failure(e.what(), batch_json, batch_transport);
    }
  }
  std::unique_ptr<BodyFile> file;
  PartFile* part = nullptr;
  if (cmd.output_path) {
    try {
      if (cmd.continue_part) {
        auto opened = PartFile::open(*cmd.output_path, cmd.request.url);
        part = opened.get();
        file = std::move(opened);
      } else {
        file = std::make_unique<OutputFile>(OutputFile::create(*cmd.output_path));
      }
    } catch (const UsageError& e) {
      return usage_failure(e.what(), cmd.json, cmd.transport);
    }
  }
  const bool json = cmd.json;
  const std::string transport = cmd.transport;
  try {
    GetRun run(std::move(cmd), std::move(file), part);
    return run.run();
  } catch (const std::invalid_argument& e) {
    // The library refused the configuration: the CLI's checks missed a rule.
    return usage_failure(e.what(), json, transport);
  }
}

}  // namespace fetchpipe::cli

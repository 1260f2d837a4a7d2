// Batch mode: read the input as it comes (memory stays flat in the number of lines), keep at
// most -j fetches in flight, and finish each line on the main thread: place its file, print its
// JSON line, append its journal record. The transport's thread only writes body bytes.
#include "batch_command.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fetchpipe/client.hpp>
#include <fetchpipe/executor.hpp>

#include "batch_journal.hpp"
#include "batch_line.hpp"
#include "batch_output.hpp"
#include "batch_report.hpp"
#include "client_setup.hpp"
#include "exit_codes.hpp"
#include "fail_with_body.hpp"
#include "fd_io.hpp"
#include "line_reader.hpp"
#include "safe_name.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kExitSomeFailed = 7;
// After a cancel, how long fetches get to report on_cancel before the tool exits anyway (as `get`).
constexpr auto kCancelGrace = 700ms;
constexpr auto kProgressEvery = 250ms;
// Threads that fsync finished bodies at once (at most -j).
constexpr int kFlushThreads = 8;

// One write per line, so a reader of the pipe never sees half a line. A closed stdout is not
// fatal: the journal still records the line.
void write_stdout_line(const std::string& text) { (void)write_all(STDOUT_FILENO, text + "\n"); }

// Lines read on their own thread (stdin may block), a bounded queue apart: at most `capacity`
// lines wait while -j fetches run.
struct InputQueue {
  std::mutex mutex;
  std::condition_variable room_cv;
  std::deque<InputLine> lines;
  std::size_t capacity = 0;
  bool ended = false;
  bool stop = false;
  std::optional<std::string> error;
};

// One input line being fetched. Callbacks touch `body`, `bytes` and `sink_error` from the
// transport's thread, under `mutex`; the main thread reads them after the terminal callback.
struct Job {
  std::uint64_t line = 0;
  std::string url;
  std::string method;
  std::unique_ptr<BatchBody> body;
  Clock::time_point start{};
  std::mutex mutex;
  FetchHandle handle;
  std::uint64_t bytes = 0;
  std::optional<std::string> sink_error;
  std::size_t attempts_seen = 0;
  bool error_body_written = false;  // --fail-with-body: a failed status's body, to be kept
};

struct Finished {
  Job* job = nullptr;
  FetchReport report;
};

class BatchRun {
 public:
  explicit BatchRun(GetCommand cmd) : cmd_(std::move(cmd)) {}

  int run(int input_fd) {
    out_dir_.emplace(BatchOutputDir::open(cmd_.batch.output_dir.value_or(".")));
    if (cmd_.batch.journal) journal_.emplace(*cmd_.batch.journal);
    tty_ = ::isatty(STDERR_FILENO) == 1;
    stdout_tty_ = ::isatty(STDOUT_FILENO) == 1;
    if (tty_) total_ = count_batch_lines(input_fd);

    // Declared before the client, so it outlives every callback that posts to it.
    flusher_.emplace(static_cast<std::size_t>(std::min(cmd_.batch.jobs, kFlushThreads)));
    // Body bytes go to disk on the transport's thread (an inline executor), as for `get`.
    Client client(client_options(cmd_, static_cast<std::size_t>(cmd_.batch.jobs)));

    start_ = Clock::now();
    input_ = std::make_shared<InputQueue>();
    input_->capacity = static_cast<std::size_t>(cmd_.batch.jobs) + 64;
    std::thread reader([input = input_, input_fd] { read_input(*input, input_fd); });

    {
      SignalWatcher watcher([this](int signo) { on_signal(signo); });
      main_loop(client);
      if (cancelled()) drain_after_cancel();
    }
    finish_reader(reader);
    return finish();
  }

 private:
  static void read_input(InputQueue& q, int fd) {
    LineReader reader(fd);
    try {
      while (true) {
        auto line = reader.next();
        std::unique_lock lock(q.mutex);
        if (!line) {
          q.ended = true;
          break;
        }
        q.room_cv.wait(lock, [&] { return q.stop || q.lines.size() < q.capacity; });
        if (q.stop) return;
        q.lines.push_back(std::move(*line));
        // The main thread polls the queue on its own wake-ups; tell it now that there is work.
        lock.unlock();
        wake();
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(q.mutex);
      q.error = e.what();
      q.ended = true;
    }
    wake();
  }

  // The reader thread has no pointer to the run (it may outlive it, blocked in read(2) on a
  // terminal): it wakes the main thread through this process-wide hook.
  static inline std::mutex wake_mutex_;
  static inline BatchRun* wake_run_ = nullptr;
  static void wake() {
    std::lock_guard lock(wake_mutex_);
    if (wake_run_ == nullptr) return;
    // Through the run's mutex: the main thread is either before its predicate check (and will
    // see the line) or already waiting (and gets the notification). Lock order: wake, run, input.
    { std::lock_guard run_lock(wake_run_->mutex_); }
    wake_run_->cv_.notify_all();
  }

  void finish_reader(std::thread& reader) {
    bool ended = false;
    {
      std::lock_guard lock(input_->mutex);
      input_->stop = true;
      ended = input_->ended;
    }
    input_->room_cv.notify_all();
    {
      std::lock_guard lock(wake_mutex_);
      wake_run_ = nullptr;
    }
    // A reader still inside read(2) (stdin from a terminal after ^C) cannot be woken; it owns
    // its queue and exits with the process.
    if (ended || !cancelled()) reader.join();
    else reader.detach();
  }

  bool cancelled() {
    std::lock_guard lock(mutex_);
    return signal_ != 0;
  }

  void main_loop(Client& client) {
    {
      std::lock_guard lock(wake_mutex_);
      wake_run_ = this;
    }
    while (true) {
      std::vector<Finished> finished;
      std::vector<InputLine> lines;
      bool input_ended = false;
      {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, kProgressEvery, [&] {
          return !finished_.empty() || signal_ != 0 || (in_flight_ < cmd_.batch.jobs && input_ready());
        });
        finished.swap(finished_);
        if (signal_ != 0) {
          lock.unlock();
          for (auto& f : finished) complete(f);
          return;
        }
      }
      for (auto& f : finished) complete(f);
      const auto room = static_cast<std::size_t>(cmd_.batch.jobs - in_flight());
      {
        std::lock_guard lock(input_->mutex);
        while (lines.size() < room && !input_->lines.empty()) {
          lines.push_back(std::move(input_->lines.front()));
          input_->lines.pop_front();
        }
        input_ended = input_->ended && input_->lines.empty();
        if (input_ended && input_->error && !input_error_) {
          input_error_ = fmt::format("-i: cannot read '{}': {}", *cmd_.batch.input_file, *input_->error);
        }
      }
      input_->room_cv.notify_all();
      for (auto& line : lines) start_line(client, std::move(line));
      if (input_ended) {
        input_end_seen_ = true;
        total_ = tally_.done() + static_cast<std::uint64_t>(in_flight());
      }
      draw_progress(false);
      if (input_ended && in_flight() == 0) return;
    }
  }

  // A line to start, or the end of the input not yet acted on.
  bool input_ready() {
    std::lock_guard lock(input_->mutex);
    return !input_->lines.empty() || (input_->ended && !input_end_seen_);
  }

  int in_flight() {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

  void start_line(Client& client, InputLine line) {
    if (line.too_long) {
      report(invalid_line_report(line.number, "", fmt::format("longer than {} bytes", LineReader::kMaxLine)));
      return;
    }
    auto parsed = parse_batch_line(line.text, cmd_.request);
    if (parsed.kind == BatchLineKind::skip) return;
    if (parsed.kind == BatchLineKind::invalid) {
      report(invalid_line_report(line.number, std::move(parsed.url), std::move(parsed.error)));
      return;
    }
    if (journal_ && journal_->succeeded(line.number, parsed.url)) {
      ++tally_.skipped;
      return;
    }
    const std::string wanted = parsed.job.output.value_or(name_from_url(parsed.job.request.url));
    auto body = out_dir_->begin(wanted);
    if (body.index() == 1) {
      auto r = invalid_line_report(line.number, std::move(parsed.url), std::get<1>(body));
      r.error_kind = std::string(to_string(ErrorKind::internal_error));
      report(std::move(r));
      return;
    }
    auto job = std::make_unique<Job>();
    Job* j = job.get();
    j->line = line.number;
    j->url = std::move(parsed.url);
    j->method = parsed.job.request.method;
    j->body = std::move(std::get<0>(body));
    j->start = Clock::now();
    {
      std::lock_guard lock(mutex_);
      ++in_flight_;
      jobs_.emplace(j, std::move(job));
    }
    FetchHandle handle = client.fetch(parsed.job.request, callbacks(j));
    std::lock_guard lock(j->mutex);
    j->handle = handle;
  }

  Callbacks callbacks(Job* j) {
    Callbacks cb;
    cb.on_success = [this, j](Response r) { done(j, report_from_response(std::move(r))); };
    cb.on_failure = [this, j](Error e) {
      // --fail-with-body: a retried status has no accepted body; its last answer is in `e`.
      if (const auto body = cmd_.fail_with_body ? final_error_body(e) : std::nullopt) {
        std::lock_guard lock(j->mutex);
        // Bytes of an earlier, cut 2xx may be in the file: the error body replaces them.
        if (!j->sink_error && (j->bytes == 0 || j->body->rewind()) && j->body->write(*body)) {
          j->bytes = body->size();
          j->error_body_written = true;
        }
      }
      done(j, report_from_error(std::move(e), FetchReport::Outcome::failure));
    };
    cb.on_cancel = [this, j](Error e) { done(j, report_from_error(std::move(e), FetchReport::Outcome::cancelled)); };
    cb.on_chunk = [j](std::string_view chunk) {
      std::unique_lock lock(j->mutex);
      if (j->sink_error) return;
      if (j->body->write(chunk)) {
        j->bytes += chunk.size();
        return;
      }
      j->sink_error = fmt::format("cannot write the body of line {}: {}", j->line, std::strerror(errno));
      FetchHandle handle = j->handle;
      lock.unlock();
      handle.cancel();  // safe from inside a callback
    };
    cb.on_rewind = [j] {
      std::lock_guard lock(j->mutex);
      if (!j->body->rewind() && !j->sink_error) {
        j->sink_error = fmt::format("cannot truncate the body of line {}: {}", j->line, std::strerror(errno));
      }
      j->bytes = 0;
    };
    if (cmd_.verbose) {
      cb.on_attempt = [j](const AttemptRecord& record) {
        fmt::print(stderr, "* line {}: {}\n", j->line, describe_attempt(record));
      };
    }
    return cb;
  }

  // On the transport's thread. A body that will be kept is flushed to disk first, on the
  // flusher's threads: fsync takes milliseconds, and one at a time on the main thread it capped a
  // batch at a few hundred files per second whatever -j said.
  void done(Job* j, FetchReport report) {
    bool keep = report.outcome == FetchReport::Outcome::success;
    {
      std::lock_guard lock(j->mutex);
      keep = (keep || j->error_body_written) && !j->sink_error;
    }
    if (keep && flusher_) {
      flusher_->post([this, j, report = std::move(report)]() mutable {
        (void)j->body->sync();  // commit() reports a failure
        finished(j, std::move(report));
      });
      return;
    }
    finished(j, std::move(report));
  }

  void finished(Job* j, FetchReport report) {
    std::lock_guard lock(mutex_);
    finished_.push_back(Finished{j, std::move(report)});
    cv_.notify_all();
  }

  // On the main thread: place the file, then report and journal the line.
  void complete(Finished& f) {
    Job& j = *f.job;
    FetchReport& fr = f.report;
    BatchLineReport r;
    r.line = j.line;
    r.url = j.url;
    bool keep_error_body = false;
    {
      std::lock_guard lock(j.mutex);
      r.bytes = j.bytes;
      keep_error_body = j.error_body_written && !j.sink_error;
      if (j.sink_error) {
        fr.outcome = FetchReport::Outcome::failure;
        fr.error_kind = std::string(to_string(ErrorKind::internal_error));
        fr.error_message = *j.sink_error;
        fr.reason = GiveUpReason::not_retryable;
      }
    }
    if (fr.outcome == FetchReport::Outcome::success || keep_error_body) {
      const auto placed = out_dir_->commit(*j.body);
      if (placed.index() == 0) {
        r.output = out_dir_->shown(std::get<0>(placed));
      } else {
        fr.outcome = FetchReport::Outcome::failure;
        fr.error_kind = std::string(to_string(ErrorKind::internal_error));
        fr.error_message = std::get<1>(placed);
        fr.reason = GiveUpReason::not_retryable;
      }
    }
    j.body->discard();  // no-op after a commit
    if (fr.outcome != FetchReport::Outcome::success && !r.output) r.bytes = 0;  // nothing of it was kept
    fail_non_2xx(fr, j.method, j.url);  // --fail-with-body: the file stays, the line fails
    r.outcome = fr.outcome;
    r.status = fr.status;
    r.error_kind = fr.error_kind;
    r.error_message = fr.error_message;
    r.reason = fr.reason;
    r.attempts = fr.attempts.size();
    r.elapsed = Clock::now() - j.start;
    if (cmd_.verbose && r.outcome != FetchReport::Outcome::success) {
      fmt::print(stderr, "* line {}: {}\n", j.line, printable(r.error_message));
    }
    report(std::move(r));
    std::lock_guard lock(mutex_);
    --in_flight_;
    jobs_.erase(&j);
  }

  // The journal first: a line the user saw succeed on stdout must never be fetched again, even
  // when a SIGKILL falls between the two writes.
  void report(BatchLineReport r) {
    tally_.add(r);
    if (journal_ && !journal_->record(r.line, r.url, outcome_name(r.outcome)) && !journal_error_) {
      journal_error_ = fmt::format("--journal: cannot write '{}': {}", *cmd_.batch.journal, std::strerror(errno));
    }
    // Only a stdout on the same terminal would tear the progress line; redraw it below the output.
    const bool redraw = stdout_tty_ && progress_shown_;
    if (redraw) clear_progress();
    write_stdout_line(to_json(r));
    if (redraw) draw_progress(true);
  }

  void on_signal(int signo) {
    std::lock_guard lock(mutex_);
    if (signal_ != 0) {
      second_signal_ = true;  // the user does not want to wait
    } else {
      signal_ = signo;
      cancel_at_ = Clock::now();
    }
    cv_.notify_all();
  }

  // No new line starts; every fetch in flight is cancelled and reported as it ends. A fetch that
  // does not report in time is reported here, and the process leaves without waiting for it.
  void drain_after_cancel() {
    std::vector<FetchHandle> handles;
    {
      std::lock_guard lock(mutex_);
      for (auto& [j, job] : jobs_) {
        std::lock_guard job_lock(j->mutex);
        handles.push_back(j->handle);
      }
    }
    for (auto& h : handles) h.cancel();
    while (true) {
      std::vector<Finished> finished;
      bool give_up = false;
      {
        std::unique_lock lock(mutex_);
        cv_.wait_until(lock, cancel_at_ + kCancelGrace, [&] { return !finished_.empty() || in_flight_ == 0 || second_signal_; });
        finished.swap(finished_);
        give_up = finished.empty() && in_flight_ != 0;
      }
      for (auto& f : finished) complete(f);
      if (in_flight() == 0) return;
      if (give_up) forced_exit();
    }
  }

  [[noreturn]] void forced_exit() {
    std::lock_guard lock(mutex_);
    for (auto& [j, job] : jobs_) {
      BatchLineReport r;
      r.line = j->line;
      r.url = j->url;
      r.outcome = FetchReport::Outcome::cancelled;
      r.error_kind = std::string(to_string(ErrorKind::cancelled));
      r.error_message = fmt::format("line {}: cancelled by {} (the transfer did not stop in time)", j->line,
                                    signal_name(signal_));
      r.reason = GiveUpReason::cancelled;
      r.elapsed = Clock::now() - j->start;
      j->body->discard();
      report(std::move(r));
    }
    if (cmd_.json) fmt::print(stderr, "{}\n", summary_json(tally_, true, Clock::now() - start_));
    std::fflush(stderr);
    std::_Exit(kExitCancelled);
  }

  void clear_progress() {
    if (tty_ && progress_shown_) {
      fmt::print(stderr, "\r\033[K");
      progress_shown_ = false;
    }
  }

  void draw_progress(bool force) {
    if (!tty_) return;
    const auto now = Clock::now();
    if (!force && now - last_progress_ < kProgressEvery) return;
    last_progress_ = now;
    fmt::print(stderr, "\r\033[K{}", progress_text(tally_, total_, now - start_));
    std::fflush(stderr);
    progress_shown_ = true;
  }

  int finish() {
    const auto elapsed = Clock::now() - start_;
    const bool was_cancelled = cancelled();
    if (!was_cancelled) draw_progress(true);
    if (tty_ && progress_shown_) fmt::print(stderr, "\n");
    int code = kExitSuccess;
    if (was_cancelled) {
      std::lock_guard lock(mutex_);
      fmt::print(stderr, "fetchpipe: cancelled by {}: no new line started, {} cancelled in flight\n",
                 signal_name(signal_), tally_.cancelled);
      code = kExitCancelled;
    } else if (input_error_) {
      fmt::print(stderr, "fetchpipe: {}\n", printable(*input_error_));
      code = kExitUsage;
    } else if (journal_error_) {
      fmt::print(stderr, "fetchpipe: {}\n", printable(*journal_error_));
      code = kExitSomeFailed;
    } else if (tally_.failed != 0 || tally_.cancelled != 0) {
      code = kExitSomeFailed;
    }
    if (cmd_.json) fmt::print(stderr, "{}\n", summary_json(tally_, was_cancelled, elapsed));
    std::fflush(stderr);
    return code;
  }

  GetCommand cmd_;
  std::optional<BatchOutputDir> out_dir_;
  std::optional<BatchJournal> journal_;
  std::shared_ptr<InputQueue> input_;
  bool tty_ = false;
  bool stdout_tty_ = false;
  Clock::time_point start_{};

  // Main thread only.
  BatchTally tally_;
  std::optional<std::uint64_t> total_;
  std::optional<std::string> input_error_;
  std::optional<std::string> journal_error_;
  bool progress_shown_ = false;
  bool input_end_seen_ = false;  // read under mutex_ in the wait predicate, written by the main thread
  Clock::time_point last_progress_{};

  // Shared with the callbacks and the signal thread.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Finished> finished_;
  std::map<Job*, std::unique_ptr<Job>> jobs_;
  int in_flight_ = 0;
  int signal_ = 0;
  bool second_signal_ = false;
  Clock::time_point cancel_at_{};

  // fsyncs kept bodies before the main thread names them (see done()). Last: destroyed (its
  // queue run, its threads joined) while what its tasks touch still exists.
  std::optional<ThreadPoolExecutor> flusher_;
};

}  // namespace

int run_batch(GetCommand cmd) {
  const std::string& input = *cmd.batch.input_file;
  int fd = STDIN_FILENO;
  if (input != "-") {
    fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw UsageError(fmt::format("-i: cannot read '{}': {}", input, std::strerror(errno)));
  }
  BatchRun run(std::move(cmd));
  // The descriptor stays open to the end: a reader thread left blocked on it exits with the process.
  return run.run(fd);
}

}  // namespace fetchpipe::cli

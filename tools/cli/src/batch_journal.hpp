// batch_journal.hpp — `--journal FILE`: one record per finished input line, so a re-run skips
// what already succeeded.
//
// A record is one JSON line, {"line":N,"url":"...","outcome":"success"}, appended with a single
// write(2) on an O_APPEND descriptor as soon as the line finishes. Once write() returns, the
// record is in the kernel's page cache, which outlives the process: a SIGKILL right after loses
// nothing. There is no fsync per record on purpose: it would cost a disk flush per line, and
// all a power cut can do is drop recent records, which only means those lines are fetched again
// (never that a line is skipped without its file). A torn or foreign line is ignored on reading.
//
// A line is skipped on a re-run only when the journal holds a success for the same line number
// AND the same URL: an edited input file does not silently skip a different URL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

namespace fetchpipe::cli {

class BatchJournal {
 public:
  // Reads the records already there and opens FILE for appending (created if missing). Throws
  // UsageError naming --journal.
  explicit BatchJournal(const std::string& path);
  ~BatchJournal();
  BatchJournal(const BatchJournal&) = delete;
  BatchJournal& operator=(const BatchJournal&) = delete;

  [[nodiscard]] bool succeeded(std::uint64_t line, std::string_view url) const;
  // Appends one record. False (errno kept) when the write failed.
  [[nodiscard]] bool record(std::uint64_t line, std::string_view url, std::string_view outcome);

 private:
  static std::uint64_t key(std::uint64_t line, std::string_view url);

  std::string path_;
  int fd_ = -1;
  // 64-bit hashes of (line, url) that succeeded: memory stays small for a million lines.
  std::unordered_set<std::uint64_t> succeeded_;
};

}  // namespace fetchpipe::cli

// line_reader.hpp — lines from a file descriptor, one at a time, with a bound on memory.
//
// Batch inputs may hold millions of lines, or one endless line: the reader holds one buffer and
// at most kMaxLine bytes of the current line. A longer line is returned with `too_long` set and
// its text cut (the rest is read and dropped), so the caller can report it and go on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fetchpipe::cli {

struct InputLine {
  std::uint64_t number = 0;  // 1-based, counting every line
  std::string text;          // without the '\n'
  bool too_long = false;
};

// Lines of a regular file that are neither blank nor comments, counted with pread(2) (the
// descriptor's offset is left alone), for the progress line's total and ETA. nullopt for a pipe,
// a terminal, or a read error.
[[nodiscard]] std::optional<std::uint64_t> count_batch_lines(int fd);

class LineReader {
 public:
  static constexpr std::size_t kMaxLine = 1 << 20;

  explicit LineReader(int fd) : fd_(fd) {}
  // The next line; nullopt at the end of the input. Throws std::runtime_error on a read error.
  [[nodiscard]] std::optional<InputLine> next();

 private:
  bool fill();  // false at EOF

  int fd_;
  std::string buffer_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::uint64_t number_ = 0;
};

}  // namespace fetchpipe::cli

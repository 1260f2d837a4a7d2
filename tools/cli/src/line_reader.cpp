#include "line_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace fetchpipe::cli {
namespace {
constexpr std::size_t kReadSize = 64 * 1024;
}

bool LineReader::fill() {
  if (eof_) return false;
  buffer_.erase(0, pos_);
  pos_ = 0;
  const std::size_t old = buffer_.size();
  buffer_.resize(old + kReadSize);
  ssize_t n = 0;
  do {
    n = ::read(fd_, buffer_.data() + old, kReadSize);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    buffer_.resize(old);
    throw std::runtime_error(std::strerror(errno));
  }
  buffer_.resize(old + static_cast<std::size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

std::optional<std::uint64_t> count_batch_lines(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string buffer(kReadSize, '\0');
  std::uint64_t count = 0;
  off_t offset = 0;
  bool at_start = true;  // no byte of the current line other than blanks seen yet
  while (true) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return count;
    offset += n;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buffer[static_cast<std::size_t>(i)];
      if (c == '\n') {
        at_start = true;
      } else if (at_start && c != ' ' && c != '\t' && c != '\r') {
        at_start = false;
        if (c != '#') ++count;
      }
    }
  }
}

std::optional<InputLine> LineReader::next() {
  InputLine line;
  while (true) {
    const std::string_view rest = std::string_view(buffer_).substr(pos_);
    const auto newline = rest.find('\n');
    const std::string_view piece = rest.substr(0, newline);
    if (!line.too_long) {
      const std::size_t room = kMaxLine - line.text.size();
      if (piece.size() > room) {
        line.text.append(piece.substr(0, room));
        line.too_long = true;
      } else {
        line.text.append(piece);
      }
    }
    if (newline != std::string_view::npos) {
      pos_ += newline + 1;
      line.number = ++number_;
      return line;
    }
    pos_ = buffer_.size();
    if (!fill()) {
      if (line.text.empty() && !line.too_long) return std::nullopt;
      line.number = ++number_;  // a last line without '\n'
      return line;
    }
  }
}

}  // namespace fetchpipe::cli

#include "batch_journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "fd_io.hpp"
#include "json_writer.hpp"
#include "line_json.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

// FNV-1a, 64 bit: stable across runs and builds (std::hash need not be).
std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = 14695981039346656037ull) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::uint64_t BatchJournal::key(std::uint64_t line, std::string_view url) {
  return fnv1a(url, fnv1a(fmt::format("{}\n", line)));
}

BatchJournal::BatchJournal(const std::string& path) : path_(path) {
  bool ends_with_newline = true;
  {
    std::ifstream in(path, std::ios::binary);
    std::string text;
    while (in && std::getline(in, text)) {
      ends_with_newline = !in.eof();
      const auto record = parse_line_json(text);
      if (!record || !record->is_object()) continue;
      const LineJson* line = record->find("line");
      const LineJson* url = record->find("url");
      const LineJson* outcome = record->find("outcome");
      if (line == nullptr || url == nullptr || outcome == nullptr || line->type() != LineJson::Type::number ||
          !url->is_string() || !outcome->is_string() || outcome->text() != "success") {
        continue;
      }
      std::uint64_t n = 0;
      const auto& digits = line->text();
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc{} || end != digits.data() + digits.size()) continue;
      succeeded_.insert(key(n, url->text()));
    }
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd_ < 0) throw UsageError(fmt::format("--journal: cannot open '{}': {}", path, std::strerror(errno)));
  // A run killed mid-record left a partial last line: start the next record on a line of its own.
  if (!ends_with_newline && !write_all(fd_, "\n")) {
    throw UsageError(fmt::format("--journal: cannot write '{}': {}", path, std::strerror(errno)));
  }
}

BatchJournal::~BatchJournal() {
  if (fd_ >= 0) ::close(fd_);
}

bool BatchJournal::succeeded(std::uint64_t line, std::string_view url) const {
  return succeeded_.count(key(line, url)) != 0;
}

bool BatchJournal::record(std::uint64_t line, std::string_view url, std::string_view outcome) {
  JsonWriter w;
  w.begin_object().key("line").value(line).key("url").value(url).key("outcome").value(outcome).end_object();
  // One write of the whole record: a reader never sees two records interleaved.
  return write_all(fd_, w.str() + "\n");
}

}  // namespace fetchpipe::cli

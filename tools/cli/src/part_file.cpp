#include "part_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fd_io.hpp"
#include "json_writer.hpp"
#include "line_json.hpp"
#include "text.hpp"

namespace fetchpipe::cli {
namespace {

constexpr std::size_t kMaxSidecarBytes = 64 * 1024;

// The sidecar's text, or "" when it is missing, unreadable, not a regular file or too large.
std::string read_sidecar(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "";
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) <= kMaxSidecarBytes) {
    text.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < text.size()) {
      const auto n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    text.resize(got);
  }
  ::close(fd);
  return text;
}

// The validator a sidecar records for `url`, or "" when it is for another URL or unusable.
std::string kept_validator(const std::string& sidecar_text, const std::string& url) {
  const auto parsed = parse_line_json(sidecar_text);
  if (!parsed || !parsed->is_object()) return "";
  const LineJson* u = parsed->find("url");
  const LineJson* v = parsed->find("validator");
  if (u == nullptr || v == nullptr || !u->is_string() || !v->is_string() || u->text() != url) return "";
  return v->text();
}

// A path that must be a regular file if it exists; a symlink is refused, not followed.
void check_regular(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    throw UsageError(fmt::format("-C: {} must be a regular file, got '{}'", what, path));
  }
}

}  // namespace

std::unique_ptr<PartFile> PartFile::open(const std::string& path, const std::string& url) {
  const std::string part = path + ".part";
  const std::string sidecar = part + ".json";
  check_regular(path, "-o FILE");
  check_regular(part, "FILE.part");
  check_regular(sidecar, "FILE.part.json");
  std::string validator = kept_validator(read_sidecar(sidecar), url);
  struct stat st {};
  const bool have_part = ::stat(part.c_str(), &st) == 0 && st.st_size > 0;
  if (validator.empty() || !have_part) {
    // Nothing that can be continued: start over, and leave no sidecar claiming otherwise.
    validator.clear();
    ::unlink(sidecar.c_str());
  }
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (validator.empty() ? O_TRUNC : O_APPEND);
  const int fd = ::open(part.c_str(), flags, 0666);
  if (fd < 0) throw UsageError(fmt::format("-C: cannot open '{}': {}", part, std::strerror(errno)));
  const std::uint64_t offset = validator.empty() ? 0 : static_cast<std::uint64_t>(st.st_size);
  return std::unique_ptr<PartFile>(new PartFile(path, url, fd, offset, std::move(validator)));
}

PartFile::PartFile(std::string path, std::string url, int fd, std::uint64_t offset, std::string validator)
    : path_(std::move(path)),
      part_path_(path_ + ".part"),
      sidecar_path_(part_path_ + ".json"),
      url_(std::move(url)),
      fd_(fd),
      offset_(offset),
      kept_validator_(validator),
      base_(offset),
      sidecar_validator_(std::move(validator)) {}

PartFile::~PartFile() { discard(); }

bool PartFile::truncate_to(std::uint64_t size) {
  // O_APPEND: every write goes to the end, wherever the offset is.
  return ::ftruncate(fd_, static_cast<off_t>(size)) == 0;
}

bool PartFile::write_sidecar(const std::string& validator) {
  if (validator == sidecar_validator_) return true;
  if (validator.empty()) {
    // An entity that cannot be continued: a later -C run must start over.
    if (::unlink(sidecar_path_.c_str()) != 0 && errno != ENOENT) return false;
    sidecar_validator_.clear();
    return true;
  }
  JsonWriter w;
  w.begin_object().key("url").value(url_).key("validator").value(validator).end_object();
  const std::string temp = sidecar_path_ + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) return false;
  const bool ok = write_all(fd, w.str() + "\n") && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), sidecar_path_.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    return false;
  }
  sidecar_validator_ = validator;
  return true;
}

bool PartFile::write(std::string_view bytes) {
  if (source_) {
    // The continuation ended (the entity changed, or the server would not continue): the bytes
    // kept from the earlier run are not this entity's.
    if (const auto base = source_->base(); base != base_) {
      if (!truncate_to(0)) return false;
      base_ = 0;
    }
    if (!write_sidecar(source_->validator())) return false;
  }
  return write_all(fd_, bytes);
}

bool PartFile::rewind() {
  // Back to where this run's body starts: the kept bytes, while the continuation stands.
  base_ = source_ ? source_->base() : 0;
  return truncate_to(base_);
}

bool PartFile::commit() {
  if (done_) return false;
  done_ = true;
  const bool ok = ::fsync(fd_) == 0 && ::close(fd_) == 0;
  fd_ = -1;
  if (!ok || ::rename(part_path_.c_str(), path_.c_str()) != 0) return false;
  ::unlink(sidecar_path_.c_str());
  return true;
}

void PartFile::discard() noexcept {
  if (done_) return;
  done_ = true;
  struct stat st {};
  const bool empty = ::fstat(fd_, &st) == 0 && st.st_size == 0;
  ::close(fd_);
  fd_ = -1;
  if (empty) {
    ::unlink(part_path_.c_str());
    ::unlink(sidecar_path_.c_str());
  }
}

}  // namespace fetchpipe::cli

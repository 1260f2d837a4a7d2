// batch_output.hpp — where batch mode puts bodies: only ever inside --output-dir, each file
// complete or absent, never over an existing name and never through a link.
//
// Every body goes to a hidden temporary file (".fetchpipe-XXXXXX") in its final directory; on
// success it is linked into place under its name with renameat2(RENAME_NOREPLACE) (or link(2) where
// the file system lacks that flag), both of which fail instead of replacing or following whatever
// holds the name — a file from before the run, a file of this run, a symlink planted in the
// directory. A taken name gets ".1", ".2", ... as wget does. Subdirectories of a line's "output"
// are created as needed and opened with O_NOFOLLOW, so a link in the path is refused, not followed.
//
//   auto dir = BatchOutputDir::open("out");              // throws UsageError
//   auto body = dir.begin("sub/page.html");               // or an error message
//   body->write(chunk); ...; auto placed = dir.commit(*body);   // "sub/page.html.1"
//
// Not thread-safe: one thread begins and commits; BatchBody::write and sync may run on another
// thread (one at a time, before commit).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace fetchpipe::cli {

// One body on its way into the output directory.
class BatchBody {
 public:
  BatchBody(std::shared_ptr<const int> dir_fd, std::string relative, std::string temp_name, int fd);
  BatchBody(const BatchBody&) = delete;
  BatchBody& operator=(const BatchBody&) = delete;
  ~BatchBody();  // removes the temporary file unless committed

  [[nodiscard]] bool write(std::string_view bytes);  // false (errno kept) on a failed write
  [[nodiscard]] bool rewind();                       // back to empty, for a retry
  // Flushes the file to disk and closes it; false (errno kept) on failure. The first call does
  // the work (on any thread, once the body is complete); later calls return its result.
  [[nodiscard]] bool sync();
  void discard() noexcept;
  [[nodiscard]] const std::string& relative() const noexcept { return relative_; }

 private:
  friend class BatchOutputDir;
  std::shared_ptr<const int> dir_fd_;  // the directory the file is in (shared by its bodies)
  std::string relative_;               // the wanted name, relative to --output-dir
  std::string temp_name_;              // in dir_fd_
  int fd_ = -1;
  bool done_ = false;
  bool synced_ = false;
  int sync_errno_ = 0;  // why sync() failed, 0 if it did not
};

// The body's place, or a message.
using BatchPlaced = std::variant<std::string, std::string>;  // index 0: relative path; 1: error

class BatchOutputDir {
 public:
  // Creates `path` (and its parents) if missing. Throws UsageError naming --output-dir.
  static BatchOutputDir open(const std::string& path);

  // A temporary file for `relative` (a safe name, or a path normalise_output() accepted).
  [[nodiscard]] std::variant<std::unique_ptr<BatchBody>, std::string> begin(const std::string& relative);
  // Flushes the body to disk and gives it its name (taken: `.1`, `.2`, ...). On failure the
  // temporary file is gone.
  [[nodiscard]] BatchPlaced commit(BatchBody& body);

  // The user-facing path of `relative` ("out/page.html"; just "page.html" for the default ".").
  [[nodiscard]] std::string shown(const std::string& relative) const;

 private:
  explicit BatchOutputDir(std::string path, int fd);

  std::string path_;
  std::shared_ptr<const int> root_;
  // Next suffix to try per wanted name: only a hint that keeps 10,000 identical names linear;
  // RENAME_NOREPLACE decides. Cleared when it grows large, so memory stays bounded.
  std::unordered_map<std::string, std::uint64_t> next_suffix_;
};

}  // namespace fetchpipe::cli

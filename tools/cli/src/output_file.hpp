// output_file.hpp — `-o FILE` done atomically: the body goes to a temporary file in FILE's
// directory, which is renamed over FILE only when the fetch succeeded. Whatever happens
// otherwise (failure, cancel, an exception), no FILE and no temporary file are left behind.
//
// A FILE that exists and is not a regular file (/dev/null, a FIFO) is written in place: renaming
// over a device would replace it.
//
// Same directory on purpose: rename(2) is atomic only within one file system, so a reader sees
// either the old FILE or the complete new one, never a partial body.
//
//   auto out = OutputFile::create("page.html");   // throws UsageError if the directory is unusable
//   out.write(chunk); ... out.rewind(); ...         // rewind: a retry starts the file over
//   out.commit();                                  // or let the destructor discard it
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "body_file.hpp"

namespace fetchpipe::cli {

class OutputFile final : public BodyFile {
 public:
  // Creates the temporary file next to `path`. Throws UsageError when that is impossible (no such
  // directory, no permission, `path` is a directory): nothing has been sent yet.
  static OutputFile create(const std::string& path);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile() override;  // discards unless committed

  // Appends; false (errno kept) when the write failed, e.g. the disk is full.
  [[nodiscard]] bool write(std::string_view bytes) override;
  // Truncates back to empty for a retry.
  [[nodiscard]] bool rewind() override;
  // Flushes to disk and renames over the target. False (the temporary file removed) on failure.
  [[nodiscard]] bool commit() override;
  // Closes and removes the temporary file. Idempotent.
  void discard() noexcept override;
  // Only unlinks the temporary file: for an exit that cannot wait for a writer blocked on
  // another thread (the descriptor is left to the kernel).
  void unlink_now() const noexcept override;

  [[nodiscard]] const std::string& path() const noexcept override { return path_; }
  [[nodiscard]] const std::string& temp_path() const noexcept { return temp_path_; }

 private:
  OutputFile(std::string path, std::string temp_path, int fd);
  [[nodiscard]] bool in_place() const noexcept { return temp_path_.empty(); }

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool done_ = false;
};

}  // namespace fetchpipe::cli

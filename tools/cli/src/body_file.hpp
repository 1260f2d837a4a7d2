// body_file.hpp — where `get -o FILE` puts the body: OutputFile (a temporary file renamed on
// success) or, with -C, PartFile (FILE.part kept across runs). GetRun drives either through this.
#pragma once

#include <string>
#include <string_view>

namespace fetchpipe::cli {

class BodyFile {
 public:
  virtual ~BodyFile() = default;
  // Appends; false (errno kept) when the write failed, e.g. the disk is full.
  [[nodiscard]] virtual bool write(std::string_view bytes) = 0;
  // A retry starts the body over (from wherever this file's body starts).
  [[nodiscard]] virtual bool rewind() = 0;
  // The fetch succeeded: make FILE the body. False (errno kept) on failure.
  [[nodiscard]] virtual bool commit() = 0;
  // The fetch did not succeed (or commit() ran): leave what the contract says. Idempotent.
  virtual void discard() noexcept = 0;
  // Only what can be done without waiting for a writer blocked on another thread.
  virtual void unlink_now() const noexcept = 0;
  [[nodiscard]] virtual const std::string& path() const noexcept = 0;
};

}  // namespace fetchpipe::cli

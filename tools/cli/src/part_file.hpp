// part_file.hpp — `get -C -o FILE`: the body goes to FILE.part, which outlives a failed or
// interrupted run so that the next `-C` run can continue it.
//
// Beside it, FILE.part.json records the URL and the validator (strong ETag or Last-Modified) of
// the entity whose bytes FILE.part holds: {"url": "...", "validator": "..."}. It is replaced
// atomically, always before the first byte of another entity is written, so even a SIGKILL
// leaves a pair that agrees. A sidecar for another URL, without a validator, or that does not
// parse: the old FILE.part is discarded and the download starts over. On success FILE.part is
// renamed to FILE and the sidecar removed.
//
//   auto part = PartFile::open("big.iso", url);   // throws UsageError if unusable
//   ContinueTransport t(inner, part->offset(), part->validator());
//   part->follow(t);  part->write(chunk); ...  part->commit();
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "body_file.hpp"
#include "continue_transport.hpp"

namespace fetchpipe::cli {

class PartFile final : public BodyFile {
 public:
  // Opens FILE.part for `url`: kept when its sidecar matches, else emptied. Throws UsageError
  // when FILE or FILE.part is not a regular file or cannot be opened.
  static std::unique_ptr<PartFile> open(const std::string& path, const std::string& url);
  ~PartFile() override;
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  // Bytes kept from an earlier run (0: a fresh download), and the validator they belong to.
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] const std::string& validator() const noexcept { return kept_validator_; }
  // Where to learn which byte the body starts at and which entity it is. Before any write.
  void follow(std::shared_ptr<const ContinueTransport> source) { source_ = std::move(source); }

  [[nodiscard]] bool write(std::string_view bytes) override;
  [[nodiscard]] bool rewind() override;
  [[nodiscard]] bool commit() override;
  // Keeps FILE.part and its sidecar (an empty FILE.part is removed with its sidecar).
  void discard() noexcept override;
  void unlink_now() const noexcept override {}  // FILE.part stays: that is its point
  [[nodiscard]] const std::string& path() const noexcept override { return path_; }

 private:
  PartFile(std::string path, std::string url, int fd, std::uint64_t offset, std::string validator);
  [[nodiscard]] bool truncate_to(std::uint64_t size);
  [[nodiscard]] bool write_sidecar(const std::string& validator);

  std::string path_;
  std::string part_path_;
  std::string sidecar_path_;
  std::string url_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  std::string kept_validator_;
  std::uint64_t base_ = 0;          // the resource byte the file's first byte holds
  std::string sidecar_validator_;   // what the sidecar on disk says ("" = no sidecar)
  std::shared_ptr<const ContinueTransport> source_;
  bool done_ = false;
};

}  // namespace fetchpipe::cli

#include "compressed_body.hpp"

#include <zlib.h>

#include <algorithm>
#include <vector>

#include "wire.hpp"

namespace fetchpipe::tools::detail {

namespace {

// Bits into bytes, least significant first, as brotli packs them.
class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  void put(std::uint32_t value, int bits) {
    for (int i = 0; i < bits; ++i) {
      if (used_ == 0) out_.push_back('\0');
      if ((value >> i) & 1U) out_.back() = static_cast<char>(out_.back() | (1 << used_));
      used_ = (used_ + 1) % 8;
    }
  }
  void align() { used_ = 0; }

 private:
  std::string& out_;
  int used_ = 0;  // bits used in out_.back(); 0 = start a new byte
};

std::string brotli_stored(std::uint64_t n, bool zeros) {
  constexpr std::uint64_t kPiece = 65536;  // MLEN fits in 4 nibbles
  std::string body;
  BitWriter bits(body);
  bits.put(0, 1);  // WBITS 16
  std::string piece;
  for (std::uint64_t offset = 0; offset < n; offset += kPiece) {
    const auto len = std::min(kPiece, n - offset);
    bits.put(0, 1);  // ISLAST
    bits.put(0, 2);  // MNIBBLES: 4
    bits.put(static_cast<std::uint32_t>(len - 1), 16);
    bits.put(1, 1);  // ISUNCOMPRESSED, then the bytes from the next byte boundary
    bits.align();
    piece.assign(static_cast<std::size_t>(len), '\0');
    if (!zeros) fill_pattern(piece.data(), offset, piece.size());
    body += piece;
  }
  bits.put(1, 1);  // ISLAST
  bits.put(1, 1);  // ISLASTEMPTY
  return body;
}

void put_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string zstd_blocks(std::uint64_t n, bool zeros) {
  constexpr std::uint32_t kBlock = 128 * 1024;  // the largest block a 128 KiB window allows
  std::string body;
  put_le(body, 0xFD2FB528U, 4);  // magic
  body.push_back('\0');          // no content size, not single segment, no checksum, no dictionary
  body.push_back('\x38');        // window 2^(10+7) = 128 KiB
  std::string piece;
  std::uint64_t offset = 0;
  do {
    const auto len = static_cast<std::uint32_t>(std::min<std::uint64_t>(kBlock, n - offset));
    const bool last = offset + len == n;
    const std::uint32_t type = zeros && len > 0 ? 1 : 0;  // RLE: one byte stands for all of them
    put_le(body, (last ? 1U : 0U) | (type << 1) | (len << 3), 3);
    if (type == 1) {
      body.push_back('\0');
    } else {
      piece.assign(len, '\0');
      fill_pattern(piece.data(), offset, piece.size());
      body += piece;
    }
    offset += len;
  } while (offset < n);
  return body;
}

}  // namespace

std::optional<std::string> compressed_body(Coding coding, std::uint64_t n, bool zeros) {
  if (coding == Coding::br) return brotli_stored(n, zeros);
  if (coding == Coding::zstd) return zstd_blocks(n, zeros);
  z_stream z{};
  // windowBits 15 + 16 writes a gzip wrapper; plain 15 the zlib wrapper HTTP calls "deflate".
  const int window = coding == Coding::gzip ? 15 + 16 : 15;
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  constexpr std::size_t kPiece = 64 * 1024;
  std::vector<char> in(kPiece, '\0');
  std::vector<unsigned char> out(kPiece);
  std::string body;
  std::uint64_t offset = 0;
  int rc = Z_OK;
  do {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, n - offset));
    if (!zeros) fill_pattern(in.data(), offset, len);
    offset += len;
    z.next_in = reinterpret_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(len);
    const int flush = offset == n ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR) {
        deflateEnd(&z);
        return std::nullopt;
      }
      body.append(reinterpret_cast<const char*>(out.data()), out.size() - z.avail_out);
    } while (z.avail_out == 0);
  } while (offset < n);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return body;
}

}  // namespace fetchpipe::tools::detail

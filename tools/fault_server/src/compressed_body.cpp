#include "compressed_body.hpp"

#include <zlib.h>

#include <algorithm>
#include <vector>

#include "wire.hpp"

namespace fetchpipe::tools::detail {

std::optional<std::string> compressed_body(Coding coding, std::uint64_t n, bool zeros) {
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

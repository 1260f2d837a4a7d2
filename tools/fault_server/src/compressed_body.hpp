// compressed_body.hpp — bodies for the /gzip endpoint: N bytes (the fault server's pattern, or
// zeros for a decompression bomb) compressed with zlib as gzip or deflate (RFC 9110's "deflate"
// is the zlib format). Compressed in pieces, so a 1 GiB bomb costs the server about 1 MiB.
//
// br and zstd are written by hand, without an encoder library: brotli as uncompressed meta-blocks
// (RFC 7932 section 9.2), zstd as raw blocks, or RLE blocks for zeros (RFC 8878 section 3.1.1.2),
// which makes a zstd bomb of 4 bytes per 128 KiB. Every decoder reads these; the point is what the
// client does with the decoded bytes, not how small the encoding is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fetchpipe::tools::detail {

enum class Coding { gzip, deflate, br, zstd };

// The compressed body, or nullopt if zlib failed (gzip, deflate).
[[nodiscard]] std::optional<std::string> compressed_body(Coding coding, std::uint64_t n, bool zeros);

}  // namespace fetchpipe::tools::detail

// compressed_body.hpp — bodies for the /gzip endpoint: N bytes (the fault server's pattern, or
// zeros for a decompression bomb) compressed with zlib as gzip or deflate (RFC 9110's "deflate"
// is the zlib format). Compressed in pieces, so a 1 GiB bomb costs the server about 1 MiB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fetchpipe::tools::detail {

enum class Coding { gzip, deflate };

// The compressed body, or nullopt if zlib failed.
[[nodiscard]] std::optional<std::string> compressed_body(Coding coding, std::uint64_t n, bool zeros);

}  // namespace fetchpipe::tools::detail

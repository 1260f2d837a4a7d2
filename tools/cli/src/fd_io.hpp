// fd_io.hpp — writing all of a buffer to a file descriptor (short writes and EINTR handled).
#pragma once

#include <string_view>

namespace fetchpipe::cli {

// False (errno kept) when a write failed.
[[nodiscard]] bool write_all(int fd, std::string_view bytes);

}  // namespace fetchpipe::cli

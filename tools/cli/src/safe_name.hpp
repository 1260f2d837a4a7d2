// safe_name.hpp — the file names batch mode writes under --output-dir, and nothing else.
//
// Two sources of names, both hostile: the URL's last path segment (named by whoever wrote the
// link) and a batch line's "output" member. Neither may ever reach outside the output directory.
// A derived name is one path component; an "output" may name subdirectories but never climbs
// above the directory. Where a name is finally placed (and `.1`, `.2` when it is taken) is the
// job of BatchOutputDir, which never writes through a link.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace fetchpipe::cli {

// Longest name derived from a URL, in bytes (room is left for a `.N` suffix under NAME_MAX).
inline constexpr std::size_t kMaxDerivedName = 200;

// The URL's last path segment (query and fragment dropped), percent-decoded and made safe: `/`,
// `\`, NUL, control characters and invalid UTF-8 become `_`, leading dots are dropped, at most
// kMaxDerivedName bytes (cut on a character boundary); an empty result is "index.html".
// `url` need not be valid; whatever it holds is only ever a source of bytes.
[[nodiscard]] std::string name_from_url(std::string_view url);

// A line's "output", checked and normalised: relative, no NUL or control characters, no `\`,
// `.` and empty components dropped, `..` resolved lexically and refused if it would climb out;
// each component at most 255 bytes. The normalised relative path, or a message.
struct OutputPath {
  std::variant<std::string, std::string> value;  // index 0: the path, index 1: the error
  [[nodiscard]] explicit operator bool() const noexcept { return value.index() == 0; }
  [[nodiscard]] const std::string& path() const { return std::get<0>(value); }
  [[nodiscard]] const std::string& error() const { return std::get<1>(value); }
};
[[nodiscard]] OutputPath normalise_output(std::string_view output);

}  // namespace fetchpipe::cli

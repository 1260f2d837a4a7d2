// output_name.hpp — the file name batch mode gives a URL's body: the last segment of the path,
// percent-decoded and made safe (no '/', '\', NUL or control characters, no leading '.', at most
// 200 bytes); an empty name becomes index.html. Suffixes for names already taken are the
// caller's business (`with_suffix`).
#pragma once

#include <string>
#include <string_view>

namespace fetchpipe::cli {

[[nodiscard]] std::string output_name_from_url(std::string_view url);
// "name" for n = 0, else "name.N".
[[nodiscard]] std::string with_suffix(const std::string& name, int n);

}  // namespace fetchpipe::cli

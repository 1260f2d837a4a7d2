// client_setup.hpp — the ClientOptions a `get` command line describes, for one fetch and for
// batch mode alike, so both run with the same policies.
#pragma once

#include <cstddef>

#include <fetchpipe/client.hpp>

#include "arguments.hpp"

namespace fetchpipe::cli {

// `parallelism`: exchanges kept in flight at once (see make_transport).
[[nodiscard]] ClientOptions client_options(const GetCommand& cmd, std::size_t parallelism);

}  // namespace fetchpipe::cli

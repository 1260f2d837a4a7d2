// batch_command.hpp — `fetchpipe get -i FILE`: batch mode (docs/cli.md, "Batch mode").
#pragma once

#include "arguments.hpp"

namespace fetchpipe::cli {

// Runs a parsed `get` whose batch.input_file is set; returns the exit code (0, 2, 7 or 130).
int run_batch(GetCommand cmd);

}  // namespace fetchpipe::cli

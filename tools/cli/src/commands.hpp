// commands.hpp — one entry point per command; each returns the process exit code.
#pragma once

#include "arguments.hpp"

namespace fetchpipe::cli {

int run_get(Args args);
int run_serve(Args args);
int run_bench(Args args);
int run_demo(Args args);
int run_simulate(Args args);
int run_enqueue(Args args);
int run_worker(Args args);

}  // namespace fetchpipe::cli

// `fetchpipe worker --redis URL --stream NAME [options]`: see worker.hpp.
#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "text.hpp"
#include "worker.hpp"

namespace fetchpipe::cli {

int run_worker(Args args) {
  WorkerCommand cmd = parse_worker(args);
  if (cmd.help) {
    fmt::print("{}", kWorkerHelp);
    return kExitSuccess;
  }
  std::error_code ec;
  std::filesystem::create_directories(cmd.output_dir, ec);
  if (ec || !std::filesystem::is_directory(cmd.output_dir)) {
    throw UsageError(fmt::format("--output-dir: cannot create '{}': {}", printable(cmd.output_dir),
                                 ec ? ec.message() : "not a directory"));
  }
  return run_worker_loop(std::move(cmd));
}

}  // namespace fetchpipe::cli

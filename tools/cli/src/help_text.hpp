// help_text.hpp — the text of `--help`, top level and per command.
#pragma once

#include <string_view>

namespace fetchpipe::cli {

extern const std::string_view kTopHelp;
extern const std::string_view kGetHelp;
extern const std::string_view kServeHelp;  // followed by the endpoint list
extern const std::string_view kBenchHelp;
extern const std::string_view kDemoHelp;
extern const std::string_view kSimulateHelp;
extern const std::string_view kEnqueueHelp;  // queue_help_text.cpp
extern const std::string_view kWorkerHelp;

}  // namespace fetchpipe::cli

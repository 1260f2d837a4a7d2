// Streaming a download to a file. The first attempt is cut after a few bytes; because the sink
// can start over (on_rewind truncates the file), the retry is allowed and the file ends whole.
//
//   ./stream_to_file [path]    (default: download.bin in the current directory)
#include <fstream>
#include <future>
#include <iostream>
#include <string>

#include "fetchpipe/client.hpp"
#include "fetchpipe/tools/fault_server.hpp"

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "download.bin";
  fetchpipe::tools::FaultServer server;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  std::promise<int> exit_code;
  fetchpipe::Client client;

  int rewinds = 0;
  client.fetch({.url = server.url("/flaky?key=download&fail=1&fault=truncate")},
               {.on_success =
                    [&](fetchpipe::Response r) {
                      file.flush();
                      std::cout << "saved " << r.body_bytes << " bytes to " << path << " after " << rewinds
                                << " rewind(s)\n";
                      exit_code.set_value(file ? 0 : 1);
                    },
                .on_failure =
                    [&](fetchpipe::Error e) {
                      std::cerr << e.message << '\n';
                      exit_code.set_value(1);
                    },
                .on_cancel = [&](fetchpipe::Error) { exit_code.set_value(130); },
                // Chunks arrive in order, on the callback executor, before the terminal callback.
                .on_chunk = [&](std::string_view chunk) { file.write(chunk.data(), static_cast<std::streamsize>(chunk.size())); },
                // Called before any byte of a retry: start the file over.
                .on_rewind =
                    [&] {
                      ++rewinds;
                      file.close();
                      file.open(path, std::ios::binary | std::ios::trunc);
                    }});
  const int code = exit_code.get_future().get();
  return code == 0 && rewinds == 1 ? 0 : 1;
}

// Shared by the server-playing fuzz targets (issue 10, item 8): the fuzz input is served as the
// raw HTTP response, over loopback, to a real Client on a real transport.
//
// Each input is fetched twice, once buffered and once streamed to on_chunk, with max_attempts 2,
// max_redirects 2, a 64 KiB body limit and short clocks. Invariants (a violation aborts):
//   - exactly one terminal callback per fetch, within 8 s (a hang is a finding), never cancel;
//   - a success has a 2xx status, a body of at most max_body_bytes, body_bytes equal to the bytes
//     buffered or streamed, and a final URL on our loopback server;
//   - no chunk after the terminal callback, never more than max_body_bytes streamed, and
//     Error::bytes_delivered equal to what on_chunk received;
//   - a hostile response is never an internal_error nor an invalid_request (the request is valid),
//     a 1xx other than 101 is never taken as the final status, and error messages stay on one line;
//   - when both fetches succeed they agree on the status and the body;
//   - what the bytes alone say (response_oracle.hpp): no success without a complete head; for a
//     strict head, the success has its status, never despite an invalid or conflicting
//     Content-Length, and with exactly the Content-Length body (never a truncated one); a small
//     well-formed 2xx with a Content-Length body within the limit always succeeds.
// The second fetch may reuse the first one's connection, so an input also tests what a transport
// does with bytes left over after a response. Inputs that break these today because of transport
// defects are kept in fuzz/known_failures/ (see its README).
// ASan/UBSan (the fuzz preset) add: no memory error, no undefined behaviour, no leak.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "fetchpipe/transport.hpp"

namespace fetchpipe::fuzz {

// `make_transport` is called once, on the first input; the client and its transport then live
// for the whole run (a static), so an iteration costs two loopback exchanges and nothing more.
int run_served_response(const std::function<std::shared_ptr<Transport>()>& make_transport,
                        const std::uint8_t* data, std::size_t size);

}  // namespace fetchpipe::fuzz

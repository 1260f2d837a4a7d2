// The httplib transport's one timer thread. cpp-httplib has no total timeout (its read timeout
// restarts with every read) and no way to cancel a call, so this thread enforces the exchange
// deadline and the stall timeout by recording the reason and shutting the socket down, and it
// completes exchanges that were cancelled or expired before any worker took them.
#pragma once

#include "exchange_state.hpp"

namespace fetchpipe::detail {

// The thread body; returns when Core::watchdog_exit is set.
void run_watchdog(Core& core);

}  // namespace fetchpipe::detail

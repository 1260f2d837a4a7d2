// worker.hpp — `fetchpipe worker`: takes jobs from a Redis stream's consumer group, runs each as a
// batch line with one Client, and records each result exactly once.
//
// Threads: the calling thread owns the Redis connection (read, claim, record, reconnect); the
// transport's threads run the fetches and hand finished jobs back through a mutex-guarded list;
// the signal watcher's thread only sets flags. So the connection is never shared, and a Redis
// outage stalls taking new jobs, never the fetches already running.
#pragma once

#include "queue_arguments.hpp"

namespace fetchpipe::cli {

// Runs until SIGINT/SIGTERM (130), until the queue is empty with --exit-when-empty (0), or until
// Redis refuses the configuration at the first connection (2). Prints its own messages.
int run_worker_loop(WorkerCommand cmd);

}  // namespace fetchpipe::cli

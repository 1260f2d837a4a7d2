#include "help_text.hpp"

namespace fetchpipe::cli {

const std::string_view kEnqueueHelp = R"(Usage: fetchpipe enqueue --redis URL --stream NAME (-i FILE | URL...)

Adds one job per input line to the Redis stream NAME (one entry, field `job`), for workers on any
number of machines to run. A line is what `get -i` reads: a URL, or a JSON object with `url`
(and optionally output, method, headers, data); blank lines and lines starting with # are skipped.
Every line is checked first: one bad line is exit 2 and nothing is added.

  --redis URL        redis://[:password@]host[:port][/db] (port 6379 by default)
  --stream NAME      the stream the jobs go to
  -i, --input-file FILE   read the lines from FILE (- = stdin); or give URLs as arguments

Prints the number of jobs added and exits 0. Exit 2: usage error, bad line, unreadable file, or
Redis refused the password or database. Exit 4: Redis unreachable or lost (stderr says how many
jobs had been added; each block of 1000 is added whole or not at all).
)";

const std::string_view kWorkerHelp = R"(Usage: fetchpipe worker --redis URL --stream NAME [options]

Runs the jobs of stream NAME through the consumer group --group, -j at a time, and records each
result on NAME:results and acknowledges the job in one atomic step: a job may be fetched twice
(a worker died after fetching it), but NAME:results never holds two results for one job.

Queue:
  --redis URL            redis://[:password@]host[:port][/db] (port 6379 by default)
  --stream NAME          the job stream (results: NAME:results, poison jobs: NAME:dead)
  --group G              consumer group (default fetchpipe; created if missing)
  --consumer C           this worker's name in the group (default HOST-PID)
  --claim-after DUR      take over jobs another worker left pending this long (default 60s)
  --max-deliveries N     a job delivered more than N times goes to NAME:dead (default 5)
  --exit-when-empty      exit 0 once no job is new or pending in the group
Running:
  -j, --jobs N           fetches in flight at once, 1..10000 (default 16)
  --max-per-host N       fetches in flight per origin (default 6)
  --output-dir DIR       where bodies are written (default .; created if missing), named as
                         by `get -i`; each file is complete or absent
  --drain-timeout DUR    on SIGINT/SIGTERM, how long running fetches may finish (default 10s);
                         the rest are cancelled and stay pending for another worker
  --json                 print each result this worker recorded as a JSON line on stdout
  and the retry, timeout, budget, hedge and breaker flags of get, --transport, -v

Redis unreachable or lost: the worker says so on stderr and reconnects with backoff; running
fetches go on and their results are recorded once Redis is back. Exit 130 on SIGINT/SIGTERM,
0 with --exit-when-empty, 2 on a usage error or when Redis refuses the password or database.
)";

}  // namespace fetchpipe::cli

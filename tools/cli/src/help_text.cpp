#include "help_text.hpp"

namespace fetchpipe::cli {

const std::string_view kTopHelp = R"(fetchpipe — fetch over HTTP(S) with retries, timeouts and cancellation

Usage:
  fetchpipe get URL [options]             fetch one URL; body to stdout, or to -o FILE
  fetchpipe get -i FILE [options]         batch mode: every URL listed in FILE, into --output-dir
  fetchpipe serve [--host H] [--port N]   run the fault-injecting test server until SIGINT/SIGTERM
  fetchpipe bench [options]               throughput benchmark, against the embedded server by default
  fetchpipe demo                          a short guided tour against the embedded server
  fetchpipe simulate [options]            retries, budget and breaker against a simulated server,
                                          in virtual time: outage, overload, tail latency
  fetchpipe enqueue --redis URL --stream NAME (-i FILE | URL...)
                                          add jobs to a Redis stream, for workers on many machines
  fetchpipe worker --redis URL --stream NAME [options]
                                          run the jobs of a Redis stream; results on NAME:results
  fetchpipe --help | --version
  fetchpipe COMMAND --help                the options of one command

Exit codes (get):
  0 final status 2xx            4 transport failure: DNS, connect, reset, TLS (and internal errors)
  2 usage error, nothing sent   5 timeout: deadline, connect, attempt or stall timeout
  3 HTTP status not 2xx, or     6 body larger than --max-body-size
    too many redirects        130 cancelled by SIGINT or SIGTERM

Examples:
  fetchpipe get https://example.org/ -o page.html --timeout 10s
  fetchpipe get http://127.0.0.1:8080/flaky?fail=2 -v --json
  fetchpipe serve --port 8080
  fetchpipe bench --transport curl --concurrency 1,16 --duration 2s
  fetchpipe simulate --scenario overload --svg overload.svg
)";

const std::string_view kGetHelp = R"(Usage: fetchpipe get URL [options]
       fetchpipe get -i FILE [options]

Fetches URL (http or https). The body of a final 2xx response goes to stdout, or to -o FILE.
Retries follow the rules below; every wait respects --timeout.

Request:
  -X, --method METHOD          request method (default GET; POST when -d is given)
  -H, --header 'Name: value'   add a header; repeatable. CR or LF in it is invalid input
  -d, --data STRING | @FILE    request body; @FILE sends the file as it is, @- reads stdin;
                               several -d are joined with '&'
Output:
  -o, --output FILE            write the body to FILE: a temporary file in the same directory,
                               renamed only on success; on failure or cancel no FILE is left
  --json                       one JSON object as the last line of stderr (outcome, status, error,
                               reason, attempts, elapsed_ms, bytes, transport)
  -v, --verbose                one line per attempt on stderr: status or error, duration, backoff
  --fail-with-body             also write the body of a final non-2xx response (exit code stays 3)
  -C, --continue               with -o FILE: keep an interrupted download as FILE.part (and
                               FILE.part.json) and continue it on the next -C run
  --no-resume                  never send a Range request: a retry after a partial body starts
                               over (default: a cut GET with ETag/Last-Modified is continued)
Batch mode (-i; then no URL and no -o):
  -i, --input-file FILE|-      fetch every URL listed in FILE (- = stdin): one URL or JSON object
                               {"url","output","method","headers","data"} per line; # comments
  -j, --jobs N                 fetches in flight at once, 1..10000 (default 16)
  --max-per-host N             fetches in flight per origin (default 6)
  --rate N/s | N/m             start at most N fetches per second or minute
  --output-dir DIR             where bodies go (default .); named after the URL, made safe; a taken
                               name gets .1, .2; nothing is written outside DIR
  --journal FILE               record each finished line; a re-run skips the lines that succeeded
                               stdout: one JSON line per input line; exit 0, 7 (a line failed), 2, 130
Transport:
  --transport curl|httplib     which transport runs the fetch (default curl)
  --cacert FILE                trust the CA certificates in FILE instead of the system store
  -x, --proxy URL              http://, https:// or socks5:// proxy (httplib: http:// only);
                               default: http_proxy, https_proxy/HTTPS_PROXY, all_proxy/ALL_PROXY
  --noproxy LIST               hosts that bypass the proxy (comma list; * = all); default no_proxy
  --compressed                 ask for gzip, deflate, br (and zstd on curl) and decode the body;
                               --max-body-size then counts decoded bytes
  --http1.1, --http2, --http2-prior-knowledge
                               HTTP version (default 1.1; curl transport); --http2 negotiates h2
                               over TLS and falls back to 1.1; prior knowledge is for http://
Retries:
  --max-attempts N             attempts including the first; 1 = no retry (default 4; >= 1)
  --backoff-initial DUR        first backoff (default 100ms; 0ms allowed)
  --backoff-max DUR            cap on one backoff (default 10s)
  --backoff-multiplier X       growth per retry (default 2; >= 1)
  --jitter none|full|equal|decorrelated   (default full)
  --retry-on LIST              what is retried (default connect,reset,timeout,408,429,500,502,503,504):
                               status codes, 5xx, connect, reset, timeout
  --retry-non-idempotent       also retry POST/PATCH after the request may have been received
  --retry-after-max DUR        cap on an honoured Retry-After (default 60s)
  --no-retry-after             ignore Retry-After
  --retry-budget RATIO[,MIN]   retries per origin may add at most RATIO of the requests of the last
                               10 s, plus MIN per second (default 0.2,10); a refused retry ends the
                               fetch with its last outcome (reason "budget_exhausted")
  --no-retry-budget            no retry budget
  --circuit-breaker N[,DUR]    after N consecutive failures of an origin, fail fetches to it at once
                               for DUR (default 5s; error "circuit_open", exit 4), then let one
                               probe through (default off)
  --hedge DUR|auto             when an attempt has no response after DUR (auto: the origin's
                               observed p95), send another; the first accepted answer wins and
                               the others are cancelled; idempotent requests only (default off)
  --hedge-max N                attempts in flight at once for one fetch when hedging (default 2;
                               2..5)
Limits:
  --timeout DUR                overall deadline over every attempt and wait (default none)
  --attempt-timeout DUR        one attempt, the whole body included (default 30s)
  --connect-timeout DUR        TCP connect plus TLS handshake (default 10s)
  --stall-timeout DUR          fail the attempt when no body byte arrives for DUR (default none)
  --max-redirects N            redirects followed; 0 = do not follow (default 10)
  --max-body-size BYTES        largest body accepted; suffixes k, M, G are powers of 1024

DUR is a number with a unit: ms, s or m (250ms, 1.5s, 2m). All durations must be positive,
except --backoff-initial.

Retry rules: connect and DNS failures, resets, timeouts and 408/429/500/502/503/504 are retried.
POST and PATCH are retried only after a connect failure (the request never left), unless they carry
an Idempotency-Key header or --retry-non-idempotent is given. A Retry-After wait that would end
after --timeout ends the fetch at once (reason "deadline"). With -o, a retry after a partial body
starts the file over; on stdout, bytes already written cannot be taken back, so such a fetch is not
retried (reason "committed").

Exit codes: 0 success (2xx), 2 invalid input, 3 HTTP status not 2xx or too many redirects,
4 DNS/connect/reset/TLS failure or circuit open (also internal errors, e.g. stdout closed), 5 timeout,
6 body too large, 130 cancelled by SIGINT/SIGTERM.
)";

const std::string_view kServeHelp = R"(Usage: fetchpipe serve [--host H] [--port N]

Runs the fault-injecting test server until SIGINT or SIGTERM (then exits 0). It prints its address
and its endpoints at start. Each request picks its own fault through the path and query string.

  --host H     address to listen on (default 127.0.0.1)
  --port N     port; 0 picks a free one, printed at start (default 0)

Endpoints (any method; every query parameter is optional):
  /fixed                         200 "hello from fetchpipe\n"
  /bytes?n=N&chunked=0|1         200 with N generated bytes (default 1024), Content-Length or chunked
  /status?code=C&retry_after=V   status C, Retry-After V if given
  /flaky?key=K&fail=N&status=S&retry_after=V&fault=reset|truncate|hang
                                 the first N requests for key K fail (status S, default 503, or the
                                 fault), later ones give 200
  /delay?ms=M                    200 after M ms (default 100)
  /hang                          reads the request and never answers
  /reset                         reads the request, then resets the connection
  /truncate?n=N&sent=S           announces N bytes, sends S, then closes
  /drip?n=N&interval_ms=I&chunk=C   C bytes every I ms until N bytes
  /redirect?n=N&code=R&to=P      N redirects with status R, then P (default /fixed)
  /redirect-loop?code=R          redirects to itself forever
  /redirect-to?url=U&code=R      redirects to U
  /echo                          describes the request it received
Exit codes: 0 after SIGINT/SIGTERM, 2 invalid input, 4 cannot listen on the address.
)";

const std::string_view kBenchHelp = R"(Usage: fetchpipe bench [options]

Measures throughput: keeps N fetches in flight (each completion starts the next) through the
fetchpipe client, for a duration or a number of requests, and prints one row per transport and
concurrency: requests, req/s, p50 and p99 latency, errors. Against the embedded fault server's
/fixed on an ephemeral loopback port unless --url is given. No retries: errors are counted.

  --transport curl|httplib|all   (default all)
  --concurrency LIST             comma list, each 1..10000 (default 1,16,64)
  --duration DUR                 per row (default 3s)
  --requests N                   per row, instead of a duration
  --url URL                      fetch this URL instead of the embedded server
  --json                         print the rows as JSON on stdout instead of the table
A progress bar is drawn on stderr when it is a terminal.
)";

const std::string_view kDemoHelp = R"(Usage: fetchpipe demo

A guided tour (under 30 s) against an embedded fault server: a flaky fetch healed by retries,
Retry-After honoured, a hung server cut by the attempt timeout, a cancel, the same flaky fetch on
the httplib transport, and a short throughput table per transport.
)";

const std::string_view kSimulateHelp = R"(Usage: fetchpipe simulate [options]

Runs the real client -- its retry policy, backoff, retry budget, circuit breaker and hedging --
against a simulated server in virtual time: no network, the same output for the same --seed, a
few seconds of real time. Prints one row per configuration: no retries; retries; retries + budget;
retries + budget + breaker (retries + breaker with --no-retry-budget). The tail scenario adds
retries + budget + hedge 50ms (or the --hedge DUR given) and retries + budget + hedge auto; in the
others, --hedge adds one row with it.

Scenarios:
  outage     the server answers 503 to every request from 25% to 75% of the run
  overload   fixed capacity (workers of about 20 ms) and a queue of 1 s of work; offered load 90%
             of capacity with a spike to 200% from 30% to 40% of the run; requests that wait past
             the client's attempt timeout time out, and the server still does their work
  tail       98% of responses take about 10 ms, 2% about 1 s

Options:
  --scenario outage|overload|tail   (default outage)
  --clients N                  client objects, as many machines, each with its own budget and
                               breaker (default 10; 1..1000)
  --rate N/s | N/m             offered fetches over all clients, open loop (default 1000/s)
  --duration DUR               virtual time (default 60s; 1s..10m)
  --seed N                     seed of every random draw (default 1)
  --csv FILE                   the time series: per configuration and 100 ms, offered, attempts,
                               successes, failures, in flight
  --svg FILE                   a chart of it that a browser opens
  --json                       print {"scenario", "seed", "rows": [...]} instead of the table
And the retry, budget and breaker options of `get`: --max-attempts, --backoff-initial,
--backoff-max, --backoff-multiplier, --jitter, --retry-on, --retry-after-max, --no-retry-after,
--timeout, --attempt-timeout (here 1s by default), --retry-budget, --no-retry-budget,
--circuit-breaker (the breaker row uses 5,5s unless given), --hedge, --hedge-max.

Columns: offered fetches; attempts the server saw; amplification (attempts / offered); success %;
p50 / p99 / p99.9 fetch latency; recovery: from the end of the fault until the success rate per
100 ms stays >= 95% ("-": never, or no fault).
Exit codes: 0 after the run, 2 invalid input.
)";

}  // namespace fetchpipe::cli

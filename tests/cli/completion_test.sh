#!/usr/bin/env bash
# The bash completion against the built tool: commands, each command's flags (as its --help lists
# them), values of --transport, and nothing invented. Usage: completion_test.sh TOOL COMPLETION
set -euo pipefail
tool=$1
# shellcheck source=/dev/null
source "$2"
fail=0

complete_line() {  # the words of a command line; the last one is being completed
  COMP_WORDS=("$tool" "$@")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _fetchpipe
  printf '%s\n' "${COMPREPLY[@]}"
}

expect() {  # expect "<what>" "<completions>" word...
  local what=$1 got=$2; shift 2
  local w
  for w in "$@"; do
    if ! grep -qx -- "$w" <<<"$got"; then echo "FAIL: $what: '$w' missing from: $(tr '\n' ' ' <<<"$got")"; fail=1; fi
  done
}

expect "commands" "$(complete_line "")" get serve bench demo --help --version
expect "get flags" "$(complete_line get --)" --max-attempts --timeout --transport --output --json --retry-on
expect "get short flags" "$(complete_line get -)" -o -H -X -d -v
expect "serve flags" "$(complete_line serve --)" --host --port
expect "bench flags" "$(complete_line bench --)" --concurrency --duration --url
expect "transport values" "$(complete_line get --transport "")" curl httplib
got=$(complete_line get --transport c)
[ "$got" = "curl" ] || { echo "FAIL: '--transport c' completed to: $got"; fail=1; }
got=$(complete_line serve --max-a)
[ -z "$got" ] || { echo "FAIL: serve offered a get-only flag: $got"; fail=1; }
[ $fail -eq 0 ] && echo "completion: ok"
exit $fail

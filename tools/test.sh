#!/usr/bin/env bash
# Runs every test against a real Azurite: the one AzureWebJobsStorage names, or a private in-memory one the
# test fixture starts on free loopback ports (and stops). Prints "N passed, N failed" from the real results, and leaves
# no process of the run behind.
set -uo pipefail
cd "$(dirname "$0")/.."

[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund || exit 1
dotnet restore ServerlessFleet.sln || exit 1

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# The run in a session of its own: whatever it leaves behind (a host whose test process was ended before it could stop
# it) is stopped with it. Ctrl+C and SIGTERM are passed on.
session=()
command -v setsid >/dev/null && session=(setsid)
# Everything the local hosts of the run print, so a slow or failed run says what the task hub and workers went through.
export LOCALHOST_LOG="${LOCALHOST_LOG:-$results/hosts.log}"
: > "$LOCALHOST_LOG"
"${session[@]}" dotnet test ServerlessFleet.sln --no-restore --logger "trx;LogFilePrefix=results" --results-directory "$results" "$@" &
run=$!
interrupted=0
trap 'interrupted=1; kill -TERM -- "-$run" 2>/dev/null || kill -TERM "$run" 2>/dev/null' INT TERM
status=0
while true; do
  wait "$run"
  status=$?
  kill -0 "$run" 2>/dev/null || break # a signal ended the wait, not the run
done
trap - INT TERM
[ "$interrupted" -eq 1 ] && status=130 # an interrupted run is never reported as green
[ ${#session[@]} -gt 0 ] && kill -KILL -- "-$run" 2>/dev/null

count() { grep -o "<Counters [^>]*>" "$1" | grep -o " $2=\"[0-9]*\"" | grep -o "[0-9]*" || echo 0; }
passed=0
failed=0
for trx in $(find "$results" -name '*.trx'); do
  passed=$((passed + $(count "$trx" passed)))
  failed=$((failed + $(count "$trx" failed) + $(count "$trx" error) + $(count "$trx" timeout) + $(count "$trx" aborted)))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the run itself failed (build error, crashed host): never report that as green
fi
# The slowest tests, so a suite that grows slower shows where.
for trx in $(find "$results" -name '*.trx'); do
  grep -o '<UnitTestResult [^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*duration="\([^"]*\)".*/\2 \1/p'
done | sort -r | head -15 | sed 's/^/slowest: /'
if [ -s "$LOCALHOST_LOG" ]; then
  hub() { grep -cE "$1" "$LOCALHOST_LOG" || true; }
  echo "local hosts: $(hub 'durable (warning|error)') task-hub warnings or errors, $(hub 'PartitionRemoved|LeaseRenewalFailed') partitions lost," \
    "$(hub 'has not answered in') invocations over 30 s, $(hub 'Starting it again') worker restarts"
  grep -E 'durable (warning|error)|PartitionRemoved|LeaseRenewalFailed|has not answered in' "$LOCALHOST_LOG" | cut -c1-400 | head -20 | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]

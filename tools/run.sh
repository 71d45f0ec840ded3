#!/usr/bin/env bash
# Runs ServerlessFleet locally: Azurite on loopback (data under .azurite/), and the worker under the local Functions host
# on http://127.0.0.1:${FLEET_PORT:-7071} (HTTP functions, queue listeners, timers, orchestrations). Ctrl+C or SIGTERM
# stops all of it. `--verbose` logs every request and the worker's information logs. FLEET_SKIP_BUILD=1 runs what is built.
# The secrets generated on the first run are kept with the data (.azurite/secrets.env), so device tokens and page
# tokens stay valid across restarts; delete .azurite/ to start afresh.
# With Azure Functions Core Tools installed, `cd functions/ServerlessFleet.Functions && func start` runs the same worker
# under the real host instead.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${FLEET_PORT:-7071}"
blob_port="${AZURITE_BLOB_PORT:-10000}" queue_port="${AZURITE_QUEUE_PORT:-10001}" table_port="${AZURITE_TABLE_PORT:-10002}"
data="${FLEET_DATA:-.azurite}"
verbose=()
[ "${1:-}" = "--verbose" ] && verbose=(--verbose)

say() { echo "[run] $*"; }

if [ ! -x node_modules/.bin/azurite ]; then
  say "Installing Azurite (first run only)…"
  npm ci --no-audit --no-fund --silent
fi
if [ "${FLEET_SKIP_BUILD:-}" != "1" ]; then
  say "Building the worker and the local host (the first build restores packages and takes a few minutes)…"
  dotnet build functions/ServerlessFleet.Functions -c Debug --nologo -v quiet
  dotnet build tools/ServerlessFleet.LocalHost -c Debug --nologo -v quiet
fi

mkdir -p "$data"
if [ ! -f "$data/secrets.env" ]; then
  random() { echo "local-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"; }
  { echo "Fleet__BootstrapKey=$(random)"; echo "Fleet__PageTokenKey=$(random)"; echo "Fleet__DeviceTokens__SigningKeys__0=$(random)"; } > "$data/secrets.env"
  chmod 600 "$data/secrets.env"
fi
set -a
# shellcheck disable=SC1091
. "$data/secrets.env"
set +a

pids=()
# shellcheck source=tools/azurite.sh
. tools/azurite.sh
stop() {
  trap - INT TERM EXIT
  # The host first, while storage still answers: its task hub gives up its leases and it stops the worker. It is sent
  # SIGTERM, since a background job of a script starts with SIGINT ignored and .NET keeps it so. Azurite closes on
  # SIGINT (it ignores SIGTERM).
  [ ${#pids[@]} -gt 1 ] && stop_process "${pids[1]}" TERM
  [ ${#pids[@]} -gt 0 ] && stop_process "${pids[0]}" INT
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT
# Each in a session of its own, so Ctrl+C reaches this script alone and stop() ends them in order.
detached=()
command -v setsid >/dev/null && detached=(setsid)

say "Starting Azurite (data in $data/)…"
"${detached[@]}" node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --location "$data" \
  --blobHost 127.0.0.1 --blobPort "$blob_port" --queueHost 127.0.0.1 --queuePort "$queue_port" \
  --tableHost 127.0.0.1 --tablePort "$table_port" > "$data/azurite.log" 2>&1 &
pids+=($!)
# The worker waits for storage that does not answer yet, but it is quieter to start it once Azurite listens.
for storage_port in "$blob_port" "$queue_port" "$table_port"; do
  for _ in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$storage_port") 2>/dev/null && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.2
  done
done

export AzureWebJobsStorage="${AzureWebJobsStorage:-DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;}"
# Devices poll every 10 s locally (300 s by default) so that a change shows at once.
export Fleet__DevicePollSeconds="${Fleet__DevicePollSeconds:-10}"
# Quiet by default: warnings and errors only.
[ ${#verbose[@]} -eq 0 ] && export Logging__LogLevel__Default="${Logging__LogLevel__Default:-Warning}"
[ ${#verbose[@]} -gt 0 ] && export Fleet__LogRequests="${Fleet__LogRequests:-true}"

cat <<MSG
[run] Starting the local Functions host…
ServerlessFleet on http://127.0.0.1:$port  (API reference: http://127.0.0.1:$port/api/docs)
Bootstrap key: $Fleet__BootstrapKey   (kept in $data/secrets.env)
Try:
  curl -s -X POST http://127.0.0.1:$port/api/v1/tenants -H "Authorization: Bearer $Fleet__BootstrapKey" \\
       -H 'Content-Type: application/json' -d '{"tenantId":"acme"}'
MSG
settings=()
[ -f local.settings.json ] && settings=(--settings local.settings.json)
"${detached[@]}" dotnet tools/ServerlessFleet.LocalHost/bin/Debug/net10.0/ServerlessFleet.LocalHost.dll \
  --app functions/ServerlessFleet.Functions/bin/Debug/net10.0 --port "$port" "${settings[@]}" "${verbose[@]}" &
pids+=($!)
# `wait` returns when a signal arrives, so the trap runs at once and stops both.
code=0
wait -n "${pids[@]}" || code=$?
# Either one ending on its own ends the run: say which, so a port in use or a crash is not a silent stop.
if ! kill -0 "${pids[0]}" 2>/dev/null; then
  say "Azurite exited (code $code); its log: $data/azurite.log"
  tail -n 5 "$data/azurite.log" >&2 || true
else
  say "The local host exited (code $code)"
fi
exit "$code"

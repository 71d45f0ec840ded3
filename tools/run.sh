#!/usr/bin/env bash
# Runs ServerlessFleet locally: Azurite on loopback (data under .azurite/), and the worker under the local Functions host
# on http://127.0.0.1:7071 (HTTP functions, queue listeners, timers). Ctrl+C stops all of it.
# With Azure Functions Core Tools installed, `cd functions/ServerlessFleet.Functions && func start` runs the same worker
# under the real host instead.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund
dotnet build functions/ServerlessFleet.Functions -c Debug --nologo -v quiet
dotnet build tools/ServerlessFleet.LocalHost -c Debug --nologo -v quiet

mkdir -p .azurite
node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --location .azurite \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 > .azurite/azurite.log 2>&1 &
azurite_pid=$!
trap 'kill $azurite_pid 2>/dev/null || true' EXIT INT TERM

export AzureWebJobsStorage="${AzureWebJobsStorage:-UseDevelopmentStorage=true}"
export Fleet__BootstrapKey="${Fleet__BootstrapKey:-local-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')}"
export Fleet__PageTokenKey="${Fleet__PageTokenKey:-local-page-token-key}"

cat <<MSG
ServerlessFleet on http://127.0.0.1:7071  (API reference: http://127.0.0.1:7071/api/docs)
Bootstrap key: $Fleet__BootstrapKey
Try:
  curl -s -X POST http://127.0.0.1:7071/api/v1/tenants -H "Authorization: Bearer $Fleet__BootstrapKey" \\
       -H 'Content-Type: application/json' -d '{"tenantId":"acme"}'
MSG
settings=()
[ -f local.settings.json ] && settings=(--settings local.settings.json)
dotnet tools/ServerlessFleet.LocalHost/bin/Debug/net10.0/ServerlessFleet.LocalHost.dll \
  --app functions/ServerlessFleet.Functions/bin/Debug/net10.0 --port 7071 "${settings[@]}"

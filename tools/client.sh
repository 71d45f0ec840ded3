#!/usr/bin/env bash
# Generates a C# client from the app's OpenAPI document with Kiota (dotnet tool, pinned in dotnet-tools.json) and
# compiles it: the document is fetched from the worker running under the local host on a private in-memory Azurite.
# Output: out/client/openapi.json, out/client/src/ (generated), built by tools/ServerlessFleet.Client.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund
dotnet tool restore >/dev/null
dotnet build functions/ServerlessFleet.Functions --nologo -v quiet
dotnet build tools/ServerlessFleet.LocalHost --nologo -v quiet

mkdir -p out/client
# shellcheck source=tools/azurite.sh
. tools/azurite.sh
host=""
# The host first, while storage still answers, so it stops its worker; then Azurite.
trap '[ -n "$host" ] && stop_process "$host" TERM; stop_process "${AZURITE_PID:-}" INT' EXIT
start_azurite out/client/azurite.log
export Fleet__BootstrapKey="client-generation-$(head -c 16 /dev/urandom | base64 | tr -d '/+=')"
: > out/client/host.log
dotnet tools/ServerlessFleet.LocalHost/bin/Debug/net10.0/ServerlessFleet.LocalHost.dll \
  --app functions/ServerlessFleet.Functions/bin/Debug/net10.0 --port 0 > out/client/host.log 2>&1 &
host=$!
address=""
for _ in $(seq 1 120); do
  address=$(sed -n 's|.*\[host\] Host started: \(http://[^ ]*\).*|\1|p' out/client/host.log | head -n 1)
  [ -n "$address" ] || ! kill -0 "$host" 2>/dev/null && break
  sleep 1
done
[ -n "$address" ] || { echo "The local host did not start:"; tail -20 out/client/host.log; exit 1; }

for _ in $(seq 1 120); do
  python3 -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' \
    "$address/api/openapi/v1.json" out/client/openapi.json 2>/dev/null && break
  sleep 1
done
[ -s out/client/openapi.json ] || { echo "The OpenAPI document could not be fetched from $address:"; tail -20 out/client/host.log; exit 1; }

# Kiota looks for updates online; this machine may have no route there.
export KIOTA_UPDATE_ENABLED=false KIOTA_TUTORIAL_ENABLED=false KIOTA_OFFLINE_ENABLED=true
dotnet kiota generate -l CSharp -d out/client/openapi.json -o out/client/src -c FleetApiClient -n ServerlessFleet.Client \
  --clean-output --log-level Error
dotnet build tools/ServerlessFleet.Client --nologo -v quiet
echo "Client: $(find out/client/src -name '*.cs' | wc -l) generated files compiled (tools/ServerlessFleet.Client)"

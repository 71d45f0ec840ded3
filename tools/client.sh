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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
blob=$(free_port); queue=$(free_port); table=$(free_port); http=$(free_port)
mkdir -p out/client
node_modules/.bin/azurite --silent --inMemoryPersistence --disableTelemetry --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" --tableHost 127.0.0.1 --tablePort "$table" \
  > out/client/azurite.log 2>&1 &
pids=$!
trap 'kill $pids 2>/dev/null || true' EXIT INT TERM
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
export Fleet__BootstrapKey="client-generation-$(head -c 16 /dev/urandom | base64 | tr -d '/+=')"
dotnet tools/ServerlessFleet.LocalHost/bin/Debug/net10.0/ServerlessFleet.LocalHost.dll \
  --app functions/ServerlessFleet.Functions/bin/Debug/net10.0 --port "$http" > out/client/host.log 2>&1 &
pids="$pids $!"

for _ in $(seq 1 120); do
  python3 -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' \
    "http://127.0.0.1:$http/api/openapi/v1.json" out/client/openapi.json 2>/dev/null && break
  sleep 1
done
[ -s out/client/openapi.json ] || { echo "The OpenAPI document could not be fetched:"; tail -20 out/client/host.log; exit 1; }

# Kiota looks for updates online; this machine may have no route there.
export KIOTA_UPDATE_ENABLED=false KIOTA_TUTORIAL_ENABLED=false KIOTA_OFFLINE_ENABLED=true
dotnet kiota generate -l CSharp -d out/client/openapi.json -o out/client/src -c FleetApiClient -n ServerlessFleet.Client \
  --clean-output --log-level Error
dotnet build tools/ServerlessFleet.Client --nologo -v quiet
echo "Client: $(find out/client/src -name '*.cs' | wc -l) generated files compiled (tools/ServerlessFleet.Client)"

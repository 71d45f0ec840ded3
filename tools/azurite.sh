# Sourced by the scripts that start Azurite and the local host. `start_azurite LOG` starts a throw-away Azurite in memory
# on loopback ports it picks itself (port 0, named in its log: ports chosen first and bound later can be taken in
# between), waits until it listens and exports AzureWebJobsStorage for it. `stop_process PID SIGNAL` ends a process,
# killing it after 10 s.

stop_process() {
  local pid=$1 signal=$2
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
}

start_azurite() {
  local log=$1 service
  node --max-old-space-size=6144 node_modules/azurite/dist/src/azurite.js --silent --inMemoryPersistence --disableTelemetry \
    --skipApiVersionCheck --loose --blobHost 127.0.0.1 --blobPort 0 --queueHost 127.0.0.1 --queuePort 0 \
    --tableHost 127.0.0.1 --tablePort 0 > "$log" 2>&1 &
  AZURITE_PID=$!
  for _ in $(seq 1 150); do
    [ -n "$(azurite_endpoint "$log" Blob)" ] && [ -n "$(azurite_endpoint "$log" Queue)" ] && [ -n "$(azurite_endpoint "$log" Table)" ] && break
    kill -0 "$AZURITE_PID" 2>/dev/null || break
    sleep 0.2
  done
  for service in Blob Queue Table; do
    [ -n "$(azurite_endpoint "$log" "$service")" ] || { echo "Azurite did not start its $service service:"; cat "$log"; return 1; }
  done
  local key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=$(azurite_endpoint "$log" Blob)/devstoreaccount1;QueueEndpoint=$(azurite_endpoint "$log" Queue)/devstoreaccount1;TableEndpoint=$(azurite_endpoint "$log" Table)/devstoreaccount1;"
}

azurite_endpoint() { sed -n "s|^Azurite $2 service is successfully listening at \(http://[^ ]*\).*|\1|p" "$1" | head -n 1; }

#!/usr/bin/env bash
# Builds the deployable function app: the isolated worker's publish output (functions.metadata, worker.config.json,
# extensions.json, .azurefunctions/, host.json), zipped for a zip deployment.
# Output: out/functionapp/ and out/serverlessfleet-functionapp.zip.
set -euo pipefail
cd "$(dirname "$0")/.."

out=out/functionapp
rm -rf "$out" out/serverlessfleet-functionapp.zip
dotnet publish functions/ServerlessFleet.Functions -c Release -o "$PWD/$out" --nologo -v quiet
python3 -c 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])' out/serverlessfleet-functionapp "$out"
echo "Function app: $out ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/functions.metadata") functions), zip: out/serverlessfleet-functionapp.zip"

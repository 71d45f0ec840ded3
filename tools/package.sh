#!/usr/bin/env bash
# Builds the deployable function app: host.json, one <FunctionName>/function.json per declared function
# (written by the handler itself from its routes and triggers), and the handler published self-contained
# for linux-x64 under bin/. Output: out/functionapp/ and out/serverlessfleet-functionapp.zip.
set -euo pipefail
cd "$(dirname "$0")/.."

out=out/functionapp
rm -rf "$out" out/serverlessfleet-functionapp.zip
dotnet publish functions/ServerlessFleet.Functions -c Release -r linux-x64 --self-contained true \
  -p:PublishDir="$PWD/$out/bin/" --nologo -v quiet
cp host.json "$out/host.json"
"$out/bin/ServerlessFleet.Functions" --write-function-app "$out"

if command -v zip >/dev/null 2>&1; then
  (cd "$out" && zip -qr ../serverlessfleet-functionapp.zip .)
else
  python3 -m zipfile -c out/serverlessfleet-functionapp.zip "$out"/*
fi
echo "Function app: $out ($(find "$out" -name function.json | wc -l) functions), zip: out/serverlessfleet-functionapp.zip"

#!/usr/bin/env bash
# Installs what is needed, builds, generates today's synthetic extracts for the improvement-plan
# deployment, starts local stand-ins for its notification peers (a mail catcher and a webhook
# catcher on loopback, scripts/stand-ins.py) and runs the daemon on it in the foreground.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
BUILD_DIR=build bash scripts/build.sh

example=examples/improvement-plan
today=$(date +%F)
./build/casewatch-gen --profile la --as-of "$today" --seed 1 --out "$example/data"
./build/casewatch check -c "$example/casewatch.toml"

inbox=$(pwd)/build/example-inbox
rm -rf "$inbox"
/usr/bin/python3 scripts/stand-ins.py "$inbox" --smtp-port 2525 --http-port 9798 &
stand_ins=$!
trap 'kill $stand_ins 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  [ -d "$inbox/webhooks" ] && break
  sleep 0.1
done

cat <<EOT

casewatch is starting on the example deployment (synthetic data as of $today).
  status page:  http://127.0.0.1:9797/
  alerts API:   http://127.0.0.1:9797/api/v1/alerts
  metrics:      http://127.0.0.1:9797/metrics
Within a minute the notifications arrive (each file is printed as it lands):
  team emails:                  $inbox/mail/
  Teams card, Alertmanager:     $inbox/webhooks/
Stop it with Ctrl-C.

EOT
./build/casewatch run -c "$example/casewatch.toml"

#!/usr/bin/env bash
# Installs what is needed, builds, generates today's synthetic extracts for the improvement-plan
# deployment and runs the daemon on it in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
BUILD_DIR=build bash scripts/build.sh

example=examples/improvement-plan
today=$(date +%F)
./build/casewatch-gen --profile la --as-of "$today" --seed 1 --out "$example/data"
./build/casewatch check -c "$example/casewatch.toml"

cat <<EOT

casewatch is starting on the example deployment (synthetic data as of $today).
  status page:  http://127.0.0.1:9797/
  alerts API:   http://127.0.0.1:9797/api/v1/alerts
  metrics:      http://127.0.0.1:9797/metrics
Stop it with Ctrl-C.

EOT
exec ./build/casewatch run -c "$example/casewatch.toml"

#!/usr/bin/env bash
# promtool on casewatch's Prometheus rules: syntax and lint, their unit tests, and the example
# scrape config that loads them. ctest runs it as prometheus_rules; run it after editing
# prometheus/.
set -euo pipefail
cd "$(dirname "$0")/../prometheus"
if ! command -v promtool >/dev/null; then
  echo "promtool not installed (scripts/setup.sh installs Debian's prometheus)" >&2
  exit 1
fi
promtool check rules casewatch.rules.yml
promtool test rules tests/*.yml
promtool check config prometheus.example.yml

#!/usr/bin/env bash
# systemd-analyze verify on the shipped unit, with ExecStart pointing at the binary just built
# (verify checks that the command exists), plus its offline security score.
set -euo pipefail
unit=$1
binary=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/casewatch|$binary|" "$unit" > "$tmp/casewatch.service"
output=$(systemd-analyze verify "$tmp/casewatch.service" 2>&1) || { echo "$output"; exit 1; }
if [ -n "$output" ]; then echo "$output"; exit 1; fi
score=$(systemd-analyze security --offline=yes "$tmp/casewatch.service" 2>&1 | grep -o 'Overall exposure level for casewatch.service: [0-9.]*' | grep -o '[0-9.]*$')
echo "verify: OK; exposure level $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'  # "OK" or better on systemd's scale

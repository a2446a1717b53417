#!/usr/bin/env bash
# casewatch(1) from the command line's own --help texts (help2man), so the man page cannot drift
# from the options: the top-level help, every command's help, and man/casewatch.h2m's sections.
#   scripts/man.sh BINARY INCLUDE OUTPUT
set -euo pipefail
binary=$1
include=$2
output=$3
commands=$(mktemp)
trap 'rm -f "$commands"' EXIT
roff() { sed -e 's/\\/\\e/g' -e "s/^[.']/\\\\\\&&/"; }
{
  echo "[COMMANDS]"
  for command in check eval test backtest run hash-password "state backup" "state restore"; do
    echo ".SS casewatch $command"
    # The command's own help without its first line (the summary is the section's text).
    $binary $command --help | head -n 1 | roff
    echo ".PP"
    echo ".nf"
    # Without the footer every command repeats (DATE, exit codes: their own sections here).
    $binary $command --help | tail -n +2 | sed '/^DATE:/,$d' | roff
    echo ".fi"
  done
} > "$commands"
help2man --no-info --no-discard-stderr --section=1 --source="casewatch" \
  --name="timescale and caseload alerts for children's social care" \
  --version-string="$($binary --version | awk '{print $2}')" \
  --include="$include" --include="$commands" "$binary" > "$output.tmp"
mv "$output.tmp" "$output"

#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#   1. the normal build's ctest (unit tests, command tests, the example's rule tests);
#   2. the unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer;
#   3. a short libFuzzer run of each parser (CSV, expressions).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/setup.sh

echo "== build and test"
BUILD_DIR=build bash scripts/build.sh
ctest --test-dir build -j"$jobs" --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DCASEWATCH_SANITIZE=ON -DCASEWATCH_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure

echo "== fuzz the parsers"
CC=clang CXX=clang++ BUILD_DIR=build-fuzz BUILD_TYPE=RelWithDebInfo BUILD_TARGETS="csv_fuzz expr_fuzz differential_fuzz" \
  bash scripts/build.sh -DCASEWATCH_FUZZ=ON -DCASEWATCH_BENCH=OFF
fuzz_seconds=${FUZZ_SECONDS:-30}
for target in csv expr differential; do
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/$target/* "$corpus"/
  ./build-fuzz/tests/fuzz/${target}_fuzz -max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=0 "$corpus" 2>&1 | tail -n 2
  rm -rf "$corpus"
done
echo "all tests passed"

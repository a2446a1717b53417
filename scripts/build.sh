#!/usr/bin/env bash
# Configures and builds casewatch into build/ (or $BUILD_DIR); extra arguments go to cmake.
# BUILD_TARGETS: only these ninja targets (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# ccache hits across clones of the tree (CI's clean clone, a second checkout).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
# shellcheck disable=SC2086
ninja -C "$build_dir" -j"$(nproc)" ${BUILD_TARGETS:-}

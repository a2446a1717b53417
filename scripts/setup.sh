#!/usr/bin/env bash
# Installs everything casewatch needs to build and test, from Debian's packages only.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libhowardhinnant-date-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev libcpp-httplib-dev nlohmann-json3-dev libre2-dev
  libsqlite3-dev sqlite3 libcurl4-openssl-dev libpq-dev libsystemd-dev libssl-dev libcrypt-dev
  prometheus-cpp-dev
  time
  # the Debian package and its man page (scripts/package.sh)
  debhelper lintian help2man
  # real peers for the integration tests
  python3 python3-jsonschema prometheus chromium chromium-driver python3-selenium prometheus-alertmanager python3-aiosmtpd openssl
  postgresql
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

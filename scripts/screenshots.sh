#!/bin/sh
# Remakes docs/screenshots/: the status page and a team page at 390 px (a phone) and 1366 px, from
# tests/integration/test_phone_layout.py's data set (synthetic), in headless Chromium.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/tests/integration"
CASEWATCH_SCREENSHOTS="$root/docs/screenshots" CASEWATCH_BINARY="${CASEWATCH_BINARY:-$root/build/casewatch}" \
  /usr/bin/python3 -m unittest test_phone_layout.PhoneLayoutTest.test_both_pages_at_phone_and_desktop_widths

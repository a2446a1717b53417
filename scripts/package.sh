#!/usr/bin/env bash
# Builds the Debian package dist/casewatch_<version>_<arch>.deb and checks it with lintian.
#   scripts/package.sh [--no-build]
# The package is made with debhelper from the tree scripts/build.sh builds (BUILD_DIR, default
# build/), so the binary packaged is the binary tested. Install it with
#   sudo dpkg -i dist/casewatch_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
if [ "${1:-}" != "--no-build" ]; then
  bash scripts/setup.sh
  BUILD_DIR=$build_dir bash scripts/build.sh
fi
[ -x "$build_dir/casewatch" ] || { echo "package.sh: $build_dir/casewatch is missing: run scripts/build.sh" >&2; exit 1; }
version=$(dpkg-parsechangelog -S Version)
built=$("$build_dir/casewatch" --version | awk '{print $2}')
if [ "$version" != "$built" ]; then
  echo "package.sh: debian/changelog says $version, the build says $built: add a changelog entry" >&2
  exit 1
fi
mkdir -p dist
rm -f dist/casewatch_*.deb dist/casewatch-dbgsym_*
# No separate debug-symbols package unless asked (DEB_BUILD_OPTIONS without noddebs).
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-noddebs}
export BUILD_DIR=$build_dir
debian/rules clean >/dev/null
debian/rules binary >/dev/null
debian/rules clean >/dev/null
deb=$(ls dist/casewatch_"$version"_*.deb)
# Errors fail the package; warnings are printed.
lintian --fail-on error --suppress-tags-from-file debian/lintian-suppressed "$deb"
echo "$deb"

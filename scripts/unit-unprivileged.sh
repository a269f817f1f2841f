#!/usr/bin/env bash
# Runs the unit tests as an unprivileged user (nobody): `setpriv --reuid=65534 --regid=65534
# --clear-groups`. The suite must pass there exactly as it does as root: the drivers see root
# through a fake privileges seam, never through geteuid() (ARCHITECTURE.md, "Seams").
# The test binary and the fixtures are copied to a world-readable directory first, since the
# checkout may sit below a directory nobody can't enter (/root).
# Usage: scripts/unit-unprivileged.sh [BUILD_DIR] [gtest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
if [ "$(id -u)" -ne 0 ]; then  # already unprivileged
  exec "$build/tests/unit/gpucr_unit_tests" --gtest_brief=1 "$@"
fi
stage=$(mktemp -d /tmp/gpucr-unprivileged.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$build/tests/unit/gpucr_unit_tests" "$stage/"
cp -r tests/fixtures "$stage/fixtures"
chmod -R a+rX "$stage"
cd /tmp
setpriv --reuid=65534 --regid=65534 --clear-groups \
  env GPUCR_TEST_FIXTURES="$stage/fixtures" TMPDIR=/tmp "$stage/gpucr_unit_tests" --gtest_brief=1 "$@"

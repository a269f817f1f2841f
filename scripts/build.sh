#!/usr/bin/env bash
# Configures and builds gpucr into BUILD_DIR (default: build). Extra arguments go to cmake.
#   scripts/build.sh                      release build with -Werror, tests included
#   BUILD_DIR=build-asan scripts/build.sh -DGPUCR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
# NINJA_JOBS (default: the number of CPUs) limits parallel compile jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DGPUCR_WERROR=ON "$@" >/dev/null
fi
ninja -C "$build" -j "${NINJA_JOBS:-$(nproc)}" ${NINJA_TARGETS:-}

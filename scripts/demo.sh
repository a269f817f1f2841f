#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds gpucr, and runs its main job on the built-in
# demo workload: checkpoint, kill, restore, verify, phase timings (GPU when present, CPU otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/src/cli/gpucr demo "$@"

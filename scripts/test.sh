#!/usr/bin/env bash
# Quick start 2: installs what is missing, then runs the whole test suite:
#   1. warning-clean build (-Wall -Wextra -Werror), the layering check (scripts/check-layering.py:
#      no include crosses the layers ARCHITECTURE.md states) and the unit tests, as root and
#      again as an unprivileged user;
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   2b. fuzzing (bounded): every parser of outside input under libFuzzer with ASan+UBSan, a few
#      seconds each (scripts/fuzz.sh, docs/FUZZING.md; GPUCR_FUZZ_SECONDS, default 10);
#   3. the integration tests (pytest) against the real binary, with real criu, runc, podman,
#      containerd and cgroups. They need root. With GPUCR_REQUIRE_ALL=1 (set by .ci/run) a test
#      whose requirement is missing fails instead of skipping;
#   4. the container integration tests again, inside a Debian unstable root holding the current
#      engines (podman 5, containerd 2, runc 1.3, crun, criu 4.2, checkpointctl), built and
#      entered by tests/hosts/sid-root.sh (docs/ENGINES.md). The same binary runs there.
# Arguments are passed to pytest (e.g. -k restore). Debian's python3 (with python3-pytest) is used
# explicitly: a python3 earlier in PATH (pyenv, a venv) may lack pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== build (-Werror), layering check and unit tests"
scripts/build.sh
/usr/bin/python3 scripts/check-layering.py
ctest --test-dir build --output-on-failure -j"$(nproc)"

echo "== unit tests as an unprivileged user"
scripts/unit-unprivileged.sh build

echo "== unit tests under ASan + UBSan"
BUILD_DIR=build-asan BUILD_TYPE=Debug NINJA_TARGETS=gpucr_unit_tests scripts/build.sh -DGPUCR_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-asan/tests/unit/gpucr_unit_tests --gtest_brief=1

echo "== fuzzing (bounded)"
# clang-14 build of build-fuzz/, then each harness on a scratch copy of its seed corpus, as many
# side by side as there are CPUs; any crash, leak or timeout fails (docs/FUZZING.md).
FUZZ_SECONDS="${GPUCR_FUZZ_SECONDS:-10}" FUZZ_JOBS="$(nproc)" scripts/fuzz.sh

echo "== integration tests"
if [ "$(id -u)" -ne 0 ]; then
  echo "integration tests need root (criu, cgroups, containers)" >&2
  exit 1
fi
GPUCR_BUILD_DIR="$PWD/build" /usr/bin/python3 -m pytest -ra -p no:cacheprovider tests/integration "$@"

echo "== integration tests against current engines (Debian unstable root)"
t0=$SECONDS
tests/hosts/sid-root.sh build
echo "sid root ready in $((SECONDS - t0)) s"
# The root shares this repository and build dir at the same paths; the environment (with
# GPUCR_REQUIRE_ALL) is passed on.
GPUCR_BUILD_DIR="$PWD/build" GPUCR_REQUIRE_ALL="${GPUCR_REQUIRE_ALL:-}" tests/hosts/sid-root.sh run -- \
  /usr/bin/python3 -m pytest -ra -p no:cacheprovider tests/integration/test_containers_*.py "$@"

#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, docs/FUZZING.md) into build-fuzz/ with clang-14
# (-fsanitize=fuzzer-no-link,address,undefined for all of gpucr, -fsanitize=fuzzer for each
# harness), then runs each harness for a bounded time under ASan+UBSan (leak checking on), on a
# scratch copy of its seed corpus (tests/fuzz/corpus/NAME/), so runs never grow the repository.
# Any crash, sanitizer report, leak, timeout or out-of-memory fails the script; the input that
# did it is kept in build-fuzz/fuzz-artifacts/NAME/ with the command that reproduces it.
#
#   scripts/fuzz.sh [options] [HARNESS...]       (default: every harness of tests/fuzz/CMakeLists.txt)
#     --seconds N     run each harness N seconds (default: $FUZZ_SECONDS, else 20)
#     --runs N        run each harness for N inputs instead, with no time limit (the long mode:
#                     --runs 1000000 for the runs recorded in docs/FUZZING.md)
#     --jobs N        harnesses run side by side (default: $FUZZ_JOBS, else 1)
#     --build-only    build, run nothing
#     --make-corpus   (re)write the seed corpora with the generator (tests/fuzz/make_corpus.cpp)
#     --list          print the harness names
# Environment: ASAN_OPTIONS (detect_leaks=1:quarantine_size_mb=16: a smaller quarantine than
# ASan's 256 MiB makes allocation-heavy harnesses about a third faster), BUILD_DIR (build-fuzz),
# NINJA_JOBS (number of CPUs), FUZZ_TIMEOUT (seconds one input may take, 10), FUZZ_RSS_MB (2048),
# FUZZ_SCRATCH (where scratch copies go: /dev/shm when writable, else /tmp).
# Output: one line per harness: executions, executions per second, corpus growth, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

seconds=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-1}
build_only=0
make_corpus=0
list=0
names=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --make-corpus) make_corpus=1; shift ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done

build=${BUILD_DIR:-build-fuzz}
for tool in clang-14 clang++-14; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: $tool is missing; scripts/install-deps.sh installs it (clang-14, libclang-rt-14-dev)" >&2
    exit 4
  fi
done

# ccache: the same objects whatever folder the repository is cloned in.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$repo} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
t0=$SECONDS
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGPUCR_FUZZ=ON \
    -DGPUCR_BUILD_TESTS=OFF -DGPUCR_WERROR=ON >/dev/null
fi
targets=(fuzz_harnesses)
((make_corpus)) && targets+=(fuzz_make_corpus)
if ! ninja -C "$build" -j "${NINJA_JOBS:-$(nproc)}" "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
  grep -v '^\[' "$build/fuzz-build.log" >&2
  echo "fuzz.sh: build failed (log: $build/fuzz-build.log)" >&2
  exit 1
fi
echo "fuzz.sh: built in $((SECONDS - t0)) s ($build)"

mapfile -t all < "$build/fuzz-harnesses.txt"
if ((list)); then printf '%s\n' "${all[@]}"; exit 0; fi
if ((make_corpus)); then
  "$build/tests/fuzz/fuzz_make_corpus" tests/fuzz/corpus
  echo "fuzz.sh: seeds written to tests/fuzz/corpus/ ($(du -sh tests/fuzz/corpus | cut -f1))"
  exit 0
fi
((build_only)) && exit 0
((${#names[@]})) || names=("${all[@]}")
for n in "${names[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$n" ] || { echo "fuzz.sh: no harness $n (--list names them)" >&2; exit 2; }
done

if [ -n "${FUZZ_SCRATCH:-}" ]; then base=$FUZZ_SCRATCH
elif [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm
else base=${TMPDIR:-/tmp}; fi
scratch=$(mktemp -d "$base/gpucr-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
artifacts=$repo/$build/fuzz-artifacts

# One harness: prints its summary line; exit status 0 when clean.
run_one() {
  local n=$1 dir=$scratch/$1
  mkdir -p "$dir/corpus" "$dir/tmp" "$dir/out"
  if [ -d "tests/fuzz/corpus/$n" ]; then cp -r "tests/fuzz/corpus/$n/." "$dir/corpus/"; fi
  local seeds
  seeds=$(find "$dir/corpus" -type f | wc -l)
  local limit=(-max_total_time="$seconds")
  [ -n "$runs" ] && limit=(-runs="$runs")
  local extra=()  # tests/fuzz/NAME.flags: libFuzzer flags of one harness (e.g. -entropic=0)
  [ -f "tests/fuzz/$n.flags" ] && read -r -a extra <"tests/fuzz/$n.flags"
  local start=$SECONDS rc=0
  TMPDIR=$dir/tmp GPUCR_FUZZ_FIXTURES=$repo/tests/fixtures ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$build/tests/fuzz/fuzz_$n" "${limit[@]}" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -print_final_stats=1 -artifact_prefix="$dir/out/" "${extra[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  local took=$((SECONDS - start))
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$dir/log" | tail -1)
  execs=${execs:-0}
  local grown
  grown=$(find "$dir/corpus" -type f | wc -l)
  local found
  found=$(find "$dir/out" -type f | wc -l)
  local rate=$((execs / (took > 0 ? took : 1)))
  if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
    printf '%-32s ok      %10s execs in %4d s (%6d/s), corpus %d -> %d, crashes 0\n' "fuzz_$n" "$execs" "$took" "$rate" "$seeds" "$grown"
    return 0
  fi
  local what
  what=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+( [a-z-]+)?|runtime error: .*|FUZZ_CHECK failed: .*|terminate called .*' "$dir/log" || true)
  mkdir -p "$artifacts/$n"
  cp "$dir/log" "$artifacts/$n/log"
  local a
  for a in "$dir/out"/*; do [ -f "$a" ] && cp "$a" "$artifacts/$n/"; done
  printf '%-32s FAILED  %10s execs in %4d s, crashes %d (exit %d): %s\n' "fuzz_$n" "$execs" "$took" "$found" "$rc" "${what:-see log}"
  printf '  log and inputs: %s/%s/; reproduce: %s/tests/fuzz/fuzz_%s INPUT\n' "$build/fuzz-artifacts" "$n" "$build" "$n"
  return 1
}

mode="${seconds} s each"
[ -n "$runs" ] && mode="$runs runs each"
echo "fuzz.sh: ${#names[@]} harnesses, $mode, $jobs at a time (scratch $scratch)"
failed=0
if ((jobs <= 1)); then
  for n in "${names[@]}"; do run_one "$n" || failed=$((failed + 1)); done
else
  # Side by side: each job writes its line to a file; lines are printed in harness order.
  running=0
  for n in "${names[@]}"; do
    (if run_one "$n" >"$scratch/$n.line"; then echo 0; else echo 1; fi >"$scratch/$n.rc") &
    running=$((running + 1))
    if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
  done
  wait
  for n in "${names[@]}"; do
    cat "$scratch/$n.line"
    [ "$(cat "$scratch/$n.rc")" = 0 ] || failed=$((failed + 1))
  done
fi
echo "fuzz.sh: $((${#names[@]} - failed)) passed, $failed failed in $((SECONDS - t0)) s (build included)"
((failed == 0))

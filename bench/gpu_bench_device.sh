#!/usr/bin/env bash
# The GPU benchmark as run on the device machine, whose commands may last 10 minutes at most:
#   start: builds the workload (tests/gpu/run.sh's build), starts bench/gpu_bench.py detached
#          (REPS repetitions, default 1, of the scenarios given, default gpu_bench.py's), then
#          follows its log for up to $FOLLOW_S seconds;
#   follow: follows the same run until it ends or $FOLLOW_S pass.
# Results: $OUT/gpu_bench.log (progress lines, then the Markdown table), $OUT/gpu_bench.json.
# usage: bench/gpu_bench_device.sh start [REPS [K:G[:METHODS]...]] | follow
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpucr-bench-out}
RUN=/tmp/gpucr-bench-run
FOLLOW_S=${FOLLOW_S:-540}
# The run uses its own copy of the bundle: the device tool refreshes the working tree at each
# call, and a gpucr whose binary is replaced under it can't hand criu its post-dump hook.
export PATH="$RUN/bundle/bin:$PATH"
export GPUCR_CRIU_ALT="$RUN/bundle/criu-alt/bin"  # gpu_bench.py's gpucr-criu-alt method
if [ -d "$RUN/bundle/lib" ] && ! ldconfig -p 2>/dev/null | grep -q 'libarchive\.so\.13 '; then
  export LD_LIBRARY_PATH="$RUN/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # scripts/bundle.sh
fi
mkdir -p "$OUT" "$RUN"
if [ "$1" = start ]; then
  rm -rf "$RUN"/*; cp -a bundle "$RUN/bundle"
  mkdir -p /tmp/gpucr-gpu
  nvcc -O2 -o /tmp/gpucr-gpu/gpu_workload tests/gpu/gpu_workload.cu -lcuda || exit 1
  { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; date -u +%FT%TZ; } >"$RUN/device.txt"
  rm -f "$RUN/done"
  reps=${2:-1}; shift 2 2>/dev/null || shift $#
  args=(--workload /tmp/gpucr-gpu/gpu_workload --reps "$reps" --out "$RUN/gpu_bench.json")
  [ $# -gt 0 ] && args+=(--scenario "$@")
  # argv, no shell string: the run outlives this command (setsid), its exit status goes to done
  setsid nohup bash -c 'python3 bench/gpu_bench.py "$@" >"$0/gpu_bench.log" 2>&1; echo $? >"$0/done"' \
    "$RUN" "${args[@]}" </dev/null >/dev/null 2>&1 &
fi
end=$((SECONDS + FOLLOW_S))
while [ ! -e "$RUN/done" ] && [ $SECONDS -lt $end ]; do sleep 5; done
cp "$RUN"/* "$OUT"/ 2>/dev/null
cat "$RUN/device.txt" "$RUN/gpu_bench.log"
[ -e "$RUN/done" ] && echo "benchmark ended: exit $(cat "$RUN/done")" || echo "benchmark still running"

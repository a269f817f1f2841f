#!/bin/bash
# Asks a REAL driver (a GPU machine) the questions whose answers the fakes hard-code, with the same
# ctypes caller the self-tests use (tests/integration/fakecuda_call.py), and prints one line per
# answer. Compare with README.md. Needs nvcc, python3 and libcuda.so.1/libnvidia-ml.so.1.
#   tests/fakes/parity_check.sh [OUT_DIR]
set -u
cd "$(dirname "$0")/../.."
out=${1:-/tmp/fakecuda-parity}
mkdir -p "$out"
call() { echo "$*: $(timeout 20 python3 tests/integration/fakecuda_call.py "$@" 2>&1 | tail -1)"; }
nvcc -O2 -o "$out/app" tests/gpu/probe/app.cu || exit 1
"$out/app" 64 > "$out/app.out" & A=$!
python3 -c 'import ctypes,time; ctypes.CDLL("libcuda.so.1").cuInit(0); time.sleep(600)' & I=$!
sleep 600 & S=$!
sleep 3
echo "pids: app=$A cuinit-only=$I sleep=$S"
call version; call errors
call state "$A"; call tid "$A"; call state "$I"; call tid "$I"; call state "$S"; call tid "$S"; call state 0
call lock "$I"; call unlock "$I"
call lock "$A" --dirty; call state "$A"
call lock "$A" --null-args; call state "$A"
echo "nvml locked: $(python3 tests/integration/fakecuda_call.py nvml)"
call checkpoint "$A" --dirty; call checkpoint "$A"
echo "nvidia fds after checkpoint: $(ls -l /proc/$A/fd | grep -c nvidia)"
echo "nvml checkpointed: $(python3 tests/integration/fakecuda_call.py nvml)"
call restore "$A" --dirty --init; call restore "$A" --init; call unlock "$A" --dirty
call unlock "$A"; call state "$A"
tool=$(command -v cuda-checkpoint || find / -name cuda-checkpoint -type f -perm -u+x \
  -not -path '/proc/*' 2>/dev/null | head -1)
if [ -n "$tool" ]; then
  echo "tool: $tool"
  "$tool" --help > "$out/help.txt" 2>&1; echo "help rc=$? flags: $(grep -o -- '--[a-z-]*' "$out/help.txt" | sort -u | tr '\n' ' ')"
  for args in "--get-state --pid $A" "--get-state --pid $S" "--action unlock --pid $A" \
              "--action lock --pid $A" "--get-restore-tid --pid $A" "--action unlock --pid $A" \
              "--bogus"; do
    "$tool" $args > "$out/o" 2> "$out/e"; rc=$?
    echo "tool $args: rc=$rc stdout=[$(tr '\n' '|' < "$out/o")] stderr=[$(tr '\n' '|' < "$out/e")]"
  done
fi
kill $A $I $S

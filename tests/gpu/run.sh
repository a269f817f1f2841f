#!/usr/bin/env bash
# GPU tests, run on the device machine (an H100/H200 with the NVIDIA driver) from the repo root:
#   scripts/bundle.sh here, carry bundle/, then on the device: bash tests/gpu/run.sh [SCENARIO...]
# Scenarios (default: all but remap and archive): single tool thp two leave frozen container
# pytorch demo (tool: single through NVIDIA's cuda-checkpoint binary; thp: single 8 GiB with
# --thp-window);
# remap needs two GPUs; archive (export/import) moves GPUCR_ARCHIVE_GIB GiB (default 8) through an
# archive file on disk (zstd, and uncompressed) and through a pipe, timed against the plain
# image-directory round trip (GPUCR_ARCHIVE_MODES picks among plain file file-none pipe).
# Each prints PASS/FAIL lines; logs and a summary go to $OUT (or /tmp/gpucr-gpu-out).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ -f bundle/env.sh ]; then . bundle/env.sh; else export PATH="$PWD/bundle/bin:$PATH"; fi
OUT=${OUT:-/tmp/gpucr-gpu-out}
mkdir -p "$OUT"
W=/tmp/gpucr-gpu
rm -rf "$W"; mkdir -p "$W"
IMG=${GPUCR_GPU_IMAGES:-/dev/shm/gpucr-gpu}
results=()

log() { echo "[$(date +%T)] $*"; }
pass() { results+=("PASS $1"); log "PASS $1"; }
failed() { results+=("FAIL $1: $2"); log "FAIL $1: $2"; }
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null; }  # kv FILE KEY
wait_kv_ge() { # FILE KEY VALUE TIMEOUT_S
  local t=0
  while [ "$t" -lt $(($4 * 10)) ]; do
    local v; v=$(kv "$1" "$2"); [ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
    sleep 0.1; t=$((t + 1))
  done
  return 1
}
state_of() { gpucr __cuda-call get-state --pid "$1" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
fresh() { rm -rf "$IMG"; }

build() {
  nvcc -O2 -o "$W/gpu_workload" tests/gpu/gpu_workload.cu -lcuda >"$OUT/nvcc.log" 2>&1 || { cat "$OUT/nvcc.log"; exit 1; }
}

# checkpoint (kill), restore, verify: counter continues, 0 corrupt, state running.
# scenario_single [GIB [NAME [gpucr options...]]]
scenario_single() {
  local gib=${1:-4} name=${2:-single} st="$W/single.status"
  shift 2 2>/dev/null || shift $#
  local extra=("$@")
  setsid "$W/gpu_workload" --gib "$gib" --status "$st" --idle-child </dev/null >"$OUT/$name.log" 2>&1 &
  local pid=$!
  wait_kv_ge "$st" counter 5 60 || { failed "$name" "workload did not start"; return; }
  fresh
  gpucr checkpoint --pid "$pid" --image-dir "$IMG" "${extra[@]}" >"$OUT/$name.ckpt" 2>&1 || { failed "$name" "checkpoint: $(tail -3 "$OUT/$name.ckpt")"; kill -9 -- -"$pid"; return; }
  local dumped; dumped=$(kv "$st" counter)
  wait "$pid" 2>/dev/null
  gpucr restore --image-dir "$IMG" --detach "${extra[@]}" >"$OUT/$name.rst" 2>&1 || { failed "$name" "restore: $(tail -3 "$OUT/$name.rst")"; return; }
  local rpid; rpid=$(sed -n 's/.*root pid \([0-9]*\).*/\1/p' "$OUT/$name.rst")
  wait_kv_ge "$st" counter $((dumped + 5)) 60 || { failed "$name" "restored workload does not count"; kill -9 "$rpid"; return; }
  local corrupt; corrupt=$(kv "$st" corrupt); local s; s=$(state_of "$rpid")
  kill -9 -- -"$rpid" 2>/dev/null; kill -9 "$rpid" 2>/dev/null
  if [ "$corrupt" = 0 ] && [ "$s" = running ]; then
    pass "$name ${gib}GiB: counter $dumped -> $(kv "$st" counter), 0 corrupted words of $(kv "$st" bytes) bytes, state $s"
  else
    failed "$name" "corrupt=$corrupt state=$s"
  fi
  cat "$OUT/$name.ckpt" "$OUT/$name.rst"
}

# The same through NVIDIA's cuda-checkpoint binary (bundle/bin/cuda-checkpoint, scripts/bundle.sh)
# instead of the driver API: the `tool` backend, for checkpoint and restore.
scenario_tool() {
  local tool; tool=$(command -v cuda-checkpoint) || { failed tool "no cuda-checkpoint on PATH (scripts/bundle.sh carries it)"; return; }
  scenario_single 4 tool --cuda-backend tool --cuda-checkpoint "$tool"
}

# The huge-page staging window (--thp-window): THP `always` while the GPU state is staged and
# criu runs, the host's mode back after the checkpoint and after the restore.
scenario_thp() {
  local f=/sys/kernel/mm/transparent_hugepage/enabled before after
  before=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$f")
  scenario_single 8 thp --thp-window
  after=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$f")
  if [ "$before" = "$after" ]; then pass "thp: host mode $before before and after"; else failed thp "host mode $before before, $after after"; fi
  grep -E 'THP window|gpu checkpoint|criu (dump|restore)|gpu restore' "$OUT/thp.ckpt" "$OUT/thp.rst"
}

# A tree of two CUDA processes under a non-CUDA parent.
scenario_two() {
  local st="$W/two.status"
  setsid "$W/gpu_workload" --gib 2 --status "$st" --spawn 2 </dev/null >"$OUT/two.log" 2>&1 &
  local pid=$!
  wait_kv_ge "$st.0" counter 5 60 && wait_kv_ge "$st.1" counter 5 60 || { failed two "workloads did not start"; return; }
  fresh
  gpucr checkpoint --pid "$pid" --image-dir "$IMG" >"$OUT/two.ckpt" 2>&1 || { failed two "checkpoint: $(tail -3 "$OUT/two.ckpt")"; kill -9 -- -"$pid"; return; }
  local d0 d1; d0=$(kv "$st.0" counter); d1=$(kv "$st.1" counter)
  wait "$pid" 2>/dev/null
  gpucr restore --image-dir "$IMG" --detach >"$OUT/two.rst" 2>&1 || { failed two "restore: $(tail -3 "$OUT/two.rst")"; return; }
  local rpid; rpid=$(sed -n 's/.*root pid \([0-9]*\).*/\1/p' "$OUT/two.rst")
  if wait_kv_ge "$st.0" counter $((d0 + 5)) 60 && wait_kv_ge "$st.1" counter $((d1 + 5)) 60 &&
     [ "$(kv "$st.0" corrupt)" = 0 ] && [ "$(kv "$st.1" corrupt)" = 0 ]; then
    pass "two processes x 2GiB: counters $d0,$d1 -> $(kv "$st.0" counter),$(kv "$st.1" counter), 0 corrupted words"
  else
    failed two "restored workloads: $(cat "$st.0" "$st.1")"
  fi
  kill -9 -- -"$rpid" 2>/dev/null; pkill -9 -f "$W/gpu_workload"
  cat "$OUT/two.ckpt" "$OUT/two.rst"
}

# --leave-running: keeps running (RUNNING), then the image restores after a kill.
scenario_leave() {
  local st="$W/leave.status"
  setsid "$W/gpu_workload" --gib 2 --status "$st" </dev/null >"$OUT/leave.log" 2>&1 &
  local pid=$!
  wait_kv_ge "$st" counter 5 60 || { failed leave "workload did not start"; return; }
  fresh
  gpucr checkpoint --pid "$pid" --image-dir "$IMG" --leave-running >"$OUT/leave.ckpt" 2>&1 || { failed leave "checkpoint: $(tail -3 "$OUT/leave.ckpt")"; kill -9 -- -"$pid"; return; }
  local after; after=$(kv "$st" counter)
  # Keeps counting well past the checkpoint, so the restored counter is visibly the older one.
  wait_kv_ge "$st" counter $((after + 30)) 30 && [ "$(state_of "$pid")" = running ] || { failed leave "not running after --leave-running"; kill -9 -- -"$pid"; return; }
  local at_kill; at_kill=$(kv "$st" counter)
  kill -9 -- -"$pid"; wait "$pid" 2>/dev/null
  gpucr restore --image-dir "$IMG" --detach >"$OUT/leave.rst" 2>&1 || { failed leave "restore: $(tail -3 "$OUT/leave.rst")"; return; }
  local rpid; rpid=$(sed -n 's/.*root pid \([0-9]*\).*/\1/p' "$OUT/leave.rst")
  local t=0 c=""
  while [ $t -lt 100 ]; do c=$(kv "$st" counter); [ -n "$c" ] && [ "$c" -lt "$at_kill" ] && break; sleep 0.05; t=$((t + 1)); done
  if [ -n "$c" ] && [ "$c" -lt "$at_kill" ] && wait_kv_ge "$st" counter $((c + 3)) 30 && [ "$(kv "$st" corrupt)" = 0 ]; then
    pass "leave-running 2GiB: kept running (RUNNING, counter $after -> $at_kill), image restored at counter $c, 0 corrupted"
  else
    failed leave "after restore: $(cat "$st")"
  fi
  kill -9 -- -"$rpid" 2>/dev/null; kill -9 "$rpid" 2>/dev/null
  cat "$OUT/leave.ckpt"
}

scenario_pytorch() {
  python3 tests/gpu/train.py --log "$W/ref.log" --steps 120 --step-sleep 0.05 >"$OUT/train-ref.out" 2>&1 || { failed pytorch "reference run failed"; return; }
  setsid python3 tests/gpu/train.py --log "$W/ckpt.log" --steps 120 --step-sleep 0.05 </dev/null >"$OUT/train-ckpt.out" 2>&1 &
  local pid=$!
  local t=0; until grep -q '^step 40 ' "$W/ckpt.log" 2>/dev/null; do sleep 0.05; t=$((t + 1)); [ $t -gt 2400 ] && break; done
  fresh
  gpucr checkpoint --pid "$pid" --image-dir "$IMG" >"$OUT/train.ckpt" 2>&1 || { failed pytorch "checkpoint: $(tail -3 "$OUT/train.ckpt")"; kill -9 "$pid"; return; }
  local at; at=$(grep -c '^step' "$W/ckpt.log")
  wait "$pid" 2>/dev/null
  gpucr restore --image-dir "$IMG" >"$OUT/train.rst" 2>&1   # foreground: waits for the run to end
  local rc=$?
  if [ $rc -eq 0 ] && cmp -s "$W/ref.log" "$W/ckpt.log"; then
    pass "pytorch: checkpointed at step $((at - 1)), restored; $(grep -c '^step' "$W/ckpt.log") losses bit-identical to the uninterrupted run, $(tail -1 "$W/ckpt.log")"
  else
    failed pytorch "rc=$rc; diff: $(diff "$W/ref.log" "$W/ckpt.log" | head -5)"
  fi
  cat "$OUT/train.ckpt" "$OUT/train.rst"
}

scenario_demo() {
  if gpucr demo >"$OUT/demo.out" 2>&1 && grep -q 'demo: OK' "$OUT/demo.out" && grep -q '(GPU)' "$OUT/demo.out"; then
    pass "demo (GPU): $(grep downtime "$OUT/demo.out")"
  else
    failed demo "$(tail -5 "$OUT/demo.out")"
  fi
  cat "$OUT/demo.out"
}

# A frozen cgroup v2 (what CRI-O/containerd do before checkpoint): gpucr thaws it for the GPU
# steps, criu runs in interrupt-only mode, and the cgroup ends frozen again. The real driver would
# hang on any call to a frozen process.
scenario_frozen() {
  local cg=/sys/fs/cgroup/gpucr-gpu-test st="$W/frozen.status"
  rmdir "$cg" 2>/dev/null; mkdir "$cg" || { failed frozen "cannot create $cg"; return; }
  setsid sh -c "echo \$\$ > $cg/cgroup.procs && exec $W/gpu_workload --gib 2 --status $st" </dev/null >"$OUT/frozen.log" 2>&1 &
  local pid=$!
  wait_kv_ge "$st" counter 5 60 || { failed frozen "workload did not start"; return; }
  echo 1 > "$cg/cgroup.freeze"; sleep 0.5
  local before; before=$(kv "$st" counter)
  fresh
  gpucr checkpoint --pid "$pid" --image-dir "$IMG" --leave-running >"$OUT/frozen.ckpt" 2>&1 || { failed frozen "checkpoint: $(tail -3 "$OUT/frozen.ckpt")"; echo 0 > "$cg/cgroup.freeze"; kill -9 "$pid"; return; }
  local frozen_after; frozen_after=$(sed -n 's/^frozen //p' "$cg/cgroup.events")
  sleep 0.5
  local still; still=$(kv "$st" counter)
  echo 0 > "$cg/cgroup.freeze"
  local s; s=$(state_of "$pid")
  if [ "$frozen_after" = 1 ] && [ "$s" = running ] && wait_kv_ge "$st" counter $((still + 3)) 30 &&
     [ "$(kv "$st" corrupt)" = 0 ] && grep -q "thawed" "$OUT/frozen.ckpt"; then
    pass "frozen cgroup: thawed for the GPU steps, frozen again after (frozen=$frozen_after), counter $before..$still while frozen, RUNNING and counting after thaw"
  else
    failed frozen "frozen_after=$frozen_after state=$s status=$(cat "$st")"
  fi
  kill -9 "$pid"; wait "$pid" 2>/dev/null; sleep 0.2; rmdir "$cg" 2>/dev/null
  cat "$OUT/frozen.ckpt"
}

# A runc container with the CUDA workload: paused + --leave-running, then checkpoint and restore
# through the runtime (tests/gpu/container.py). Needs runc (the bundle carries Debian 12's).
scenario_container() {
  command -v runc >/dev/null || { failed container "no runc in PATH (scripts/bundle.sh copies one)"; return; }
  python3 tests/gpu/container.py --workload "$W/gpu_workload" --images "$IMG" --out "$OUT" --gib 2 >"$OUT/container.out" 2>&1
  cat "$OUT/container.out"
  while read -r line; do
    case "$line" in PASS\ *) pass "${line#PASS }" ;; FAIL\ *) failed container "${line#FAIL }" ;; esac
  done < <(grep -E '^(PASS|FAIL) ' "$OUT/container.out")
  grep -qE '^(PASS|FAIL) ' "$OUT/container.out" || failed container "no result: $(tail -3 "$OUT/container.out")"
}

# Two GPUs: restore onto the other GPU with --device-map (index shorthand, completed to a swap).
scenario_remap() {
  local n; n=$(nvidia-smi -L | wc -l)
  [ "$n" -ge 2 ] || { failed remap "needs 2 GPUs, found $n"; return; }
  local st="$W/remap.status"
  CUDA_VISIBLE_DEVICES=0 setsid "$W/gpu_workload" --gib 2 --status "$st" </dev/null >"$OUT/remap.log" 2>&1 &
  local pid=$!
  wait_kv_ge "$st" counter 5 60 || { failed remap "workload did not start"; return; }
  local before; before=$(nvidia-smi --query-compute-apps=pid,gpu_uuid --format=csv,noheader | awk -F', ' -v p="$pid" '$1==p{print $2}')
  fresh
  gpucr checkpoint --pid "$pid" --image-dir "$IMG" >"$OUT/remap.ckpt" 2>&1 || { failed remap "checkpoint: $(tail -3 "$OUT/remap.ckpt")"; kill -9 -- -"$pid"; return; }
  local dumped; dumped=$(kv "$st" counter)
  wait "$pid" 2>/dev/null
  gpucr restore --image-dir "$IMG" --detach --device-map 0=1 >"$OUT/remap.rst" 2>&1 || { failed remap "restore: $(tail -5 "$OUT/remap.rst")"; return; }
  local rpid; rpid=$(sed -n 's/.*root pid \([0-9]*\).*/\1/p' "$OUT/remap.rst")
  wait_kv_ge "$st" counter $((dumped + 5)) 60
  local after; after=$(nvidia-smi --query-compute-apps=pid,gpu_uuid --format=csv,noheader | awk -F', ' -v p="$rpid" '$1==p{print $2}')
  if [ -n "$after" ] && [ "$after" != "$before" ] && [ "$(kv "$st" corrupt)" = 0 ]; then
    pass "remap: $before -> $after with --device-map 0=1, counter $dumped -> $(kv "$st" counter), 0 corrupted"
  else
    failed remap "before=$before after=$after status=$(cat "$st")"
  fi
  kill -9 "$rpid" 2>/dev/null
  cat "$OUT/remap.rst"
}

# export/import: a job with GIB GiB of patterned device memory goes (1) through a plain image
# directory (the baseline), (2) `--export FILE` to an archive on disk and `--import FILE`, (3)
# `--export - | --import -` with no archive at all; each time killed, restored, verified (counter
# on, 0 corrupted words, state running), timed. Images and archives go to GPUCR_ARCHIVE_DIR (on
# disk, default /var/tmp/gpucr-gpu-archive), also the private directories ($TMPDIR).
archive_times=()
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Starts the workload outside this shell (its pid must become free for the restore without our
# `wait`: init reaps it), waits for it to count; prints its pid.
archive_workload() { # MODE GIB
  local st="$W/archive-$1.status"
  rm -f "$st"
  ( setsid "$W/gpu_workload" --gib "$2" --status "$st" </dev/null >"$OUT/archive-$1.log" 2>&1 & )
  wait_kv_ge "$st" counter 5 300 || return 1
  kv "$st" pid
}

pid_free() { # PID: until init reaped it (criu restores the job under its old pid)
  local t=0
  while [ -e "/proc/$1" ] && [ $t -lt 300 ]; do sleep 0.02; t=$((t + 1)); done
}

archive_round() { # MODE GIB DIR
  local mode=$1 gib=$2 dir=$3 st="$W/archive-$1.status" pid t0 t1 tw t2 rc=0
  pid=$(archive_workload "$mode" "$gib") || { failed "archive $mode" "workload did not start"; return; }
  rm -rf "${dir:?}"/*
  t0=$(now)
  case $mode in
    plain)
      gpucr checkpoint --pid "$pid" --image-dir "$dir/img" >"$OUT/archive-$mode.ckpt" 2>&1 || rc=$?
      t1=$(now); pid_free "$pid"; tw=$(now)
      [ $rc = 0 ] && { gpucr restore --image-dir "$dir/img" --detach >"$OUT/archive-$mode.rst" 2>&1 || rc=$?; } ;;
    file|file-none)  # file-none: the same uncompressed (--compress none), what zstd costs
      local arc=$dir/job.tar.zst comp=()
      [ "$mode" = file-none ] && { arc=$dir/job.tar; comp=(--compress none); }
      TMPDIR=$dir gpucr checkpoint --pid "$pid" --export "$arc" "${comp[@]}" >"$OUT/archive-$mode.ckpt" 2>&1 || rc=$?
      t1=$(now); pid_free "$pid"; tw=$(now)
      [ $rc = 0 ] && { TMPDIR=$dir gpucr restore --import "$arc" --detach >"$OUT/archive-$mode.rst" 2>&1 || rc=$?; } ;;
    pipe)
      TMPDIR=$dir gpucr checkpoint --pid "$pid" --export - 2>"$OUT/archive-$mode.ckpt" |
        TMPDIR=$dir gpucr restore --import - --detach >"$OUT/archive-$mode.rst" 2>&1
      rc=$(( PIPESTATUS[0] | PIPESTATUS[1] ))
      t1=$t0; tw=$t0 ;;
  esac
  t2=$(now)
  if [ "$rc" != 0 ]; then
    failed "archive $mode" "rc=$rc: $(tail -3 "$OUT/archive-$mode.ckpt" "$OUT/archive-$mode.rst" 2>/dev/null | tr '\n' ' ')"
    kill -9 "$pid" 2>/dev/null; return
  fi
  local dumped rpid size corrupt s
  dumped=$(sed -n 's/.*archive written to .*: [a-z]*, [0-9]* members, \(.*\)$/\1/p' "$OUT/archive-$mode.ckpt")
  rpid=$(sed -n 's/.*root pid \([0-9]*\).*/\1/p' "$OUT/archive-$mode.rst")
  local at; at=$(kv "$st" counter)
  if wait_kv_ge "$st" counter $((at + 5)) 120; then
    corrupt=$(kv "$st" corrupt); s=$(state_of "$rpid")
  fi
  kill -9 "$rpid" 2>/dev/null
  size=$(du -ch "$dir"/job.tar* 2>/dev/null | tail -1 | cut -f1); [ "$size" = 0 ] && size=
  local line
  if [ "$mode" = pipe ]; then  # both ends at once; includes init reaping the killed job
    line="pipe: checkpoint | restore $(secs "$t0" "$t2") s"
  else  # the wait for init to reap the killed job is not counted
    line="$mode: checkpoint $(secs "$t0" "$t1") s, restore $(secs "$tw" "$t2") s, total"
    line+=" $(awk -v a="$t0" -v b="$t1" -v c="$tw" -v d="$t2" 'BEGIN { printf "%.2f", (b - a) + (d - c) }') s"
    line+=" (+$(secs "$t1" "$tw") s until init reaped the job)"
  fi
  line+="${size:+, archive $size}${dumped:+, data $dumped}"
  archive_times+=("$line")
  if [ "$corrupt" = 0 ] && [ "$s" = running ]; then
    pass "archive $mode ${gib}GiB: $line; counter on ($at -> $(kv "$st" counter)), 0 corrupted words of $(kv "$st" bytes) bytes, state $s"
  else
    failed "archive $mode" "corrupt=$corrupt state=$s status=$(cat "$st")"
  fi
  grep -E 'write archive|read archive|extract archive|criu (dump|restore)|gpu (checkpoint|restore)' \
    "$OUT/archive-$mode.ckpt" "$OUT/archive-$mode.rst" 2>/dev/null
}

scenario_archive() {
  local gib=${GPUCR_ARCHIVE_GIB:-8} dir=${GPUCR_ARCHIVE_DIR:-/var/tmp/gpucr-gpu-archive}
  mkdir -p "$dir"
  archive_times=()
  for mode in ${GPUCR_ARCHIVE_MODES:-plain file file-none pipe}; do archive_round "$mode" "$gib" "$dir"; done
  log "export/import timings, ${gib} GiB (images and archives in $dir):"
  printf '  %s\n' "${archive_times[@]}" | tee "$OUT/archive-times.txt"
  rm -rf "$dir"
}

build
gpucr check | tee "$OUT/check.txt"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(single tool thp two leave frozen container pytorch demo)
if [ ${#@} -eq 0 ] && [ "$(nvidia-smi -L | wc -l)" -lt 2 ]; then
  log "skipped: remap (restore onto the other GPU) needs two GPUs; this machine has $(nvidia-smi -L | wc -l)"
fi
for s in "${scenarios[@]}"; do
  log "== $s"
  "scenario_$s"
done
fresh
printf '%s\n' "${results[@]}" | tee "$OUT/summary.txt"
! printf '%s\n' "${results[@]}" | grep -q '^FAIL'

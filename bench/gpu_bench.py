#!/usr/bin/env python3
"""GPU benchmark (run on the device machine; bench/gpu_bench_device.sh builds the workload and
starts it): gpucr against the sequence CRIU's cuda plugin performs, in one run.

Methods (each: checkpoint a tree of K CUDA processes x G GiB, kill nothing, restore, verify the
device memory word by word and the counters going on):
  plugin-like     for each process one after another: lock, checkpoint; criu dump; criu restore;
                  for each process one after another: restore, unlock (gpucr's `__cuda-call`
                  helper: the driver API, one process per call)
  plugin-tool     the same sequence through NVIDIA's cuda-checkpoint binary, one call per step
  gpucr           gpucr checkpoint + gpucr restore --detach (all processes in parallel)
  gpucr+thp       the same with --thp-window (THP `always` while GPU state is staged and criu runs)
  gpucr-tool      gpucr with --cuda-backend tool (NVIDIA's cuda-checkpoint binary)
  gpucr-criu-alt  gpucr with a second criu first in PATH (bundle/criu-alt, e.g. 4.1.1)
  gpucr-v4        gpucr with --criu-log-level 4
All use the same criu (but gpucr-criu-alt), the same host settings (THP as the host has it, except
inside gpucr+thp's window) and the same image directory on /dev/shm, unless the method's name ends
in a placement (criu's image placement is one of issue 12's levers):
  METHOD@huge     images on a tmpfs of their own mounted with huge=always (the harness mounts it
                  at /tmp/gpucr-bench-huge for the run and unmounts it after; /dev/shm is huge=never)
  METHOD@disk     images in /var/tmp (the machine's disk)

Downtime: from the first lock to the image complete (GPU checkpoint + criu dump), plus from the
restore's start to the last unlock (gpucr: the whole restore command). Per phase, medians over
--reps. Every run records the device, the host's THP mode, the criu version, and criu's own
statistics of the image (stats-dump, stats-restore: freezing, frozen, memdump, memwrite, pages).

usage: gpu_bench.py --workload PATH [--reps N] [--out FILE] [--scenario K:G[:METHOD[@PLACE],...] ...]
       (default scenarios: 1:8 4:6 2:8 1:16, each with plugin-like, gpucr, gpucr+thp)
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

IMG = "/dev/shm/gpucr-bench"  # the current run's image directory (run_placed() moves it)
HUGE_MNT = "/tmp/gpucr-bench-huge"
PLACES = {"shm": IMG, "huge": HUGE_MNT + "/img", "disk": "/var/tmp/gpucr-bench"}
THP = "/sys/kernel/mm/transparent_hugepage/enabled"
ALT_CRIU = os.environ.get("GPUCR_CRIU_ALT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bundle",
                                                           "criu-alt", "bin")
DEFAULT_METHODS = "plugin-like,gpucr,gpucr+thp"
PHASES = ("gpu checkpoint", "criu dump", "criu restore", "gpu restore")


def sh(*argv, check=True, env=None):
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return r


def thp_mode():
    try:
        text = open(THP).read()
        return text[text.index("[") + 1:text.index("]")]
    except (OSError, ValueError):
        return "unknown"


def criu_version(env=None):
    out = sh("criu", "--version", check=False, env=env).stdout
    return next((l.split()[1] for l in out.splitlines() if l.startswith("Version:")), "unknown")


def status(path):
    try:
        return dict(t.split("=", 1) for t in open(path).read().split())
    except (FileNotFoundError, ValueError):
        return {}


def start(workload, k, gib, st):
    for i in range(k):  # the previous repetition's status files would pass for a started workload
        for f in (f"{st}.{i}", f"{st}.{i}.tmp"):
            if os.path.exists(f):
                os.unlink(f)
    p = subprocess.Popen([workload, "--gib", str(gib), "--status", st, "--spawn", str(k)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if all(int(status(f"{st}.{i}").get("counter", 0)) >= 3 for i in range(k)):
            return p
        time.sleep(0.1)
    raise RuntimeError("workload did not start")


def children(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        out += [int(c) for c in open(f"/proc/{pid}/task/{tid}/children").read().split()]
    return sorted(out)


def api_call(op, pid):
    r = sh("gpucr", "__cuda-call", op, "--pid", str(pid))
    reply = json.loads(r.stdout.strip().splitlines()[-1])
    if reply["result"] != 0:
        raise RuntimeError(f"{op} {pid}: {reply}")


def tool_call(op, pid):
    sh("cuda-checkpoint", "--action", op, "--pid", str(pid))


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def verify_and_kill(k, st, root):
    deadline = time.monotonic() + 120
    base = {i: int(status(f"{st}.{i}").get("counter", 0)) for i in range(k)}
    while time.monotonic() < deadline:
        if all(int(status(f"{st}.{i}").get("counter", 0)) >= base[i] + 3 for i in range(k)):
            break
        time.sleep(0.1)
    bad = [status(f"{st}.{i}") for i in range(k) if status(f"{st}.{i}").get("corrupt") != "0"]
    for pid in [root] + children(root):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if bad or any(int(status(f"{st}.{i}").get("counter", 0)) < base[i] + 3 for i in range(k)):
        raise RuntimeError(f"workload not intact after restore: {[status(f'{st}.{i}') for i in range(k)]}")


def reap_until_free(pids):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.01)


def criu_stats(env=None):
    """criu's stats-dump and stats-restore of the image, as `gpucr inspect --json` reads them."""
    doc = json.loads(sh("gpucr", "inspect", "--json", IMG, env=env).stdout)
    out = {}
    for key in ("dump_stats", "restore_stats"):
        for name, v in (doc.get(key) or {}).items():
            out[f"{key[:-6]} {name}"] = float(v) / 1e6 if name.endswith("_time") else float(v)
    return out


def run_plugin_like(workload, k, gib, st, call=api_call):
    p = start(workload, k, gib, st)
    procs = children(p.pid)
    shutil.rmtree(IMG, ignore_errors=True)
    os.makedirs(IMG, mode=0o700)
    t = {}
    t["gpu checkpoint"] = timed(lambda: [call(op, pid) for pid in procs for op in ("lock", "checkpoint")])
    t["criu dump"] = timed(lambda: sh("criu", "dump", "--tree", str(p.pid), "--images-dir", IMG, "--log-file", "dump.log"))
    p.wait()
    reap_until_free([p.pid] + procs)
    t["criu restore"] = timed(lambda: sh("criu", "restore", "--images-dir", IMG, "--restore-detached",
                                          "--log-file", "restore.log", "--pidfile", IMG + "/pid"))
    t["gpu restore"] = timed(lambda: [call(op, pid) for pid in procs for op in ("restore", "unlock")])
    t["downtime"] = sum(t.values())
    t["total"] = t["downtime"]
    t.update(criu_stats())
    verify_and_kill(k, st, int(open(IMG + "/pid").read()))
    return t


def run_gpucr(workload, k, gib, st, extra=(), env=None):
    p = start(workload, k, gib, st)
    procs = children(p.pid)
    shutil.rmtree(IMG, ignore_errors=True)
    mode_before = thp_mode()
    t0 = time.monotonic()
    ck = json.loads(sh("gpucr", "checkpoint", "--pid", str(p.pid), "--image-dir", IMG, "--json", *extra, env=env).stdout)
    t_ck = time.monotonic() - t0
    p.wait()
    reap_until_free([p.pid] + procs)
    if thp_mode() != mode_before:
        raise RuntimeError(f"THP mode {thp_mode()} after the checkpoint, {mode_before} before")
    t1 = time.monotonic()
    rs = json.loads(sh("gpucr", "restore", "--image-dir", IMG, "--detach", "--json", *extra, env=env).stdout)
    t_rs = time.monotonic() - t1
    if thp_mode() != mode_before:
        raise RuntimeError(f"THP mode {thp_mode()} after the restore, {mode_before} before")
    ph = {x["name"]: x["seconds"] for x in ck["phases"] + rs["phases"]}
    t = {"gpu checkpoint": ph["gpu lock"] + ph["gpu checkpoint"], "criu dump": ph["criu dump"],
         "criu restore": ph["criu restore"], "gpu restore": ph["gpu restore"] + ph["gpu unlock"]}
    t["downtime"] = t["gpu checkpoint"] + t["criu dump"] + t_rs
    t["total"] = t_ck + t_rs
    t["gpucr other"] = t["total"] - sum(t[n] for n in PHASES)
    for name in ("open THP window", "close THP window"):
        if name in ph:
            t[name] = ph[name]
    t.update(criu_stats(env))
    verify_and_kill(k, st, rs["root_pid"])
    return t


def alt_env():
    env = dict(os.environ)
    env["PATH"] = os.path.abspath(ALT_CRIU) + ":" + env["PATH"]
    return env


METHODS = {
    "plugin-like": lambda *a: run_plugin_like(*a),
    "plugin-tool": lambda *a: run_plugin_like(*a, call=tool_call),
    "gpucr": lambda *a: run_gpucr(*a),
    "gpucr+thp": lambda *a: run_gpucr(*a, extra=("--thp-window",)),
    "gpucr-tool": lambda *a: run_gpucr(*a, extra=("--cuda-backend", "tool", "--cuda-checkpoint",
                                                  shutil.which("cuda-checkpoint") or "cuda-checkpoint")),
    "gpucr-criu-alt": lambda *a: run_gpucr(*a, env=alt_env()),
    "gpucr-v4": lambda *a: run_gpucr(*a, extra=("--criu-log-level", "4")),
}


def run_placed(method, workload, k, gib, st):
    """METHODS[name] with its images where METHOD@PLACE says (PLACES)."""
    global IMG
    name, _, place = method.partition("@")
    mounted = False
    if place == "huge":
        os.makedirs(HUGE_MNT, exist_ok=True)
        size = int(k * gib * 1.2) + 4  # the image is a little more than the GPU memory
        sh("mount", "-t", "tmpfs", "-o", f"size={size}G,huge=always,mode=0700", "tmpfs", HUGE_MNT)
        mounted = True
    IMG = PLACES[place or "shm"]
    try:
        return METHODS[name](workload, k, gib, st)
    finally:
        shutil.rmtree(IMG, ignore_errors=True)
        IMG = PLACES["shm"]
        if mounted:
            sh("umount", HUGE_MNT, check=False)


def tool_startup(workload, st):
    """What one cuda-checkpoint invocation costs here: --get-state on a running 1 GiB process."""
    if not shutil.which("cuda-checkpoint"):
        return None
    p = start(workload, 1, 1, st)
    pid = children(p.pid)[0]
    times = [timed(lambda: sh("cuda-checkpoint", "--get-state", "--pid", str(pid))) for _ in range(5)]
    api = [timed(lambda: sh("gpucr", "__cuda-call", "get-state", "--pid", str(pid))) for _ in range(5)]
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    return {"cuda-checkpoint --get-state": times, "gpucr __cuda-call get-state": api}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--scenario", nargs="*", default=["1:8", "4:6", "2:8", "1:16"])
    ap.add_argument("--out", default="/tmp/gpu_bench.json")
    ap.add_argument("--no-warmup", action="store_true")
    a = ap.parse_args()
    info = {"thp host mode": thp_mode(), "criu": criu_version(),
            "criu-alt": criu_version(alt_env()) if os.path.isdir(ALT_CRIU) else None,
            "device": sh("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader",
                         check=False).stdout.strip(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print("run:", json.dumps(info), flush=True)
    raw = {"info": info, "scenarios": {}}
    ts = tool_startup(a.workload, "/tmp/gpucr-bench-tool.status")
    if ts:
        raw["tool startup"] = ts
        print("tool start-up (s): " + "; ".join(f"{n}: median {statistics.median(v):.3f} of {len(v)}"
                                               for n, v in ts.items()), flush=True)
    if not a.no_warmup:
        # On the device the first round after the machine started ran every phase about 5x faster
        # than all later ones (two runs of 2026-11-22), a state no later round sees.
        run_plugin_like(a.workload, 1, 2, "/tmp/gpucr-bench-warmup.status")
        print("warm-up round done", flush=True)
    for sc in a.scenario:
        parts = sc.split(":")
        k, gib = int(parts[0]), float(parts[1])
        methods = (parts[2] if len(parts) > 2 else DEFAULT_METHODS).split(",")
        st = f"/tmp/gpucr-bench-{k}x{gib:g}.status"
        res = {m: [] for m in methods}
        for rep in range(a.reps):
            for m in methods:
                try:
                    r = run_placed(m, a.workload, k, gib, st)
                except Exception as e:  # one failing method must not lose the others' numbers
                    print(f"{k}x{gib:g}GiB rep {rep} {m}: FAILED {e}", flush=True)
                    subprocess.run(["pkill", "-9", "-f", a.workload])
                    continue
                r["thp"] = thp_mode()
                res[m].append(r)
                print(f"{k}x{gib:g}GiB rep {rep} {m}: " + ", ".join(
                    f"{n} {v:.2f}" if isinstance(v, float) else f"{n} {v}" for n, v in r.items()), flush=True)
        raw["scenarios"][sc] = res
        json.dump(raw, open(a.out, "w"), indent=1)  # after each scenario: a cut-off run keeps its data
        print_table(k, gib, res)
    shutil.rmtree(IMG, ignore_errors=True)


def med(runs, key):
    vals = [float(r[key]) for r in runs if key in r]  # protobuf's JSON writes 64-bit counts as strings
    return statistics.median(vals) if vals else float("nan")


def print_table(k, gib, res):
    cols = PHASES + ("downtime", "total")
    print(f"\n| {k} x {gib:g} GiB | method | " + " | ".join(cols) + " | criu frozen | criu memdump | criu memwrite | pages written |")
    print("|---|---|" + "---|" * (len(cols) + 4))
    for m, runs in res.items():
        if not runs:
            print(f"| | {m} | failed |")
            continue
        print(f"| | {m} | " + " | ".join(f"{med(runs, c):.2f}" for c in cols) +
              f" | {med(runs, 'dump frozen_time'):.2f} | {med(runs, 'dump memdump_time'):.2f} "
              f"| {med(runs, 'dump memwrite_time'):.2f} | {med(runs, 'dump pages_written'):.0f} |")
    base = res.get("plugin-like")
    if base:
        for m, runs in res.items():
            if m == "plugin-like" or not runs:
                continue
            print(f"| | plugin-like / {m} | " + " | ".join(f"{med(base, c) / med(runs, c):.2f}x" for c in cols) + " | | | | |")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

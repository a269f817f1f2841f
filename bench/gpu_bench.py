#!/usr/bin/env python3
"""GPU benchmark (run on the device machine, after tests/gpu/run.sh built the workload):
gpucr against the sequence CRIU's cuda plugin performs, in one run.

  plugin-like: for each process one after another: lock, checkpoint; criu dump;
               criu restore; for each process one after another: restore, unlock
  gpucr:       gpucr checkpoint (lock all in parallel, checkpoint all in parallel, criu dump)
               gpucr restore --detach (criu restore, restore all in parallel, unlock all in parallel)
  gpucr -v4:   the same with --criu-log-level 4 (criu's debug lines; gpucr's default is 2, as criu's)

Both use the same driver calls (gpucr's `__cuda-call` helper, one process per call), the same
criu binary and the same image directory on /dev/shm. Each scenario: K processes x G GiB
(gpu_workload --spawn K), repetitions alternate the two methods. Prints a Markdown table of
medians and writes the raw numbers as JSON.

usage: gpu_bench.py --workload /tmp/gpucr-gpu/gpu_workload [--reps N] [--out FILE]
       [--scenario K:G ...]   (default 1:4 2:8 4:6)
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
from concurrent.futures import ThreadPoolExecutor

IMG = "/dev/shm/gpucr-bench"


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


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
    deadline = time.monotonic() + 120
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


def cuda_call(op, pid):
    r = sh("gpucr", "__cuda-call", op, "--pid", str(pid))
    reply = json.loads(r.stdout.strip().splitlines()[-1])
    if reply["result"] != 0:
        raise RuntimeError(f"{op} {pid}: {reply}")


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def verify_and_kill(k, st, root):
    deadline = time.monotonic() + 60
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
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.01)


def run_plugin_like(workload, k, gib, st):
    p = start(workload, k, gib, st)
    procs = children(p.pid)
    shutil.rmtree(IMG, ignore_errors=True)
    os.makedirs(IMG, mode=0o700)
    t = {}
    t["gpu checkpoint"] = timed(lambda: [cuda_call(op, pid) for pid in procs for op in ("lock", "checkpoint")])
    t["criu dump"] = timed(lambda: sh("criu", "dump", "--tree", str(p.pid), "--images-dir", IMG, "--log-file", "dump.log"))
    p.wait()
    reap_until_free([p.pid] + procs)
    t["criu restore"] = timed(lambda: sh("criu", "restore", "--images-dir", IMG, "--restore-detached",
                                          "--log-file", "restore.log", "--pidfile", IMG + "/pid"))
    t["gpu restore"] = timed(lambda: [cuda_call(op, pid) for pid in procs for op in ("restore", "unlock")])
    t["total"] = sum(t.values())
    verify_and_kill(k, st, int(open(IMG + "/pid").read()))
    return t


def run_gpucr(workload, k, gib, st, extra=()):
    p = start(workload, k, gib, st)
    procs = children(p.pid)
    shutil.rmtree(IMG, ignore_errors=True)
    t0 = time.monotonic()
    ck = json.loads(sh("gpucr", "checkpoint", "--pid", str(p.pid), "--image-dir", IMG, "--json", *extra).stdout)
    t_ck = time.monotonic() - t0
    p.wait()
    reap_until_free([p.pid] + procs)
    t1 = time.monotonic()
    rs = json.loads(sh("gpucr", "restore", "--image-dir", IMG, "--detach", "--json", *extra).stdout)
    t_rs = time.monotonic() - t1
    ph = {x["name"]: x["seconds"] for x in ck["phases"] + rs["phases"]}
    t = {"gpu checkpoint": ph["gpu lock"] + ph["gpu checkpoint"], "criu dump": ph["criu dump"],
         "criu restore": ph["criu restore"], "gpu restore": ph["gpu restore"] + ph["gpu unlock"],
         "total": t_ck + t_rs, "gpucr other": t_ck + t_rs - sum(ph[n] for n in (
             "gpu lock", "gpu checkpoint", "criu dump", "criu restore", "gpu restore", "gpu unlock"))}
    verify_and_kill(k, st, rs["root_pid"])
    return t


# plugin-like runs criu at its default verbosity (-v2), as gpucr does by default; "gpucr -v4"
# adds criu's debug lines (--criu-log-level 4).
METHODS = {"plugin-like": run_plugin_like, "gpucr": run_gpucr,
           "gpucr -v4": lambda *a: run_gpucr(*a, extra=("--criu-log-level", "4"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scenario", nargs="*", default=["1:4", "2:8", "4:6"])
    ap.add_argument("--out", default="/tmp/gpu_bench.json")
    a = ap.parse_args()
    raw = {}
    rows = []
    # One untimed round first: on the device the first round after the machine started ran every
    # phase about 5x faster than all later ones (two runs of 2026-11-22), a state no later round sees.
    k0, g0 = a.scenario[0].split(":")
    run_plugin_like(a.workload, int(k0), float(g0), "/tmp/gpucr-bench-warmup.status")
    print("warm-up round done", flush=True)
    for sc in a.scenario:
        k, gib = (float(x) for x in sc.split(":"))
        k = int(k)
        st = f"/tmp/gpucr-bench-{k}x{gib}.status"
        res = {m: [] for m in METHODS}
        for rep in range(a.reps):
            for name, fn in METHODS.items():
                res[name].append(fn(a.workload, k, gib, st))
                print(f"{k}x{gib:g}GiB rep {rep} {name}: " +
                      ", ".join(f"{n} {v:.2f}" for n, v in res[name][-1].items()), flush=True)
        raw[sc] = res
        med = {m: {n: statistics.median(r[n] for r in res[m]) for n in res[m][0]} for m in res}
        rows.append((k, gib, med))
        json.dump(raw, open(a.out, "w"), indent=1)  # after each scenario: a cut-off run keeps its data
    shutil.rmtree(IMG, ignore_errors=True)
    print("\n| processes x GiB | method | GPU checkpoint (lock+ckpt) | criu dump | criu restore | GPU restore (+unlock) | total |")
    print("|---|---|---|---|---|---|---|")
    for k, gib, med in rows:
        for m in METHODS:
            d = med[m]
            print(f"| {k} x {gib:g} | {m} | {d['gpu checkpoint']:.2f} | {d['criu dump']:.2f} | {d['criu restore']:.2f} "
                  f"| {d['gpu restore']:.2f} | {d['total']:.2f} |")
        p = med["plugin-like"]
        for m in ("gpucr", "gpucr -v4"):
            g = med[m]
            print(f"| {k} x {gib:g} | ratio plugin-like/{m} | {p['gpu checkpoint'] / g['gpu checkpoint']:.2f}x | "
                  f"{p['criu dump'] / g['criu dump']:.2f}x | {p['criu restore'] / g['criu restore']:.2f}x | "
                  f"{p['gpu restore'] / g['gpu restore']:.2f}x | {p['total'] / g['total']:.3f}x |")


if __name__ == "__main__":
    sys.exit(main())

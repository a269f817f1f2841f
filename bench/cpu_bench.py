#!/usr/bin/python3
"""gpucr vs plain criu: checkpoint and restore times of the same CPU process tree.

Builds nothing: give it the built gpucr and mem_workload (default: ./build) and a criu (default:
criu on PATH). In one run it repeats, rotating which tool goes first:

  start tests/workloads/mem_workload (a parent and a child holding --mib MiB of patterned
  memory in all), sync, then time
    gpucr:  gpucr checkpoint --pid P --image-dir D --criu C
    criu:   criu dump --tree P --images-dir D --work-dir D --log-file dump.log -v2
  (the argv gpucr itself passes to criu; the tree is killed by the dump), reap the tree, sync, then
    gpucr:  gpucr restore --image-dir D --detach --criu C
    criu:   criu restore --images-dir D --work-dir D --log-file restore.log -v2
                         --restore-detached --restore-sibling --pidfile D/restore.pid
  check that the restored tree counts on with intact memory (both processes), kill it, delete
  the images.

Images of all series go to the same directory (--dir, default /var/tmp/gpucr-bench: one file
system). Times are wall clock around each command. gpucr's own phase timings (--json) show
where its extra time goes. --control adds a second plain-criu series, to show how far apart two
identical series land on this machine. Prints Markdown tables of medians and ratios and a
verdict against the target (gpucr adds at most max(5%, 50 ms)); exit status 1 when it misses.
--json FILE also writes every sample.

Run as root:  /usr/bin/python3 bench/cpu_bench.py [--reps 9] [--mib 1024] [--control] [--dir DIR]
"""
import argparse
import ctypes
import json
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
PR_SET_CHILD_SUBREAPER = 36


def parse_args():
    build = pathlib.Path(os.environ.get("GPUCR_BUILD_DIR", REPO / "build"))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gpucr", default=str(build / "src/cli/gpucr"))
    p.add_argument("--workload", default=str(build / "tests/workloads/mem_workload"))
    p.add_argument("--criu", default=shutil.which("criu") or "criu")
    p.add_argument("--mib", type=int, default=1024, help="memory the tree holds (default 1024)")
    p.add_argument("--reps", type=int, default=7, help="repetitions per tool (default 7, at least 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds per tool first (default 1)")
    p.add_argument("--nice", type=int, default=0,
                   help="run everything at this nice value (e.g. -15 on a machine shared with builds; both "
                        "tools get the same)")
    p.add_argument("--quiet-wait", type=float, default=0,
                   help="before each timed round wait up to this many seconds for the CPUs to be --quiet-idle "
                        "idle (for shared machines; default 0: don't wait)")
    p.add_argument("--quiet-idle", type=float, default=0.9, help="idle fraction that counts as quiet (0.9)")
    p.add_argument("--dir", default="/var/tmp/gpucr-bench", help="where images go (default /var/tmp/gpucr-bench)")
    p.add_argument("--control", action="store_true",
                   help="also time a second plain-criu series (criu-b) to show the noise floor: how much two "
                        "identical series differ on this machine")
    p.add_argument("--json", help="also write all samples to this file")
    return p.parse_args()


def reap_all():
    """Reaps every finished child (we are a subreaper: orphans of the trees come to us)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def session_members(sid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[3]) == sid:
                    out.append(int(name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return out


def wait_tree_gone(sid, timeout=30):
    deadline = time.monotonic() + timeout
    while session_members(sid):
        reap_all()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the tree of session {sid} did not go away: {session_members(sid)}")
        time.sleep(0.005)


def kill_tree(sid):
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_tree_gone(sid)


def read_status(path):
    try:
        return dict(kv.split("=", 1) for kv in pathlib.Path(path).read_text().split())
    except (FileNotFoundError, ValueError):
        return {}


def wait_status(path, pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = read_status(path)
        if s and pred(s):
            return s
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}; status {read_status(path)}")


def timed(argv):
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return took, r.stdout


def phase_seconds(stdout):
    return {p["name"]: p["seconds"] for p in json.loads(stdout)["phases"]}


def cpu_idle_fraction(interval=1.0):
    """Fraction of all CPUs' time that was idle (incl. iowait) over the next `interval` seconds."""
    def sample():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(f), f[3] + f[4]
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return (i1 - i0) / max(1, t1 - t0)


def wait_until_quiet(a):
    """On a shared machine: waits (at most --quiet-wait seconds) until the CPUs were at least
    --quiet-idle idle for a second, so that other people's builds disturb the timings less.
    Returns the idle fraction seen last."""
    deadline = time.monotonic() + a.quiet_wait
    while True:
        idle = cpu_idle_fraction()
        if idle >= a.quiet_idle or time.monotonic() >= deadline:
            return idle


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def check_child_memory(root):
    """Asks the restored child to verify its whole region (SIGUSR1); it exits 3 on corruption."""
    kids = [p for p in session_members(root) if p != root]
    if len(kids) != 1:
        raise RuntimeError(f"restored tree of {root} has children {kids}, expected one")
    os.kill(kids[0], signal.SIGUSR1)
    time.sleep(1.0)
    if proc_state(kids[0]) in (None, "Z", "X"):
        raise RuntimeError(f"the restored child {kids[0]} found its memory corrupted (or died)")


def one_round(a, tool, rep, status):
    images = pathlib.Path(a.dir) / f"{tool}-{rep}"
    shutil.rmtree(images, ignore_errors=True)
    status.unlink(missing_ok=True)
    tree = subprocess.Popen([a.workload, str(status), str(a.mib)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    pid = tree.pid
    try:
        wait_status(status, lambda s: int(s["pid"]) == pid and int(s["counter"]) >= 2, 120,
                    "the workload to fill its memory")
        subprocess.run(["sync"], check=True)
        sample = {"tool": tool, "rep": rep}
        if a.quiet_wait:
            sample["idle_before"] = wait_until_quiet(a)
        if tool == "gpucr":  # "criu" and "criu-b" (the control series) run plain criu
            took, out = timed([a.gpucr, "checkpoint", "--pid", str(pid), "--image-dir", str(images),
                               "--criu", a.criu, "--json"])
            sample["gpucr_checkpoint_phases"] = phase_seconds(out)
        else:
            t0 = time.perf_counter()
            images.mkdir(mode=0o700)  # timed too, as gpucr's own mkdir is
            timed([a.criu, "dump", "--tree", str(pid), "--images-dir", str(images), "--work-dir", str(images),
                   "--log-file", "dump.log", "-v2"])
            took = time.perf_counter() - t0
        sample["checkpoint"] = took
        dumped = int(read_status(status)["counter"])
        tree.wait()
        wait_tree_gone(pid)
        sample["image_bytes"] = sum(f.stat().st_size for f in images.iterdir() if f.is_file())
        subprocess.run(["sync"], check=True)
        if a.quiet_wait:
            sample["idle_before_restore"] = wait_until_quiet(a)
        if tool == "gpucr":
            took, out = timed([a.gpucr, "restore", "--image-dir", str(images), "--detach", "--criu", a.criu,
                               "--json"])
            sample["gpucr_restore_phases"] = phase_seconds(out)
        else:
            took, _ = timed([a.criu, "restore", "--images-dir", str(images), "--work-dir", str(images),
                             "--log-file", "restore.log", "-v2", "--restore-detached", "--restore-sibling",
                             "--pidfile", str(images / "restore.pid")])
        sample["restore"] = took
        s = wait_status(status, lambda s: int(s["counter"]) >= dumped + 3, 30, "the restored tree to count on")
        if int(s["corrupt"]) != 0 or int(s["pid"]) != pid:
            raise RuntimeError(f"restored tree is wrong: {s}")
        check_child_memory(pid)
        return sample
    finally:
        kill_tree(pid)
        shutil.rmtree(images, ignore_errors=True)


def machine():
    def cmd(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except FileNotFoundError:
            return "?"
    lscpu = dict(l.split(":", 1) for l in cmd("lscpu").splitlines() if ":" in l)
    mem_kib = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
    return {
        "cpu": lscpu.get("Model name", "?").strip(),
        "cpus": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": os.uname().release,
        "criu": cmd(ARGS.criu, "--version").splitlines()[0].replace("Version: ", ""),
        "load_avg": open("/proc/loadavg").read().split()[:3],
    }


def med(samples, tool, key):
    return statistics.median(s[key] for s in samples if s["tool"] == tool)


def startup_costs(a, n=20):
    """Median wall times of gpucr's fixed costs: starting the binary, running `criu --version`, and
    a restore that locates criu and then stops at once (an image dir that does not exist)."""
    missing = str(pathlib.Path(a.dir) / "no-such-image-dir")
    out = {}
    for name, argv, code in (("gpucr version", [a.gpucr, "version"], 0),
                             ("criu --version", [a.criu, "--version"], 0),
                             ("gpucr restore, failing at once", [a.gpucr, "restore", "-D", missing, "--criu", a.criu],
                              3)):
        xs = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = subprocess.run(argv, capture_output=True)
            xs.append(time.perf_counter() - t0)
            if r.returncode != code:
                raise RuntimeError(f"{argv} exited {r.returncode}: {r.stderr}")
        out[name] = statistics.median(xs)
    return out


def gpucr_phase_lines(samples, fixed):
    """gpucr's own phases, and its time outside criu with the fixed costs for scale."""
    lines = ["", "gpucr's phases (medians):", "", "| gpucr phase | median |", "|---|---|"]
    for kind in ("gpucr_checkpoint_phases", "gpucr_restore_phases"):
        names = list(next(s for s in samples if s["tool"] == "gpucr")[kind])
        for n in names:
            v = statistics.median(s[kind][n] for s in samples if s["tool"] == "gpucr")
            lines.append(f"| {kind.split('_')[1]}: {n} | {v * 1000:.1f} ms |")
    outside = {k: statistics.median(s[k] - s[f"gpucr_{k}_phases"][f"criu {op}"] for s in samples
                                    if s["tool"] == "gpucr")
               for k, op in (("checkpoint", "dump"), ("restore", "restore"))}
    lines += ["", "Time gpucr spends outside criu in the same command (wall clock minus its `criu dump` / "
              "`criu restore` phase; includes process start, locating criu with `criu --version`, reading "
              "/proc, the manifest), medians: "
              f"checkpoint {outside['checkpoint'] * 1000:.1f} ms, restore {outside['restore'] * 1000:.1f} ms; "
              f"for scale, here `gpucr version` takes {fixed['gpucr version'] * 1000:.1f} ms, `criu --version` "
              f"{fixed['criu --version'] * 1000:.1f} ms, and a `gpucr restore` that locates criu and stops at once "
              f"{fixed['gpucr restore, failing at once'] * 1000:.1f} ms."]
    return lines


def report(a, samples, info, fs_type, fixed):
    def ms(x):
        return f"{x * 1000:.0f} ms"

    def spread(tool, key):
        xs = [s[key] for s in samples if s["tool"] == tool]
        return f"{ms(statistics.median(xs))} ({min(xs) * 1000:.0f}-{max(xs) * 1000:.0f})"

    def paired_diff(key, tool="gpucr"):  # `tool` minus criu within each repetition
        by_rep = {}
        for s in samples:
            by_rep.setdefault(s["rep"], {})[s["tool"]] = s[key]
        return statistics.median(r[tool] - r["criu"] for r in by_rep.values())

    lines = [f"{a.reps} repetitions per tool after {a.warmup} untimed warm-up round(s), rotating which goes "
             f"first; {a.mib} MiB tree; images on {a.dir} ({fs_type}); nice {a.nice}; wall-clock medians (min-max).",
             "",
             "| phase | criu | gpucr | gpucr - criu (median of medians / of paired differences) | ratio "
             "| allowed: max(5%, 50 ms) | within target |",
             "|---|---|---|---|---|---|---|"]
    verdict = True
    for key in ("checkpoint", "restore", "total"):
        c, g = med(samples, "criu", key), med(samples, "gpucr", key)
        allowed = max(0.05 * c, 0.050)
        ok = g - c <= allowed
        verdict &= ok
        name = {"checkpoint": "checkpoint (`criu dump`)", "restore": "restore (`criu restore -d`)",
                "total": "checkpoint + restore"}[key]
        lines.append(f"| {name} | {spread('criu', key)} | {spread('gpucr', key)} | {ms(g - c)} / "
                     f"{ms(paired_diff(key))} | {g / c:.3f} | {ms(allowed)} | {'yes' if ok else 'NO'} |")
    if a.control:
        lines += ["", "Control: a second, identical plain-criu series (criu-b) timed in the same run. Its "
                  "distance from the first shows how much two identical series differ here (the noise floor):", "",
                  "| phase | criu | criu-b | criu-b - criu (median of medians / of paired differences) | ratio |",
                  "|---|---|---|---|---|"]
        for key in ("checkpoint", "restore", "total"):
            c, b = med(samples, "criu", key), med(samples, "criu-b", key)
            lines.append(f"| {key} | {spread('criu', key)} | {spread('criu-b', key)} | {ms(b - c)} / "
                         f"{ms(paired_diff(key, 'criu-b'))} | {b / c:.3f} |")
    lines += gpucr_phase_lines(samples, fixed)
    if a.quiet_wait:
        idles = [s[k] for s in samples for k in ("idle_before", "idle_before_restore")]
        lines += ["", f"Each timed command started after waiting (up to {a.quiet_wait:.0f} s) for a second with the "
                  f"CPUs >= {a.quiet_idle:.0%} idle: {sum(i >= a.quiet_idle for i in idles)} of {len(idles)} did; "
                  f"median idle fraction before a command {statistics.median(idles):.0%}."]
    size = statistics.median(s["image_bytes"] for s in samples)
    lines += ["", f"image size {size / 2**20:.0f} MiB; machine: {info['cpu']}, {info['cpus']} CPUs, "
              f"{info['ram_gib']} GiB RAM, kernel {info['kernel']}, criu {info['criu']}; "
              f"load average before the run {' '.join(info['load_avg'])}",
              "", f"verdict: gpucr {'meets' if verdict else 'MISSES'} the target"]
    return "\n".join(lines), verdict


ARGS = None


def main():
    global ARGS
    a = ARGS = parse_args()
    if os.geteuid() != 0:
        sys.exit("cpu_bench: run as root (criu needs it)")
    if a.reps < 5:
        sys.exit("cpu_bench: --reps must be at least 5")
    for p in (a.gpucr, a.workload):
        if not os.access(p, os.X_OK):
            sys.exit(f"cpu_bench: {p} is not built (scripts/build.sh)")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("cpu_bench: prctl(PR_SET_CHILD_SUBREAPER) failed")
    if a.nice:
        os.nice(a.nice)
    os.makedirs(a.dir, mode=0o700, exist_ok=True)
    fs_type = subprocess.run(["findmnt", "-no", "FSTYPE", "--target", a.dir], capture_output=True,
                             text=True).stdout.strip()
    info = machine()
    status = pathlib.Path(a.dir) / "status"
    tools = ["gpucr", "criu"] + (["criu-b"] if a.control else [])
    for rep in range(a.warmup):
        for tool in tools:
            one_round(a, tool, f"warmup{rep}", status)
    samples = []
    for rep in range(a.reps):
        # Every tool goes first, last and (with --control) in the middle equally often.
        order = tools[rep % len(tools):] + tools[:rep % len(tools)]
        for tool in (order if rep % 2 == 0 else order[::-1]):
            s = one_round(a, tool, rep, status)
            s["total"] = s["checkpoint"] + s["restore"]
            samples.append(s)
            print(f"rep {rep} {tool:5}: checkpoint {s['checkpoint']:.3f}s restore {s['restore']:.3f}s",
                  file=sys.stderr, flush=True)
    text, ok = report(a, samples, info, fs_type, startup_costs(a))
    print(text)
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps({"machine": info, "args": vars(a), "samples": samples}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

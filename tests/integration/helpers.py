"""Helpers for the integration tests: run gpucr, start workloads, wait for conditions."""
import os
import pathlib
import signal
import subprocess
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("GPUCR_BUILD_DIR", REPO / "build"))
GPUCR = BUILD / "src/cli/gpucr"
WORKLOADS = BUILD / "tests/workloads"


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Polls pred() until it returns a truthy value; returns it, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_kv(path):
    """Parses 'k=v k=v' status lines written by the test workloads; {} when absent/partial."""
    try:
        text = pathlib.Path(path).read_text()
    except FileNotFoundError:
        return {}
    out = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = int(v) if v.lstrip("-").isdigit() else v
    return out


def proc_stat(pid):
    """The fields of /proc/PID/stat after the name: [state, ppid, ...] as text. Raises
    FileNotFoundError or ProcessLookupError (between open() and read(): ESRCH) when pid is gone."""
    with open(f"/proc/{pid}/stat", "rb") as f:  # binary: a name need not be UTF-8
        return f.read().rsplit(b")", 1)[1].decode().split()


def pid_alive(pid):
    try:
        return proc_stat(pid)[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def kill_tree(pid):
    """SIGKILLs pid's process group (workloads run in their own session) and pid."""
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Gpucr:
    """Runs the gpucr binary; each call returns subprocess.CompletedProcess (text mode)."""

    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)

    def __call__(self, *args, env=None, timeout=120, check=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        r = subprocess.run([str(GPUCR), *map(str, args)], capture_output=True, text=True,
                           env=e, timeout=timeout)
        if check is not None:
            assert (r.returncode == 0) == check, (
                f"gpucr {' '.join(map(str, args))} exited {r.returncode}\n"
                f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r


def start_detached(argv, log=None, env=None):
    """Starts argv in a new session with stdio on /dev/null (or log): a tree criu can dump."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True, env=e)
    return p


def in_order(names, want):
    """True when `want` appear in `names` in this order (other names may come between): drivers
    gain phases as features land; tests name the ones they are about."""
    it = iter(names)
    return all(any(n == w for n in it) for w in want)

"""What container tests leave on the host and how they take it away again: the freezer state of a
process's cgroup, cgroup trees, mounts, stray processes, and system paths an engine created.
Used by containers_lib.py and engines_lib.py (which re-export these names to the tests)."""
import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
import time


def freezer_state(pid):
    """FROZEN/THAWED/FREEZING of pid's cgroup (v1 freezer, else v2 cgroup.freeze). A v1 line whose
    hierarchy is not mounted here is skipped: the sid root mounts only cgroup v2 on /sys/fs/cgroup,
    but /proc/PID/cgroup still lists the host's v1 controllers (docs/ENGINES.md)."""
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if "freezer" in ctrls.split(",") and pathlib.Path("/sys/fs/cgroup/freezer").is_dir():
            return pathlib.Path(f"/sys/fs/cgroup/freezer{path}/freezer.state").read_text().strip()
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if hid == "0":
            for mnt in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                f = pathlib.Path(f"{mnt}{path}/cgroup.freeze")
                if f.exists():
                    return "FROZEN" if f.read_text().strip() == "1" else "THAWED"
    raise AssertionError(f"no freezer cgroup for pid {pid}")


# ---------------------------------------------------------------- cleanup helpers

def remove_cgroup_tree(name):
    """rmdir's NAME's cgroups (cgroup_dirs) depth-first; the cgroups must be empty."""
    for top in cgroup_dirs(name):
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)  # tasks still leaving


def unmount_under(prefix):
    """Unmounts every mount point under prefix, deepest first (lazily when busy)."""
    prefix = str(prefix).rstrip("/") + "/"
    points = []
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].encode().decode("unicode_escape")
        if (mp + "/").startswith(prefix):
            points.append(mp)
    for mp in sorted(set(points), key=len, reverse=True):
        if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mp], capture_output=True)


def cgroup_dirs(name):
    """NAME's directory in every cgroup hierarchy here: /sys/fs/cgroup/*/NAME (v1 controllers, the
    hybrid v2 at unified/) and /sys/fs/cgroup/NAME (a pure v2 mount, as in the sid root)."""
    top = pathlib.Path("/sys/fs/cgroup")
    return [d for d in (*(p / name.strip("/") for p in top.iterdir() if p.is_dir()), top / name.strip("/"))
            if d.is_dir()]


def kill_cgroup_tree(name):
    """Thaws and SIGKILLs every process in NAME's cgroups (cgroup_dirs: containers whose runtime or
    shim is gone; a frozen process would not die)."""
    dirs = cgroup_dirs(name)
    for d in dirs:
        for f in (*d.glob("**/freezer.state"), *d.glob("**/cgroup.freeze")):
            with contextlib.suppress(OSError):
                f.write_text("THAWED" if f.name == "freezer.state" else "0")
    pids = set()
    for d in dirs:
        for procs in d.glob("**/cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in procs.read_text().split())
    kill_pids(sorted(pids))


def pids_with_cmdline_containing(text):
    """Pids whose command line contains text (used to find daemons and shims the test started)."""
    out = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            if text.encode() in (p / "cmdline").read_bytes():
                out.append(int(p.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return out


def kill_pids(pids, timeout=10):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pathlib.Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.05)


@contextlib.contextmanager
def remove_if_created(*paths):
    """Removes each path after the block when it did not exist before (engines that write fixed
    system paths: containerd's shim sockets, podman's blob info cache)."""
    before = {p: pathlib.Path(p).exists() for p in paths}
    try:
        yield
    finally:
        for p, existed in before.items():
            if not existed:
                shutil.rmtree(p, ignore_errors=True)

"""Process trees for the integration tests (tests/workloads/tree_workload.c), and their cleanup.

Every tree runs in its own session (its root is the session leader), and criu restores session
ids, so a tree is found again after a restore by its session id. Trees.cleanup() SIGKILLs every
process of every session started here and reaps what it can; init reaps the rest.
"""
import os
import pathlib
import signal
import subprocess
import time

from helpers import WORKLOADS, read_kv, wait_for, pid_alive

TREE_WORKLOAD = WORKLOADS / "tree_workload"


def proc_stat(pid):
    """(state, ppid, pgid, sid) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:  # binary: a name need not be UTF-8
            fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def session_members(sid):
    """Pids of all processes (zombies included) whose session id is sid."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[3] == sid:
                out.append(int(name))
    return sorted(out)


def live_session_members(sid):
    return [p for p in session_members(sid) if pid_alive(p)]


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


class Tree:
    """A running tree_workload: root pid (= session id), status file, its Popen."""

    def __init__(self, tmp, name, exit_after=None, pass_fds=()):
        self.status_path = pathlib.Path(tmp) / f"{name}.status"
        argv = [str(TREE_WORKLOAD), str(self.status_path)]
        if exit_after:
            argv.append(str(exit_after))
        self.log = open(pathlib.Path(tmp) / f"{name}.log", "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     pass_fds=pass_fds)
        self.pid = self.proc.pid

    def status(self):
        return read_kv(self.status_path)

    def wait_counting(self, at_least=3, timeout=10):
        return wait_for(lambda: (s := self.status()) and s.get("counter", 0) >= at_least and s,
                        timeout=timeout, what=f"tree {self.pid} to count to {at_least}")

    def members(self):
        return live_session_members(self.pid)

    def assert_healthy(self, since=None):
        """The tree keeps counting, its child echoes every count, its open file reads back, its
        thread ticks; all with the root pid. `since`: a status the tree must have moved past."""
        base = since or self.status()
        s = wait_for(lambda: (s := self.status()) and s.get("counter", 0) >= base.get("counter", 0) + 3 and s,
                     timeout=10, what=f"tree {self.pid} to keep counting")
        assert s["pid"] == self.pid, s
        assert s["child"] == s["counter"], f"the echo child fell behind: {s}"
        assert s["file_ok"] == 1, s
        assert s["thread"] > base.get("thread", 0), f"the thread stopped ticking: {s} after {base}"
        assert pid_alive(self.pid)
        assert len(self.members()) == 3, f"expected root and 2 children, got {self.members()}"
        assert threads_of(self.pid) == 2
        return s

    def reap_root(self, timeout=10):
        """Waits for the original root (our child) to die, e.g. after criu killed the tree."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_gone(self, timeout=10):
        """Waits until no process of the tree's session is left, zombies included."""
        self.reap_root(timeout)
        wait_for(lambda: not session_members(self.pid), timeout=timeout,
                 what=f"the processes of tree {self.pid} to be reaped")

    def kill(self):
        for pid in session_members(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class Trees:
    """Starts trees and kills (and reaps) every one of them at the end of a test."""

    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.trees = []

    def start(self, name="tree", exit_after=None, pass_fds=(), counting=True):
        t = Tree(self.tmp, name, exit_after, pass_fds)
        self.trees.append(t)
        if counting:
            t.wait_counting()
        return t

    def cleanup(self):
        for t in self.trees:
            t.kill()
        deadline = time.monotonic() + 10
        for t in self.trees:
            t.reap_root(timeout=max(0.1, deadline - time.monotonic()))
            t.log.close()
        # Restored roots are children of init (gpucr --detach exits): init reaps them.
        while time.monotonic() < deadline and any(live_session_members(t.pid) for t in self.trees):
            time.sleep(0.05)
        left = [p for t in self.trees for p in live_session_members(t.pid)]
        assert not left, f"processes survived cleanup: {left}"

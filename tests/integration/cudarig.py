"""The rig of gpucr's CUDA integration tests (test_cuda_*.py): the real gpucr binary and the real
criu around process trees of fake CUDA workloads (tests/fakes, see fakecuda.py).

    from cudarig import rig  # noqa: F401  (pytest fixture: a CudaRig, cleaned up after)

    def test_x(rig):
        tree = rig.start_tree(cuda=3)            # sh -> 3 x fake_cuda_app (+1 non-CUDA child each)
        r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", rig.img())
        assert rig.states(tree) == ["checkpointed"] * 3 or ...

Every process a test makes sees FAKE_CUDA_DIR=<its private dir> (gpucr passes its environment
on to the guardian, criu and its helpers, and criu restores it), so cleanup finds and kills them
all by their environment: the tree, restored trees, gpucr, its guardian, criu, helpers.
GPUCR_RUN_DIR is private too: the journal dir ($GPUCR_RUN_DIR/ops) and recovery.log of a test
are its own.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from fakecuda import APP, FakeCuda
from helpers import GPUCR, pid_alive, read_kv, start_detached, wait_for

# Exit codes (src/util/error.hpp).
OK, FAILED, USAGE, BAD_INPUT, MISSING, NOT_PERMITTED, ROLLBACK_INCOMPLETE = 0, 1, 2, 3, 4, 5, 6


class Tree:
    """A process tree: root (sh, not CUDA), CUDA apps, and the non-CUDA processes in it."""

    def __init__(self, proc, statuses):
        self.proc = proc
        self.root = proc.pid
        self.statuses = statuses
        self.apps = [read_kv(st)["pid"] for st in statuses]
        self.children = [read_kv(f"{st}.child0")["pid"] for st in statuses
                         if os.path.exists(f"{st}.child0")]

    @property
    def non_cuda(self):
        return [self.root] + self.children

    @property
    def pids(self):
        return [self.root] + self.apps + self.children

    def counters(self):
        return [read_kv(st).get("counter", 0) for st in self.statuses]

    def child_counters(self):
        return [read_kv(f"{st}.child0").get("counter", 0) for st in self.statuses
                if os.path.exists(f"{st}.child0")]


class CudaRig:
    def __init__(self, tmp):
        self.dir = pathlib.Path(tmp)
        self.fc = FakeCuda(self.dir)
        self.run_dir = self.dir / "run"
        self.trees = []
        self.opened = []
        self._n = 0

    # ---- environment and gpucr ---------------------------------------------------------------
    def env(self, extra=None):
        e = self.fc.env({"GPUCR_RUN_DIR": str(self.run_dir)})
        e.update(extra or {})
        return e

    def gpucr(self, *args, env=None, timeout=90):
        """Runs gpucr to the end; returns CompletedProcess (text)."""
        return subprocess.run([str(GPUCR), *map(str, args)], capture_output=True, text=True,
                              env=env or self.env(), timeout=timeout)

    def gpucr_ok(self, *args, **kw):
        r = self.gpucr(*args, **kw)
        assert r.returncode == 0, f"gpucr {args} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def spawn_gpucr(self, *args, env=None):
        """Starts gpucr in the background (its own process group); stdout/stderr to files."""
        self._n += 1
        out = open(self.dir / f"gpucr-{self._n}.out", "w+")
        err = open(self.dir / f"gpucr-{self._n}.err", "w+")
        p = subprocess.Popen([str(GPUCR), *map(str, args)], stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, env=env or self.env(),
                             start_new_session=True)
        p.out, p.err = out, err
        self.opened += [out, err]
        return p

    @staticmethod
    def finish(p, timeout=60):
        """Waits for a spawn_gpucr process; returns (rc, stdout, stderr)."""
        rc = p.wait(timeout=timeout)
        p.out.seek(0)
        p.err.seek(0)
        return rc, p.out.read(), p.err.read()

    def img(self, name=None):
        """A fresh image directory path (not created)."""
        self._n += 1
        return self.dir / (name or f"img{self._n}")

    def script(self, name, text):
        p = self.dir / name
        p.write_text(text)
        p.chmod(0o755)
        return p

    # ---- workloads -----------------------------------------------------------------------------
    def start_tree(self, cuda=1, children=1, mib=1, app_args=(), per_app=None, env=None,
                   stdout=None):
        """sh (non-CUDA root) -> `cuda` fake_cuda_app, each with `children` non-CUDA children
        (forked before it loads libcuda). per_app: extra arguments for app i. stdout: a file
        object (e.g. a socket) for the tree's stdout and stderr instead of a log file."""
        statuses, cmds = [], []
        for i in range(cuda):
            self._n += 1
            st = self.dir / f"app{self._n}"
            statuses.append(st)
            extra = list(app_args) + list((per_app or {}).get(i, []))
            cmds.append(" ".join(f'"{a}"' for a in [APP, "--mib", mib, "--status", st,
                                                    "--children", children, *extra]) + " &")
        script = " ".join(cmds) + " wait"
        self._n += 1
        if stdout is None:
            proc = start_detached(["sh", "-c", script], log=str(self.dir / f"tree{self._n}.log"),
                                  env=self.fc.env(env))
        else:
            proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=stdout,
                                    stderr=stdout, start_new_session=True, env=self.fc.env(env))
        self.fc.procs.append(proc)
        for st in statuses:
            wait_for(lambda: read_kv(st).get("counter", 0) >= 1 or proc.poll() is not None,
                     what=f"{st} to count")
            if children:
                wait_for(lambda: read_kv(f"{st}.child0").get("counter", 0) >= 1,
                         what=f"{st}.child0 to count")
        assert proc.poll() is None, f"the tree exited {proc.returncode}"
        tree = Tree(proc, statuses)
        self.trees.append(tree)
        return tree

    def states(self, tree):
        return [self.fc.state_of(pid) for pid in tree.apps]

    @staticmethod
    def advancing(tree, by=3, timeout=10):
        """Asserts that every CUDA app and non-CUDA child of the tree counts on, without corruption."""
        before, cbefore = tree.counters(), tree.child_counters()
        wait_for(lambda: all(c >= b + by for c, b in zip(tree.counters(), before)) and
                 all(c >= b + by for c, b in zip(tree.child_counters(), cbefore)),
                 timeout=timeout, what="every process of the tree to count on")
        for st in tree.statuses:
            s = read_kv(st)
            assert (s["corrupt"], s["err"], s["state"]) == (0, 0, "running"), s

    @staticmethod
    def stalled(tree, seconds=0.4):
        """True when no CUDA app counted for `seconds` (locked or checkpointed)."""
        before = tree.counters()
        time.sleep(seconds)
        return tree.counters() == before

    def kill_tree(self, tree):
        """SIGKILLs the whole tree (its process group) and waits until its pids are free."""
        try:
            os.killpg(tree.root, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.wait_gone(tree)

    def wait_gone(self, tree, timeout=15):
        """After a checkpoint that killed the tree: reap the root, wait until every pid is free."""
        tree.proc.wait(timeout=timeout)
        wait_for(lambda: not any(pid_alive(p) or os.path.exists(f"/proc/{p}") for p in tree.pids),
                 timeout=timeout, what="the checkpointed tree's pids to be free")

    def failing_criu(self):
        """A criu that reports a version and fails everything else (for --criu)."""
        return self.script("failing-criu", "#!/bin/sh\n"
                           'if [ "$1" = --version ]; then echo "Version: 4.1.1"; exit 0; fi\n'
                           'echo "Error (fake-criu): this criu fails on purpose" >&2\nexit 1\n')

    def slow_criu(self, seconds):
        """A criu (for --criu) whose dump first sleeps `seconds` in a pre-dump action script
        (tasks not frozen yet); the marker file self.dir/"pre-dump" says it started."""
        marker = self.dir / "pre-dump"
        slow = self.script("slow-action", "#!/bin/sh\n"
                           '[ "$CRTOOLS_SCRIPT_ACTION" = pre-dump ] || exit 0\n'
                           f'touch "{marker}"\nsleep {seconds}\n')
        real = shutil.which("criu")
        return self.script("slow-criu", "#!/bin/sh\n"
                           f'if [ "$1" = dump ]; then exec "{real}" "$@" --action-script "{slow}"; fi\n'
                           f'exec "{real}" "$@"\n')

    # ---- what gpucr left ---------------------------------------------------------------------
    def journals(self):
        ops = self.run_dir / "ops"
        return sorted(ops.iterdir()) if ops.exists() else []

    def journal(self):
        """The one journal document of an operation in progress, or None."""
        for j in self.journals():
            if j.suffix == ".json":
                try:
                    return json.loads(j.read_text())
                except (OSError, ValueError):
                    return None
        return None

    def wait_phase(self, phase, timeout=15):
        """Waits until the journal says gpucr runs `phase`; returns the journal document."""
        return wait_for(lambda: (self.journal() or {}).get("phase") == phase and self.journal(),
                        timeout=timeout, what=f"gpucr to reach phase {phase!r}")

    def recovery_log(self):
        p = self.run_dir / "recovery.log"
        return p.read_text() if p.exists() else ""

    def ours(self):
        """(pid, comm, argv, exe) of every live process that has this test's FAKE_CUDA_DIR."""
        marker = f"FAKE_CUDA_DIR={self.fc.dir}".encode()
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                env = pathlib.Path(f"/proc/{name}/environ").read_bytes().split(b"\0")
                if marker not in env or not pid_alive(int(name)):
                    continue
                comm = pathlib.Path(f"/proc/{name}/comm").read_bytes().decode(errors="replace").strip()
                argv = pathlib.Path(f"/proc/{name}/cmdline").read_bytes().decode(
                    errors="replace").split("\0")
                exe = os.readlink(f"/proc/{name}/exe")
            except OSError:
                continue
            out.append((int(name), comm, argv, exe))
        return out

    def criu_left(self):
        return [p for p in self.ours() if p[1] == "criu"]

    def gpucr_left(self):
        """gpucr processes (checkpoint/restore, guardians, helpers) still alive."""
        gpucr = os.path.realpath(GPUCR)
        return [p for p in self.ours() if p[3] == gpucr]

    def assert_clean(self, timeout=10):
        """No criu, no gpucr (guardian, helper) left, and the journal dir is empty."""
        wait_for(lambda: not self.criu_left() and not self.gpucr_left() and not self.journals(),
                 timeout=timeout, what=f"no criu/gpucr left and no journal: {self.ours()} "
                                       f"{self.journals()}")

    def cleanup(self):
        for _ in range(20):
            left = self.ours()
            if not left:
                break
            for pid, *_ in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        self.fc.cleanup()
        for f in self.opened:
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def rig(tmp_path):
    r = CudaRig(tmp_path)
    yield r
    r.cleanup()


def real_criu():
    return shutil.which("criu")

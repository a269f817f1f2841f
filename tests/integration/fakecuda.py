"""The fake NVIDIA stack (tests/fakes, formats in tests/fakes/README.md) for integration tests.

    from fakecuda import fake_cuda  # noqa: F401  (pytest fixture: a FakeCuda, cleaned up after)

    def test_x(fake_cuda, gpucr, tmp_path):
        fake_cuda.set_gpus(2)                        # two fake H100s
        app = fake_cuda.start_app(tmp_path / "st", mib=4)
        fake_cuda.wait_counter(tmp_path / "st", 3)
        gpucr("checkpoint", ..., env=fake_cuda.env())  # LD_LIBRARY_PATH, FAKE_CUDA_DIR, PATH
        assert fake_cuda.state_of(app.pid) == "checkpointed"
        assert fake_cuda.calls_for(sibling_pid) == []  # the driver never saw a non-CUDA pid
        assert fake_cuda.frozen_calls() == []

Each FakeCuda has a private FAKE_CUDA_DIR under the test's tmp dir, so tests never share state.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

from conftest import need
from helpers import BUILD, kill_tree, pid_alive, read_kv, start_detached, wait_for

FAKES = BUILD / "tests/fakes"
LIB = FAKES / "lib"
LIB_NOAPI = FAKES / "lib-noapi"
BIN = FAKES / "bin"
TOOL = BIN / "cuda-checkpoint"
APP = BIN / "fake_cuda_app"
CALL = pathlib.Path(__file__).with_name("fakecuda_call.py")
H100 = "NVIDIA H100 80GB HBM3"
H100_BYTES = 85520809984
FAULT_OPS = {"get_state", "lock", "checkpoint", "restore", "unlock", "get_restore_tid", "any"}
FAULT_ACTIONS = {"fail", "hang", "slow", "illegal-once", "require-init"}


def gpu_uuid(i, host=0):
    """A stable, valid UUID for GPU i of fake host `host` (another host: other UUIDs)."""
    return f"GPU-{0xfa4e0000 + host:08x}-0000-4000-8000-{i:012x}"


class FakeCuda:
    def __init__(self, tmp, gpus=1, noapi=False):
        self.dir = pathlib.Path(tmp) / "fake-cuda"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lib = LIB_NOAPI if noapi else LIB
        self.pids = []  # processes to kill at cleanup (also criu-restored ones: track())
        self.procs = []
        self.set_gpus(gpus)

    # ---- configuration -------------------------------------------------------------------
    def set_gpus(self, gpus, name=H100, memory=H100_BYTES, host=0, machine="gpus"):
        """gpus: a count, or a list of dicts {uuid, name, memory, minor, mig, pci}. machine: the
        gpus file to write; another name than "gpus" is another machine, which a process sees
        with FAKE_CUDA_GPUS=<machine> in its environment (env(machine=...)); the GPUs of the
        default machine (self.gpus) stay as they are."""
        if isinstance(gpus, int):
            gpus = [{"uuid": gpu_uuid(i, host), "name": name, "memory": memory, "minor": i}
                    for i in range(gpus)]
        lines = []
        for g in gpus:
            extra = (" mig" if g.get("mig") else "") + (f" pci={g['pci']}" if g.get("pci") else "")
            lines.append(f'{g["uuid"]} "{g.get("name", name)}" {g.get("memory", memory)} '
                         f'{g.get("minor", len(lines))}{extra}\n')
        (self.dir / machine).write_text("".join(lines))
        if machine == "gpus":
            self.gpus = gpus
        return [g["uuid"] for g in gpus]

    @property
    def uuids(self):
        return [g["uuid"] for g in self.gpus]

    def set_faults(self, *lines, validate=True):
        """Replaces the faults file; each line '<op> <action> [arg] [pid=N] [state=S] [once]'."""
        for line in lines:
            words = line.split()
            assert not validate or (len(words) >= 2 and words[0] in FAULT_OPS and
                                    words[1] in FAULT_ACTIONS), f"bad fault line: {line}"
        (self.dir / "faults").write_text("".join(line + "\n" for line in lines))

    def faults(self):
        p = self.dir / "faults"
        return [ln for ln in p.read_text().splitlines() if ln.strip()] if p.exists() else []

    def env(self, extra=None, machine=None):
        """The environment for gpucr and workloads: the fake libraries, tool and state dir.
        machine: run as on that machine (FAKE_CUDA_GPUS, see set_gpus)."""
        e = dict(os.environ)
        e.pop("FAKE_CUDA_GPUS", None)
        if machine:
            e["FAKE_CUDA_GPUS"] = machine
        e["FAKE_CUDA_DIR"] = str(self.dir)
        e["LD_LIBRARY_PATH"] = str(self.lib) + (
            ":" + e["LD_LIBRARY_PATH"] if e.get("LD_LIBRARY_PATH") else "")
        e["PATH"] = f"{BIN}:{e.get('PATH', '/usr/bin:/bin')}"
        e.update(extra or {})
        return e

    # ---- logs ------------------------------------------------------------------------------
    def _lines(self, name):
        p = self.dir / name
        return [ln.split() for ln in p.read_text().splitlines()] if p.exists() else []

    def calls(self):
        """[(op, pid, result)] from calls.log; result is an int, or 'hang'."""
        return [(w[0], int(w[1]), int(w[2]) if w[2].lstrip("-").isdigit() else w[2])
                for w in self._lines("calls.log")]

    def calls_for(self, pid):
        return [c for c in self.calls() if c[1] == pid]

    def timed_calls(self):
        """[(op, pid, result, start, end)]: start/end are time.monotonic() values of when the
        call began and when it returned (for a hang: when the hang began)."""
        return [c + (float(w[3]), float(w[4])) for c, w in zip(self.calls(), self._lines("calls.log"))]

    def frozen_calls(self):
        """[(op, pid)]: checkpoint-API calls that targeted a frozen process."""
        return [(w[0], int(w[1])) for w in self._lines("frozen-calls.log")]

    def fault_errors(self):
        """Distinct faults lines the fake could not parse (a typo must not pass silently)."""
        p = self.dir / "faults-errors.log"
        return list(dict.fromkeys(p.read_text().splitlines())) if p.exists() else []

    # ---- process state (read from the files; no driver call, nothing logged) --------------
    def token_of(self, pid):
        """The token of pid's proc-<token> fd (None if it holds none); NSpid is not checked."""
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return None
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                m = re.fullmatch(r"proc-([0-9a-f]{16})", os.path.basename(target))
                if m and os.path.samestat(os.stat(f"/proc/{pid}/fd/{fd}"),
                                          os.stat(self.dir / m.group(0))):
                    return m.group(1)
            except OSError:
                continue
        return None

    def process_state(self, token):
        """proc-<token> and state-<token> merged: state, gpus (list), seq, nspid, mem, ..."""
        out = {}
        for name in (f"proc-{token}", f"state-{token}"):
            for line in (self.dir / name).read_text().splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    out[k] = int(v) if v.isdigit() else v
        out["gpus"] = [g for g in str(out.get("gpus", "")).split(",") if g]
        return out

    def state_of(self, pid):
        token = self.token_of(pid)
        return self.process_state(token)["state"] if token else None

    # ---- calling the fake driver and tool -------------------------------------------------
    def api_argv(self, op, pid=0, timeout_ms=None, device_map=None, init=False, null_args=False,
                 dirty=False):
        argv = [sys.executable, str(CALL), op, str(pid)]
        argv += ["--timeout", str(timeout_ms)] if timeout_ms is not None else []
        argv += ["--map", device_map] if device_map else []
        argv += ["--init"] if init else []
        argv += ["--null-args"] if null_args else []
        return argv + (["--dirty"] if dirty else [])

    def api(self, op, pid=0, wait=15, **kw):
        """Runs one checkpoint-API call in a child; returns (rc, value). Raises on timeout."""
        r = subprocess.run(self.api_argv(op, pid, **kw), capture_output=True, text=True,
                           env=self.env(), timeout=wait)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        return (out["rc"], out["value"]) if "rc" in out else out

    def api_async(self, op, pid=0, **kw):
        p = subprocess.Popen(self.api_argv(op, pid, **kw), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env())
        self.procs.append(p)
        return p

    def nvml(self):
        return self.api("nvml")

    def tool(self, *args, timeout=15):
        return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True,
                              env=self.env(), timeout=timeout)

    # ---- workloads ------------------------------------------------------------------------
    def start_app(self, status, mib=1, args=(), env=None, wait=True):
        """Starts fake_cuda_app in its own session; waits for its first status line."""
        argv = [str(APP), "--mib", str(mib), "--status", str(status), *map(str, args)]
        p = start_detached(argv, log=f"{status}.log", env=self.env(env))
        self.procs.append(p)
        self.pids.append(p.pid)
        if wait:
            wait_for(lambda: read_kv(status).get("counter", 0) >= 1 or p.poll() is not None,
                     what=f"{status} to appear")
            assert p.poll() is None, pathlib.Path(f"{status}.log").read_text()
        return p

    def track(self, pid):
        self.pids.append(pid)

    @staticmethod
    def wait_counter(status, at_least, timeout=10):
        return wait_for(lambda: read_kv(status).get("counter", 0) >= at_least and read_kv(status),
                        timeout=timeout, what=f"{status} counter >= {at_least}")

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for pid in self.pids:
            kill_tree(pid)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while any(pid_alive(pid) for pid in self.pids) and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(autouse=True)
def fakes_built():
    """Import into a test module to skip (locally) or fail (CI) when tests/fakes is not built."""
    need(APP.exists() and TOOL.exists() and (LIB / "libcuda.so.1").exists(),
         "tests/fakes is not built (scripts/build.sh)")


@pytest.fixture
def fake_cuda(tmp_path):
    fc = FakeCuda(tmp_path)
    yield fc
    fc.cleanup()

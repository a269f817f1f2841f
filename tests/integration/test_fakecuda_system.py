"""Self-tests of the fake NVIDIA stack against the real system: cgroup freezers (v1 and v2) and
a real criu dump/restore of a checkpointed fake workload."""
import json
import os
import pathlib
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import need
from fakecuda import APP, fake_cuda, fakes_built  # noqa: F401  (fixtures)
from helpers import read_kv, start_detached, wait_for


def cgroup_mount(fstype, option=None):
    """The mount point of the cgroup2 hierarchy, or of the v1 hierarchy with `option`."""
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ")
        fs, _source, opts = right.split()[:3]
        if fs == fstype and (option is None or option in opts.split(",")):
            return pathlib.Path(left.split()[4])
    return None


class FreezerCgroup:
    """A private cgroup (v1 freezer or v2) to freeze processes in; undone by close()."""

    def __init__(self, version):
        mnt = cgroup_mount("cgroup2") if version == "v2" else cgroup_mount("cgroup", "freezer")
        need(mnt is not None, f"no cgroup {version} freezer mounted")
        self.version = version
        self.root = mnt
        self.path = mnt / f"gpucr-fakecuda-{uuid.uuid4().hex[:8]}"
        self.path.mkdir()
        self.pids = []

    def add(self, pid):
        (self.path / "cgroup.procs").write_text(str(pid))
        self.pids.append(pid)

    def _frozen(self):
        if self.version == "v2":
            return "frozen 1" in (self.path / "cgroup.events").read_text()
        return (self.path / "freezer.state").read_text().strip() == "FROZEN"

    def freeze(self):
        if self.version == "v2":
            (self.path / "cgroup.freeze").write_text("1")
        else:
            (self.path / "freezer.state").write_text("FROZEN")
        wait_for(self._frozen, what=f"{self.path} frozen")

    def thaw(self):
        if self.version == "v2":
            (self.path / "cgroup.freeze").write_text("0")
        else:
            (self.path / "freezer.state").write_text("THAWED")
        wait_for(lambda: not self._frozen(), what=f"{self.path} thawed")

    def close(self):
        self.thaw()
        for pid in self.pids:
            try:
                (self.root / "cgroup.procs").write_text(str(pid))
            except OSError:
                pass  # gone
        wait_for(lambda: not (self.path / "cgroup.procs").read_text().strip(), what="empty cgroup")
        self.path.rmdir()


def rc_of(proc, timeout=10):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out)["rc"]


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_calls_on_a_frozen_process_block_until_thawed_and_are_logged(fake_cuda, tmp_path,
                                                                     version):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    sleeper = start_detached(["sleep", "60"])
    fake_cuda.procs.append(sleeper)
    cg = FreezerCgroup(version)
    try:
        cg.add(pid)
        cg.add(sleeper.pid)
        cg.freeze()
        lock = fake_cuda.api_async("lock", pid, timeout_ms=300)
        state = fake_cuda.api_async("state", pid)
        assert fake_cuda.api("state", sleeper.pid)[0] == 3  # not CUDA: no block, but logged
        time.sleep(1.0)
        assert lock.poll() is None and state.poll() is None  # blocked past the lock's timeout
        wait_for(lambda: {("lock", pid), ("get_state", pid)} <= set(fake_cuda.frozen_calls()),
                 what="frozen calls logged")
        cg.thaw()
        assert rc_of(lock) == 0 and rc_of(state) == 0  # then they complete normally
    finally:
        cg.close()
    assert fake_cuda.state_of(pid) == "locked"
    assert fake_cuda.api("unlock", pid)[0] == 0
    assert sorted(fake_cuda.frozen_calls()) == sorted(
        [("lock", pid), ("get_state", pid), ("get_state", sleeper.pid)])


def test_process_in_its_own_pid_namespace_is_found_by_host_pid(fake_cuda, tmp_path):
    """As in a container: the host pid differs from the pid recorded inside at cuInit, and the
    workload sees FAKE_CUDA_DIR through a bind mount at another path."""
    need(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    st, inside = tmp_path / "st", tmp_path / "inside"
    inside.mkdir()
    script = f'mount --bind "{fake_cuda.dir}" "{inside}" && exec "{APP}" --mib 2 --status "{st}"'
    ns = start_detached(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                         "sh", "-c", script], env=fake_cuda.env({"FAKE_CUDA_DIR": str(inside)}))
    fake_cuda.procs.append(ns)
    fake_cuda.pids.append(ns.pid)
    s = fake_cuda.wait_counter(st, 2)
    host_pid = int(pathlib.Path(f"/proc/{ns.pid}/task/{ns.pid}/children").read_text().split()[0])
    assert s["pid"] == 1 and host_pid != 1
    links = [os.readlink(f"/proc/{host_pid}/fd/{fd}") for fd in os.listdir(f"/proc/{host_pid}/fd")]
    assert f"{inside}/proc-{fake_cuda.token_of(host_pid)}" in links  # not the host's path
    assert not any(inside.iterdir())
    assert fake_cuda.api("state", host_pid) == (0, 0)
    rc, tid = fake_cuda.api("tid", host_pid)
    assert rc == 0 and os.path.exists(f"/proc/{host_pid}/task/{tid}")  # a host tid
    assert fake_cuda.nvml()["devices"][0]["procs"][0][:2] == [host_pid, 2 << 20]
    for action in ("lock", "checkpoint", "restore", "unlock"):
        assert fake_cuda.api(action, host_pid)[0] == 0, action
    assert fake_cuda.api("state", ns.pid)[0] == 3  # unshare itself is no CUDA process
    fake_cuda.wait_counter(st, s["counter"] + 2)


def criu(*args):
    return subprocess.run(["criu", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_checkpointed_workload_survives_a_real_criu_dump_and_restore(fake_cuda, tmp_path):
    need(shutil.which("criu") is not None, "criu is not in PATH")
    st = tmp_path / "st"
    app = fake_cuda.start_app(st, mib=4, args=["--children", "1"])
    fake_cuda.wait_counter(st, 3)
    child = fake_cuda.wait_counter(f"{st}.child0", 1)["pid"]
    token = fake_cuda.token_of(app.pid)
    for action in ("lock", "checkpoint"):
        r = fake_cuda.tool("--action", action, "--pid", app.pid)
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    before = read_kv(st)["counter"]
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    r = criu("dump", "-t", app.pid, "-D", imgs, "-o", "dump.log", "-v4")
    assert r.returncode == 0, (imgs / "dump.log").read_text()[-4000:]
    app.wait(timeout=10)
    wait_for(lambda: not os.path.exists(f"/proc/{child}"), timeout=20, what="dumped child reaped")
    r = criu("restore", "-d", "-D", imgs, "-o", "restore.log", "-v4")
    fake_cuda.track(app.pid)
    assert r.returncode == 0, (imgs / "restore.log").read_text()[-4000:]
    assert fake_cuda.token_of(app.pid) == token  # found again through its restored fd
    assert fake_cuda.tool("--get-state", "--pid", app.pid).stdout == "checkpointed\n"
    time.sleep(0.3)
    assert read_kv(st)["counter"] == before  # still blocked: CUDA not restored yet
    for action in ("restore", "unlock"):
        r = fake_cuda.tool("--action", action, "--pid", app.pid)
        assert (r.returncode, r.stderr) == (0, "")
    s = fake_cuda.wait_counter(st, before + 3)
    assert (s["corrupt"], s["state"], s["err"], s["pid"]) == (0, "running", 0, app.pid)
    c0 = read_kv(f"{st}.child0")["counter"]
    fake_cuda.wait_counter(f"{st}.child0", c0 + 2)  # the non-CUDA child runs on too
    assert fake_cuda.calls_for(child) == []
    assert [c[0] for c in fake_cuda.calls()] == ["lock", "checkpoint", "get_state", "restore",
                                                 "unlock"]


def test_image_taken_with_leave_running_restores_checkpointed(fake_cuda, tmp_path):
    """criu restores the process as it was in the image (CHECKPOINTED), although the original
    went on to RUNNING after the dump: the driver state comes with the process."""
    need(shutil.which("criu") is not None, "criu is not in PATH")
    st = tmp_path / "st"
    app = fake_cuda.start_app(st, mib=2)
    for action in ("lock", "checkpoint"):
        assert fake_cuda.tool("--action", action, "--pid", app.pid).returncode == 0
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    r = criu("dump", "-t", app.pid, "-D", imgs, "-o", "dump.log", "-v4", "--leave-running")
    assert r.returncode == 0, (imgs / "dump.log").read_text()[-4000:]
    for action in ("restore", "unlock"):
        assert fake_cuda.tool("--action", action, "--pid", app.pid).returncode == 0
    fake_cuda.wait_counter(st, read_kv(st)["counter"] + 3)  # the original runs on
    app.kill()
    app.wait(timeout=10)
    r = criu("restore", "-d", "-D", imgs, "-o", "restore.log", "-v4")
    fake_cuda.track(app.pid)
    assert r.returncode == 0, (imgs / "restore.log").read_text()[-4000:]
    assert fake_cuda.tool("--get-state", "--pid", app.pid).stdout == "checkpointed\n"
    frozen_at = read_kv(st)["counter"]
    time.sleep(0.3)
    assert read_kv(st)["counter"] == frozen_at  # a checkpointed process does not run
    assert fake_cuda.tool("--action", "unlock", "--pid", app.pid).returncode == 1  # not locked
    for action in ("restore", "unlock"):
        assert fake_cuda.tool("--action", action, "--pid", app.pid).returncode == 0
    s = fake_cuda.wait_counter(st, frozen_at + 3)
    assert (s["corrupt"], s["state"], s["err"]) == (0, "running", 0)

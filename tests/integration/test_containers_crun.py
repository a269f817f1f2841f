"""crun through the gpucr-crun wrapper, with fake CUDA processes: podman checkpoint/restore, and
the CRI-O/containerd flow (pause, checkpoint --leave-running, resume) on crun's command line.
crun checkpoints through libcriu (`criu swrk`) with its own options (containers/crun
src/libcrun/criu.c): the freezer cgroup always set, cgroup mode soft, no hooks on restore.

Where it runs: the sid root (crun 1.28 with +CRIU on a pure cgroup v2 mount; its criu config
/etc/criu/crun.conf says manage-cgroups=ignore, docs/ENGINES.md says why). On Debian 12 it can't
(documented fact debian12-crun-cannot-checkpoint)."""
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import need
from containers_lib import (GPUCR, GpucrEnv, app_host_pids, assert_apps_advance, assert_counter_continues,  # noqa: F401
                            busybox_rootfs, cuda_statuses, freezer_state, inventory_plugins, read_count, run,
                            unique, wait_apps_counting, wait_count_above)
from engines_lib import podman_engine
from fakecuda import fake_cuda, fakes_built  # noqa: F401
from helpers import read_kv

CRUN = shutil.which("crun")


def crun_can_checkpoint():
    """'' when crun is here, built with CRIU and not refusing this cgroup layout, else why not."""
    if CRUN is None:
        return "crun is not installed"
    if "+CRIU" not in subprocess.run([CRUN, "--version"], capture_output=True, text=True).stdout:
        return "crun is built without CRIU support"
    if not pathlib.Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return "crun refuses hybrid cgroups (/sys/fs/cgroup is not a cgroup v2 mount)"
    return ""


@pytest.fixture
def crun_env(tmp_path, fake_cuda):
    why = crun_can_checkpoint()
    need(not why, why, fact="debian12-crun-cannot-checkpoint")
    env = GpucrEnv(tmp_path, runtime="crun")
    env.use_fake_cuda(fake_cuda)
    return env


@pytest.fixture
def podman_crun(tmp_path, crun_env, busybox_rootfs):
    # crun keeps its default state dir (/run/crun; in the sid root /run is the root's own tmpfs):
    # with podman's --runtime-flag root=DIR, crun 1.28's restore fails ("mnt: No mapping for
    # N:(null) mountpoint", N a masked path's mount), also without gpucr (docs/ENGINES.md).
    with podman_engine(tmp_path, crun_env, busybox_rootfs, runtime_root=None) as p:
        yield p


def test_containers_crun_podman_checkpoint_and_restore_with_cuda(podman_crun, crun_env, fake_cuda, tmp_path):
    podman = podman_crun
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    cid = podman.run_counter(name, data, podman.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    wait_count_above(data, 5)
    init = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    apps, _ = app_host_pids(init, data)
    podman("container", "checkpoint", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "exited"
    at = read_count(data)
    img = podman.t / "root/vfs-containers" / cid / "userdata/checkpoint"
    assert inventory_plugins(img) == ["cuda_plugin"]
    manifest = json.loads(run([GPUCR, "inspect", "--json", img], env={**os.environ, **crun_env.env}).stdout)["manifest"]
    assert sorted(p["pid"] for p in manifest["cuda_processes"]) == sorted(apps)
    assert f"container {cid}: init pid {init}" in crun_env.log_text()

    podman("container", "restore", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
    init2 = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    new_apps, _ = app_host_pids(init2, data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert "host pid" in crun_env.log_text(), "the wrapper mapped the restored processes"
    assert_apps_advance(data)
    assert_counter_continues(data, at)
    assert fake_cuda.frozen_calls() == [] and crun_env.journals() == []


def test_containers_crun_paused_container_is_paused_again_after_a_leave_running_checkpoint(
        podman_crun, crun_env, fake_cuda, tmp_path):
    """The CRI-O/containerd flow on crun: `crun pause` (cgroup.freeze), checkpoint --leave-running
    through the wrapper, resume."""
    podman = podman_crun
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    cid = podman.run_counter(name, data, podman.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    init = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    apps, _ = app_host_pids(init, data)
    crun = [str(crun_env.wrapper)]  # crun's default --root, as podman has it (podman_crun)

    def call(*args):
        return subprocess.run([*crun, *map(str, args)], capture_output=True, text=True, timeout=120)

    def status():
        return json.loads(call("state", cid).stdout)["status"]

    assert call("pause", cid).returncode == 0 and status() == "paused" and freezer_state(init) == "FROZEN"
    r = call("checkpoint", "--leave-running", "--file-locks", "--image-path", tmp_path / "img", "--work-path",
             tmp_path / "work", cid)
    assert r.returncode == 0, r.stderr
    assert status() == "paused" and freezer_state(init) == "FROZEN", "paused again"
    assert [fake_cuda.state_of(p) for p in apps] == ["running", "running"], "restored and unlocked while thawed"
    assert inventory_plugins(tmp_path / "img") == ["cuda_plugin"]
    counts = [read_kv(s)["counter"] for s in cuda_statuses(data)]
    time.sleep(0.3)
    assert [read_kv(s)["counter"] for s in cuda_statuses(data)] == counts, "a paused container does not run"
    assert call("resume", cid).returncode == 0 and status() == "running"
    assert_apps_advance(data)
    assert fake_cuda.frozen_calls() == [] and crun_env.journals() == []

"""A container with an AMD GPU user, through gpucr's container drivers (real runc, real criu): the
AMD phases run for containers as for process trees, and the runtime's criu gets exactly the
amdgpu plugin from --criu-plugins-dir (through gpucr's criu configuration file).

As in test_amd_plugins.py, only the device is faked, at gpucr's seams (tests/fakes/amd/
amd_fake_host): a process in the container holds a plain file that the process table reports as
/dev/kfd, the KFD answers version 1.14, the topology is a fixture, and the plugin is a stand-in
that logs its init stages into criu's log.
"""
import pathlib
import subprocess

import pytest

from conftest import need
from containers_lib import RUNC, busybox_rootfs, gpucr_env, runc, unique  # noqa: F401
from helpers import BUILD, REPO, wait_for

FAKES = BUILD / "tests/fakes/amd"
STANDINS = FAKES / "criu-plugins"
HARNESS = FAKES / "amd_fake_host"
TOPOLOGY = REPO / "tests/fixtures/kfd/one_gpu"


@pytest.fixture(autouse=True)
def _need_fakes():
    need(HARNESS.exists() and (STANDINS / "amdgpu_plugin.so").exists(), f"AMD test doubles are not built in {FAKES}")


def loaded_plugins(log):
    return [l.split('"')[1] for l in pathlib.Path(log).read_text().splitlines() if ') Plugin "' in l]


def harness(gpucr_env, tmp, *args):
    dev = tmp / "dev"
    (dev / "dri").mkdir(parents=True, exist_ok=True)
    (dev / "dri/renderD128").write_text("")  # the fixture GPU's render node
    argv = [str(HARNESS), *map(str, args), "--criu-plugins-dir", str(STANDINS), "--topology", str(TOPOLOGY),
            "--dev-root", str(dev), "--runtime", str(RUNC)]
    return subprocess.run(argv, capture_output=True, text=True, env={**gpucr_env.env, "PATH": "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"},
                          timeout=180)


def test_containers_amd_checkpoint_and_restore_run_the_runtimes_criu_with_only_the_amdgpu_plugin(
        runc, busybox_rootfs, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "kfd").write_text("stand-in for /dev/kfd\n")
    cid = unique()
    bundle = runc.bundle(busybox_rootfs, cid, data, args=["sh", "-c", "exec 9</data/kfd; while :; do (sleep 1); done"])
    runc.start(cid, bundle)
    img = tmp_path / "img"
    # The process table shows the fd by its path inside the container or on the host.
    aliases = ["--alias", "/data/kfd=/dev/kfd", "--alias", f"{data / 'kfd'}=/dev/kfd"]
    r = harness(gpucr_env, tmp_path, "checkpoint", "--container", cid, "--root", runc.root, "--image-dir", img,
                "--gpucr", BUILD / "src/cli/gpucr", *aliases)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "criu_plugins=amdgpu_plugin" in r.stdout
    assert runc.state(cid) is None, "checkpointed without --leave-running: the container is gone"
    # runc's criu loaded exactly the amdgpu plugin, from gpucr's private directory.
    assert loaded_plugins(img / "dump.log") == ["amdgpu_plugin"]
    assert "gpucr stand-in plugin amdgpu_plugin: init stage 0" in (img / "dump.log").read_text()
    inv = subprocess.run([str(BUILD / "src/cli/gpucr"), "inspect", img, "--json"], capture_output=True, text=True)
    assert '"amdgpu_plugin"' in inv.stdout, inv.stdout + inv.stderr

    r = harness(gpucr_env, tmp_path, "restore", "--container", cid, "--root", runc.root, "--image-dir", img,
                "--bundle", bundle, "--gpucr", BUILD / "src/cli/gpucr", *aliases)
    assert r.returncode == 0, r.stdout + r.stderr
    assert wait_for(lambda: (runc.state(cid) or {}).get("status") == "running", 20, what="the restored container")
    log = (img / "restore.log").read_text()
    assert loaded_plugins(img / "restore.log") == ["amdgpu_plugin"]
    assert "gpucr stand-in plugin amdgpu_plugin: init stage 2" in log
    assert gpucr_env.journals() == []

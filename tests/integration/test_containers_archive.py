"""Portable container checkpoints with fake CUDA processes (tests/fakes) inside:
  - a container restored through the gpucr-runc wrapper on a "destination" whose fake driver has
    other GPUs lands on the GPU its new config.json names (NVIDIA_VISIBLE_DEVICES), with no flag;
  - `gpucr checkpoint CONTAINER --export` and `gpucr restore --import ... CONTAINER`;
  - podman's own `container checkpoint --export` / `container restore --import` of a container
    run with the wrapper: the container runs on, its CUDA state running;
  - checkpointctl show/inspect read gpucr's container archives and podman's (checkpointctl is
    packaged from Debian 13 on: the sid root has it, Debian 12 does not)."""
import json
import shutil

import pytest

from conftest import need
from containers_lib import (GPUCR, app_host_pids, assert_apps_advance, assert_counter_continues,  # noqa: F401
                            busybox_rootfs, cuda_container, cuda_statuses, gpucr_env, read_count, run, run_to_files,
                            runc, unique, wait_apps_counting, wait_count_above)
from engines_lib import podman  # noqa: F401
from fakecuda import fake_cuda, fakes_built, gpu_uuid  # noqa: F401
from helpers import read_kv

CHECKPOINTCTL = shutil.which("checkpointctl")
DEST = "gpus.dest"  # the destination machine's gpus file (tests/fakes/README.md, "Machines")


def with_env(bundle, *entries):
    """Adds environment entries to BUNDLE/config.json (the new container's own configuration)."""
    path = bundle / "config.json"
    c = json.loads(path.read_text())
    c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("NVIDIA_VISIBLE_DEVICES=")] + list(entries)
    path.write_text(json.dumps(c, indent=1))


def test_containers_archive_wrapper_restore_lands_on_the_gpu_the_new_config_json_names(runc, busybox_rootfs, gpucr_env,
                                                                                        fake_cuda, tmp_path):
    fake_cuda.set_gpus(2)
    dest = fake_cuda.set_gpus(2, host=1, machine=DEST)  # the destination: other UUIDs, same chip
    cid, bundle, data, before = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path, apps=1)
    assert read_kv(cuda_statuses(data, 1)[0])["gpu"] == gpu_uuid(0)
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    img = tmp_path / "img"
    r = runc("checkpoint", "--image-path", img, cid, runtime=wrapper, env=gpucr_env.env)
    assert r.stderr == "", r.stderr
    at = read_count(data)
    there = {**gpucr_env.env, "FAKE_CUDA_GPUS": DEST}  # gpucr runs on the destination

    # The engine (or the device plugin) gave the new container a GPU this host does not have:
    # refused before runc runs, the images stay for another try.
    with_env(bundle, "NVIDIA_VISIBLE_DEVICES=GPU-00000000-dead-4000-8000-000000000000")
    rc, out, err = run_to_files(runc.argv("restore", "--detach", "--image-path", img, "--bundle", bundle, cid,
                                          runtime=wrapper), tmp_path, "restore1", env=there)
    assert rc != 0 and runc.state(cid) is None
    assert "NVIDIA_VISIBLE_DEVICES=GPU-00000000-dead-4000-8000-000000000000 names GPU" in err, err

    with_env(bundle, f"NVIDIA_VISIBLE_DEVICES={dest[1]}")
    rc, out, err = run_to_files(runc.argv("restore", "--detach", "--image-path", img, "--bundle", bundle, cid,
                                          runtime=wrapper), tmp_path, "restore2", env=there)
    assert rc == 0, err
    after = runc.state(cid)
    assert after["status"] == "running"
    new_apps, _ = app_host_pids(after["pid"], data, apps=1)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running"]
    assert read_kv(cuda_statuses(data, 1)[0])["gpu"] == dest[1], "on the GPU the new config.json names"
    assert_apps_advance(data, apps=1)
    assert_counter_continues(data, at)
    assert fake_cuda.frozen_calls() == [] and gpucr_env.journals() == []


def scratch_env(gpucr_env, tmp_path):
    """gpucr's environment with a private $TMPDIR (its scratch image directories go there)."""
    (tmp_path / "scratch").mkdir(exist_ok=True)
    return {**gpucr_env.env, "TMPDIR": str(tmp_path / "scratch")}


def gpucr_container_archive(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path):
    """A fake-CUDA runc container checkpointed by `gpucr checkpoint --export`; returns (cid, bundle,
    data dir, archive, counter at checkpoint)."""
    cid, bundle, data, before = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    archive = tmp_path / "c.tar.zst"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--export", archive, cid], tmp_path,
                                "checkpoint", env=scratch_env(gpucr_env, tmp_path))
    assert rc == 0, err
    assert runc.state(cid) is None
    return cid, bundle, data, archive, read_count(data)


def test_containers_archive_gpucr_export_and_import_of_a_container(runc, busybox_rootfs, gpucr_env, fake_cuda,
                                                                    tmp_path):
    cid, bundle, data, archive, at = gpucr_container_archive(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    doc = json.loads(run([GPUCR, "inspect", "--json", archive], env=scratch_env(gpucr_env, tmp_path)).stdout)
    assert doc["archive"]["top_level"] == ["spec.dump", "config.dump"], doc["archive"]
    assert doc["manifest"]["container"]["id"] == cid and doc["destination"]["ok"]
    assert not list((tmp_path / "scratch").iterdir()), "no private directory left"

    rc, out, err = run_to_files([GPUCR, "restore", "--root", runc.root, "--import", archive, "--bundle", bundle,
                                 "--detach", cid], tmp_path, "restore", env=scratch_env(gpucr_env, tmp_path))
    assert rc == 0, err
    assert f"restored container {cid}" in out and "archive read from" in out, out
    after = runc.state(cid)
    assert after["status"] == "running"
    new_apps, _ = app_host_pids(after["pid"], data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert_apps_advance(data)
    assert_counter_continues(data, at)
    assert not list((tmp_path / "scratch").iterdir())


def test_containers_archive_podman_export_and_import_through_the_wrapper(podman, gpucr_env, fake_cuda, tmp_path):
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    podman.run_counter(name, data, podman.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    wait_count_above(data, 5)
    archive = tmp_path / "podman.tar.zst"
    podman("container", "checkpoint", "--export", archive, name)
    at = read_count(data)
    podman("rm", "--force", "--time", "0", name)
    podman("container", "restore", "--import", archive)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
    init = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    apps, _ = app_host_pids(init, data)
    assert [fake_cuda.state_of(p) for p in apps] == ["running", "running"]
    assert_apps_advance(data)
    assert_counter_continues(data, at)
    assert fake_cuda.frozen_calls() == []
    if CHECKPOINTCTL:  # the same archive, read by checkpointctl (test below for gpucr's own)
        show = run([CHECKPOINTCTL, "show", archive]).stdout
        assert name in show and "Podman" in show, show
    podman("rm", "--force", "--time", "0", name)


@pytest.fixture
def checkpointctl():
    need(CHECKPOINTCTL is not None, "checkpointctl is not installed", fact="debian12-no-checkpointctl")
    return CHECKPOINTCTL


def test_containers_archive_checkpointctl_reads_gpucrs_container_archive(checkpointctl, runc, busybox_rootfs,
                                                                          gpucr_env, fake_cuda, tmp_path):
    cid, bundle, data, archive, at = gpucr_container_archive(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    show = run([checkpointctl, "show", archive]).stdout
    # a runc bundle's spec names no engine: checkpointctl files it under containerd; the ID and
    # runtime come from gpucr's config.dump
    row = next(line for line in show.splitlines() if cid[:12] in line)
    assert "runc" in row and "containerd" in row, show
    doc = json.loads(run([checkpointctl, "inspect", "--ps-tree", "--format", "json", archive]).stdout)[0]
    assert doc["id"] == cid and doc["runtime"] == "runc", doc
    assert doc["checkpoint_size"]["memory_pages_size"] > 0
    text = run([checkpointctl, "inspect", "--ps-tree", archive]).stdout
    assert "Process tree" in text and "fake_cuda_app" in text, text

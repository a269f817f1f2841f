"""podman with the gpucr-runc wrapper as its runtime and gpucr's hooks installed in its hooks dir:
podman container checkpoint/restore (also --export/--import) and the prestart/poststop hooks."""
import json
import tarfile
import time

from containers_lib import (GPUCR, assert_counter_continues, busybox_rootfs, gpucr_env,  # noqa: F401
                            read_count, run, unique, wait_count_above, wait_for)
from engines_lib import podman  # noqa: F401

FAKE_GPU = ["--device", "/dev/null:/dev/nvidia0"]  # a "GPU" device node (really /dev/null) for the hooks


def stopped_count(data):
    time.sleep(0.3)
    return read_count(data)


def test_containers_podman_checkpoint_and_restore_through_the_wrapper(podman, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    cid = podman.run_counter(name, data, podman.image, FAKE_GPU)
    record = gpucr_env.run_dir / "containers" / cid / "devices.json"
    assert json.loads(record.read_text())["devices"][0]["path"] == "/dev/nvidia0", "prestart ran at create"
    wait_count_above(data, 10)
    podman("container", "checkpoint", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "exited"
    at = stopped_count(data)
    assert not record.exists(), "poststop ran when runc removed the checkpointed container"
    manifest = podman.t / "root/vfs-containers" / cid / "userdata/checkpoint/gpucr-manifest"
    assert manifest.exists(), "the wrapper orchestrated podman's checkpoint"
    assert f"container {cid}: init pid" in gpucr_env.log_text()
    r = run([GPUCR, "inspect", manifest.parent, "--json"], check=False)
    assert cid in r.stdout, r.stdout + r.stderr

    podman("container", "restore", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
    assert_counter_continues(data, at)
    assert not record.exists(), "a restore records nothing"
    assert "host pid" in gpucr_env.log_text(), "the wrapper mapped the restored processes"

    podman("rm", "--force", "--time", "0", name)
    assert wait_for(lambda: gpucr_env.containers() == [], timeout=10, what="poststop to remove gpucr's records")


def test_containers_podman_export_and_import_carry_gpucrs_manifest(podman, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    podman.run_counter(name, data, podman.image, FAKE_GPU)
    wait_count_above(data, 10)
    archive = tmp_path / "checkpoint.tar"
    podman("container", "checkpoint", "--export", archive, "--compress", "none", name)
    at = stopped_count(data)
    with tarfile.open(archive) as tf:
        names = tf.getnames()
    assert "checkpoint/gpucr-manifest" in names and "checkpoint/inventory.img" in names
    assert "spec.dump" in names and "config.dump" in names
    podman("rm", "--force", "--time", "0", name)
    podman("container", "restore", "--import", archive)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
    assert_counter_continues(data, at)


def test_containers_podman_runs_the_installed_hooks_only_recording_gpu_containers(podman, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    gpu = podman.run_counter(unique(), data, podman.image, FAKE_GPU)
    plain = podman.run_counter(unique(), data, podman.image)
    assert gpucr_env.containers() == [gpu], "only the container with a GPU device gets a record"
    podman("stop", "--time", "0", gpu)
    assert wait_for(lambda: gpucr_env.containers() == [], timeout=10, what="poststop")
    podman("rm", "--force", "--time", "0", plain)

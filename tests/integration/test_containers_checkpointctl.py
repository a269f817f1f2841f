"""checkpointctl on podman's checkpoint archive (`podman container checkpoint --export`) of a
container run through the gpucr-runc wrapper with fake CUDA processes: gpucr's image (its
manifest and the inventory's cuda_plugin) reads like any podman checkpoint. What checkpointctl
prints was read in its source (checkpoint-restore/checkpointctl v1.3.0: cmd/show.go,
cmd/inspect.go, internal/container.go, internal/json.go, lib/metadata.go ByteToString).
checkpointctl is packaged from Debian 13 on: the sid root has it, Debian 12 does not."""
import json
import shutil
import tarfile

import pytest

from conftest import need
from containers_lib import (busybox_rootfs, cuda_statuses, gpucr_env, run, unique,  # noqa: F401
                            wait_apps_counting, wait_count_above)
from engines_lib import podman  # noqa: F401
from fakecuda import fake_cuda, fakes_built  # noqa: F401
from helpers import read_kv

CHECKPOINTCTL = shutil.which("checkpointctl")


def human_size(n):
    """A size as checkpointctl prints it: bytes below 1 KiB, else one decimal of KiB, MiB, ..."""
    if n < 1024:
        return f"{n} B"
    unit, exp = 1024, 0
    while n // unit >= 1024 and exp < 5:
        unit, exp = unit * 1024, exp + 1
    return f"{n / unit:.1f} {'KMGTPE'[exp]}iB"


def checkpoint_bytes(archive):
    """The sum of the regular files under checkpoint/ in the archive (checkpointctl's CHKPT size)."""
    with tarfile.open(archive) as tf:
        return sum(m.size for m in tf.getmembers() if m.isreg() and m.name.lstrip("./").startswith("checkpoint/"))


def commands(node):
    """[(pid, command)] of a checkpointctl process_tree node and its children, depth first."""
    return [(node["pid"], node["command"])] + [x for c in node.get("children", []) for x in commands(c)]


@pytest.fixture
def checkpointctl():
    need(CHECKPOINTCTL is not None, "checkpointctl is not installed", fact="debian12-no-checkpointctl")
    return CHECKPOINTCTL


def test_containers_checkpointctl_show_and_inspect_a_gpucr_checkpoint_archive(checkpointctl, podman, gpucr_env,
                                                                               fake_cuda, tmp_path):
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    cid = podman.run_counter(name, data, podman.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    wait_count_above(data, 5)
    # the apps' pids in the container (their status files say) and app1's non-CUDA child's
    apps = [read_kv(s)["pid"] for s in cuda_statuses(data)] + [read_kv(data / "app1.child0")["pid"]]
    archive = tmp_path / "checkpoint.tar"
    podman("container", "checkpoint", "--export", archive, "--compress", "none", name)
    with tarfile.open(archive) as tf:
        names = tf.getnames()
        inventory = tf.extractfile("checkpoint/inventory.img").read()
    assert "checkpoint/gpucr-manifest" in names and b"cuda_plugin" in inventory
    size = human_size(checkpoint_bytes(archive))

    show = run([checkpointctl, "show", archive]).stdout
    # CONTAINER IMAGE ID RUNTIME CREATED ENGINE CHKPT-SIZE ROOT-FS-DIFF-SIZE; podman records the
    # runtime it was given: the gpucr-runc launcher
    cols = next(line for line in show.splitlines() if line.startswith(name)).split()
    assert cols[:4] == [name, podman.image, cid[:12], str(gpucr_env.wrapper)] and cols[5] == "Podman", show
    assert " ".join(cols[6:8]) == size, f"CHKPT size {size}:\n{show}"

    doc = json.loads(run([checkpointctl, "inspect", "--ps-tree", "--format", "json", archive]).stdout)[0]
    assert (doc["container_name"], doc["id"], doc["engine"]) == (name, cid, "Podman")
    assert doc["checkpoint_size"]["total_size"] == checkpoint_bytes(archive)
    assert doc["checkpoint_size"]["memory_pages_size"] > 0
    tree = dict(commands(doc["process_tree"]))  # {pid in the container: command}
    assert doc["process_tree"]["pid"] == 1 and tree[1] == "sh", tree
    assert [tree.get(p) for p in apps] == ["fake_cuda_app"] * 3, (apps, tree)

    text = run([checkpointctl, "inspect", "--ps-tree", archive]).stdout
    assert f"Checkpoint size: {size}" in text and "Process tree" in text and "fake_cuda_app" in text, text

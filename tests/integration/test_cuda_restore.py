"""gpucr restore of CUDA processes on other GPUs: a missing GPU is found before criu runs (the
error spells out the --device-map to use), --device-map (indices or UUIDs) is completed to the
full one-to-one map the driver needs, maps that can't be completed are refused, and a failed GPU
restore kills the restored tree and leaves the images for a retry."""
import os

from cudarig import BAD_INPUT, FAILED, MISSING, USAGE, rig  # noqa: F401  (fixture)
from fakecuda import fakes_built  # noqa: F401  (fixture)
from helpers import read_kv, wait_for

A100 = "NVIDIA A100-SXM4-80GB"


def checkpointed_tree(rig, cuda=1):
    tree = rig.start_tree(cuda=cuda)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_gone(tree)
    return tree, img


def assert_nothing_restored(rig, tree, img):
    """The restore stopped before criu ran: no restored process, the pids stayed free."""
    assert not (img / "restore.log").exists()
    assert not any(os.path.exists(f"/proc/{p}") for p in tree.pids)
    assert not [c for c in rig.fc.calls() if c[0] in ("restore", "unlock")]
    rig.assert_clean()


def gpus_of(rig, tree):
    """The GPU each app runs on now (after it counted on: the status file is fresh)."""
    before = tree.counters()
    wait_for(lambda: all(c >= b + 2 for c, b in zip(tree.counters(), before)),
             what="the restored apps to count on")
    return [read_kv(st)["gpu"] for st in tree.statuses]


def test_missing_gpu_error_spells_out_the_device_map_that_then_works(rig):
    (old,) = rig.fc.set_gpus(1)
    tree, img = checkpointed_tree(rig)
    (new,) = rig.fc.set_gpus(1, host=1)  # the same chip under another UUID: "another machine"
    r = rig.gpucr("restore", "-D", img, "-d")
    assert r.returncode == MISSING, r.stderr
    assert f"error: the checkpoint needs GPU(s) {old} that this host does not have" in r.stderr
    assert ("hint: this host has the same GPUs under other UUIDs: restore with --device-map auto, which uses "
            f"--device-map {old}={new}") in r.stderr, r.stderr
    assert_nothing_restored(rig, tree, img)

    r = rig.gpucr_ok("restore", "-D", img, "-d", "--device-map", "0=0")  # index shorthand
    assert f"GPU map: {old}={new}" in r.stdout
    assert gpus_of(rig, tree) == [new]
    rig.advancing(tree)
    assert rig.states(tree) == ["running"]
    rig.assert_clean()

    rig.kill_tree(tree)  # the same images again, the map given as UUIDs
    r = rig.gpucr_ok("restore", "-D", img, "-d", "--device-map", f"{old}={new}")
    assert f"GPU map: {old}={new}" in r.stdout
    assert gpus_of(rig, tree) == [new]
    rig.advancing(tree)
    rig.assert_clean()


def test_partial_map_on_a_two_gpu_host_is_completed_one_to_one(rig):
    old0, old1 = rig.fc.set_gpus(2)
    tree, img = checkpointed_tree(rig)
    new0, new1 = rig.fc.set_gpus(2, host=1)
    r = rig.gpucr_ok("restore", "-D", img, "-d", "--device-map", f"{old0}=1")
    assert f"GPU map: {old0}={new1},{old1}={new0}" in r.stdout, r.stdout
    assert gpus_of(rig, tree) == [new1]
    rig.advancing(tree)
    (restore,) = [c for c in rig.fc.calls() if c[0] == "restore"]
    assert restore[2] == 0
    rig.assert_clean()


def test_maps_that_cant_be_completed_are_refused_before_anything_is_restored(rig):
    old0, old1 = rig.fc.set_gpus(2)
    tree, img = checkpointed_tree(rig)
    new0, new1 = rig.fc.set_gpus(2, host=1)
    r = rig.gpucr("restore", "-D", img, "-d", "--device-map", "0=0,1=0")
    assert r.returncode == USAGE, r.stderr
    assert f"--device-map maps two checkpointed GPUs onto {new0}; the driver needs a one-to-one map" \
        in r.stderr, r.stderr
    r = rig.gpucr("restore", "-D", img, "-d", "--device-map", "0=7")
    assert r.returncode == USAGE and "new GPU index 7 does not exist (2 GPUs)" in r.stderr, r.stderr
    r = rig.gpucr("restore", "-D", img, "-d", "--device-map", "GPU-nonsense=0")
    assert r.returncode == BAD_INPUT and "invalid GPU UUID 'GPU-nonsense'" in r.stderr, r.stderr

    rig.fc.set_gpus(1, host=2)  # one GPU of the same chip: two can't map one-to-one
    r = rig.gpucr("restore", "-D", img, "-d", "--device-map", "0=0")
    assert r.returncode == USAGE, r.stderr
    assert f"--device-map can't be completed: no free GPU of chip 'NVIDIA H100 80GB HBM3' here for {old1}" \
        in r.stderr, r.stderr

    (other,) = rig.fc.set_gpus(1, name=A100, host=3)  # another chip
    r = rig.gpucr("restore", "-D", img, "-d", "--device-map", "0=0")
    assert r.returncode == USAGE, r.stderr
    assert f"{old0} (NVIDIA H100 80GB HBM3) can't move to {other} ({A100}): restore needs a GPU " \
           "of the same chip" in r.stderr, r.stderr
    r = rig.gpucr("restore", "-D", img, "-d")
    assert r.returncode == MISSING, r.stderr
    assert "hint: restore on a host with the same GPU chips (2 GPU(s) at checkpoint, 1 here)" in r.stderr
    assert_nothing_restored(rig, tree, img)


def test_failed_gpu_restore_kills_the_restored_tree_and_a_retry_succeeds(rig):
    tree, img = checkpointed_tree(rig, cuda=2)
    bad = tree.apps[1]
    rig.fc.set_faults(f"restore fail 999 pid={bad} once")
    r = rig.gpucr("restore", "-D", img, "-d")
    assert r.returncode == FAILED, r.stderr
    assert f"error: CUDA restore of pid {bad} (fake_cuda_app) failed: CUDA_ERROR_UNKNOWN" in r.stderr
    killed = r.stderr.split("killed the restored tree (pids ", 1)[1].split(")", 1)[0]
    assert sorted(int(p) for p in killed.split(", ")) == sorted(tree.pids), r.stderr
    assert "the images are unchanged" in r.stderr
    assert "restored " not in r.stdout
    wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in tree.pids), timeout=15,
             what="the restored tree to be gone")
    rig.assert_clean()

    r = rig.gpucr_ok("restore", "-D", img, "-d")
    assert rig.states(tree) == ["running"] * 2
    rig.advancing(tree)
    rig.assert_clean()

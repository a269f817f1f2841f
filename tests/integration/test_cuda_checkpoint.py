"""gpucr checkpoint/restore of trees with fake CUDA processes and non-CUDA siblings, with the real
criu: the GPU state is locked, checkpointed, restored and unlocked around criu, in parallel, and
processes that were not RUNNING keep their state."""
import json
import shutil
import subprocess
import time

from cudarig import rig  # noqa: F401  (fixture)
from fakecuda import fakes_built, gpu_uuid  # noqa: F401  (fixture)
from helpers import GPUCR

OK = 0


def manifest(rig, img):
    r = rig.gpucr_ok("inspect", "--json", img)
    return json.loads(r.stdout)["manifest"]


def ops_of(rig, pid):
    return [c[0] for c in rig.fc.calls_for(pid)]


def test_one_cuda_process_with_non_cuda_siblings_is_checkpointed_killed_and_restored(rig):
    tree = rig.start_tree(cuda=1, mib=2)
    (app,) = tree.apps
    img = rig.img()
    r = rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    assert f"CUDA pid {app} (fake_cuda_app): initial running" in r.stdout
    rig.wait_gone(tree)
    at_checkpoint = tree.counters()
    assert ops_of(rig, app) == ["get_state", "lock", "checkpoint"]
    rig.assert_clean()
    m = manifest(rig, img)
    assert m["cuda_backend"] == "api"
    (rec,) = m["cuda_processes"]
    assert (rec["pid"], rec["initial_state"], rec["gpu_uuids"], int(rec["device_memory_bytes"])) == (
        app, "running", [gpu_uuid(0)], 2 << 20)
    assert [g["uuid"] for g in m["host_gpus"]] == [gpu_uuid(0)]

    r = rig.gpucr_ok("restore", "-D", img, "-d")
    assert f"CUDA pid {app} (fake_cuda_app): running (was running at checkpoint)" in r.stdout
    assert rig.states(tree) == ["running"]
    assert tree.counters()[0] >= at_checkpoint[0]  # continues, not restarted
    rig.advancing(tree)
    assert ops_of(rig, app) == ["get_state", "lock", "checkpoint", "restore", "unlock", "get_state"]  # the restore verifies the state it left
    for pid in tree.non_cuda:
        assert rig.fc.calls_for(pid) == [], pid
    assert rig.fc.frozen_calls() == []
    assert "error" not in r.stderr.lower()
    rig.assert_clean()


def overlap(calls):
    """True when every call of `calls` ran at the same time as every other one."""
    return max(c[3] for c in calls) < min(c[4] for c in calls)


def test_three_cuda_processes_are_locked_checkpointed_restored_and_unlocked_in_parallel(rig):
    tree = rig.start_tree(cuda=3)
    rig.fc.set_faults("lock slow 500", "checkpoint slow 500", "restore slow 500", "unlock slow 500")
    img = rig.img()
    r = rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img, "--json")
    phases = {p["name"]: p["seconds"] for p in json.loads(r.stdout)["phases"]}
    assert phases["gpu lock"] < 1.0 and phases["gpu checkpoint"] < 1.0  # not 3 x 0.5 s
    rig.wait_gone(tree)
    r = rig.gpucr_ok("restore", "-D", img, "-d", "--json")
    phases = {p["name"]: p["seconds"] for p in json.loads(r.stdout)["phases"]}
    assert phases["gpu restore"] < 1.0 and phases["gpu unlock"] < 1.0
    assert rig.states(tree) == ["running"] * 3
    rig.advancing(tree)
    calls = rig.fc.timed_calls()
    for op in ("lock", "checkpoint", "restore", "unlock"):
        of_op = [c for c in calls if c[0] == op]
        assert sorted(c[1] for c in of_op) == sorted(tree.apps) and all(c[2] == OK for c in of_op)
        assert overlap(of_op), f"{op} calls did not overlap: {of_op}"
    assert not {c[1] for c in calls} & set(tree.non_cuda)
    assert rig.fc.frozen_calls() == []
    rig.assert_clean()


def test_locked_and_checkpointed_processes_keep_their_state_through_leave_running_and_restore(rig):
    tree = rig.start_tree(cuda=3)
    locked, checkpointed, running = tree.apps
    for pid, actions in ((locked, ["lock"]), (checkpointed, ["lock", "checkpoint"])):
        for action in actions:
            assert rig.fc.tool("--action", action, "--pid", pid).returncode == 0
    before = {pid: len(rig.fc.calls_for(pid)) for pid in tree.apps}
    img = rig.img()
    r = rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img, "--leave-running")
    assert f"pid {locked} (fake_cuda_app): initial locked" in r.stdout
    assert f"pid {checkpointed} (fake_cuda_app): initial checkpointed" in r.stdout
    assert rig.states(tree) == ["locked", "checkpointed", "running"]
    gpucr_ops = {pid: [c[0] for c in rig.fc.calls_for(pid)[before[pid]:]] for pid in tree.apps}
    # gpucr never locked the locked one and returned it to LOCKED (restored, not unlocked); it
    # only asked about the checkpointed one.
    assert gpucr_ops == {locked: ["get_state", "checkpoint", "get_state", "restore"],
                         checkpointed: ["get_state"],
                         running: ["get_state", "lock", "checkpoint", "get_state", "restore", "unlock"]}
    recs = {p["pid"]: p["initial_state"] for p in manifest(rig, img)["cuda_processes"]}
    assert recs == {locked: "locked", checkpointed: "checkpointed", running: "running"}
    text = rig.gpucr_ok("inspect", img).stdout
    assert f"  pid {locked}  nspid {locked}  fake_cuda_app  initial locked  1.0 MiB device memory on " \
           f"{gpu_uuid(0)} (NVIDIA H100 80GB HBM3); checkpoint " in text, text
    assert "CUDA             backend api, 1 GPU(s) on the checkpoint host" in text
    rig.assert_clean()

    rig.kill_tree(tree)
    r = rig.gpucr_ok("restore", "-D", img, "-d")
    assert f"pid {locked} (fake_cuda_app): locked (was locked at checkpoint)" in r.stdout
    assert f"pid {checkpointed} (fake_cuda_app): checkpointed (was checkpointed at checkpoint)" in r.stdout
    assert rig.states(tree) == ["locked", "checkpointed", "running"]
    assert ops_of(rig, locked)[-2:] == ["restore", "get_state"]  # restored, not unlocked; verified
    count = tree.counters()[:2]
    time.sleep(0.4)
    assert tree.counters()[:2] == count  # neither LOCKED nor CHECKPOINTED processes run
    assert rig.fc.tool("--action", "unlock", "--pid", locked).returncode == 0
    for action in ("restore", "unlock"):
        assert rig.fc.tool("--action", action, "--pid", checkpointed).returncode == 0
    rig.advancing(tree)
    rig.assert_clean()


def test_leave_running_returns_every_process_to_running_and_the_image_restores(rig):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img, "--leave-running")
    assert rig.states(tree) == ["running"] * 2
    rig.advancing(tree)
    for pid in tree.apps:
        assert ops_of(rig, pid) == ["get_state", "lock", "checkpoint", "get_state", "restore",
                                    "unlock"]
    rig.assert_clean()
    rig.kill_tree(tree)
    rig.gpucr_ok("restore", "-D", img, "-d")
    assert rig.states(tree) == ["running"] * 2
    rig.advancing(tree)
    assert not {c[1] for c in rig.fc.calls()} & set(tree.non_cuda)
    rig.assert_clean()


def test_gpucr_binary_removed_during_the_checkpoint_still_guards_and_completes_the_dump(rig, tmp_path):
    """A package upgrade replaces gpucr while it checkpoints: criu's post-dump hook is gpucr, found
    through /proc/PID/exe once the path is gone (seen on the GPU machine: the checkpoint failed)."""
    copy = tmp_path / "bin" / "gpucr"
    copy.parent.mkdir()
    shutil.copy2(GPUCR, copy)
    tree = rig.start_tree(cuda=1)
    rig.fc.set_faults("checkpoint slow 1500")
    img = rig.img()
    p = subprocess.Popen([str(copy), "checkpoint", "--pid", str(tree.root), "-D", str(img)], env=rig.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    rig.wait_phase("gpu checkpoint")
    copy.unlink()  # while the GPU checkpoint runs, before criu is started with its hook
    out, err = p.communicate(timeout=90)
    assert p.returncode == 0, f"{out}\n{err}"
    assert "criu runs the post-dump hook as /proc/" in err
    rig.wait_gone(tree)
    assert ops_of(rig, tree.apps[0]) == ["get_state", "lock", "checkpoint"]
    rig.gpucr_ok("restore", "-D", img, "-d")
    assert rig.states(tree) == ["running"]
    rig.advancing(tree)

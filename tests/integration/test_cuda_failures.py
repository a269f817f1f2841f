"""A gpucr checkpoint that fails (a lock that times out, a GPU checkpoint error, criu failing)
returns every CUDA process to its initial state and leaves the tree running, with an error that
names the pid and the step."""
import json
import re
import socket
import time

from cudarig import FAILED, ROLLBACK_INCOMPLETE, rig  # noqa: F401  (fixture)
from fakecuda import fakes_built  # noqa: F401  (fixture)
from helpers import wait_for


def checkpoint(rig, tree, *args):
    img = rig.img()
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", img, *args)
    return r, img


def assert_rolled_back(rig, tree, img, dump_log):
    assert rig.states(tree) == ["running"] * len(tree.apps)
    rig.advancing(tree)
    assert (img / "dump.log").exists() == dump_log  # criu ran (a real one) or not
    assert not (img / "gpucr-manifest").exists()
    assert not {c[1] for c in rig.fc.calls()} & set(tree.non_cuda)
    assert rig.fc.frozen_calls() == []
    rig.assert_clean()
    assert rig.recovery_log() == ""  # gpucr rolled back itself; the guardian had nothing to do


def test_lock_that_never_returns_fails_at_gpucrs_deadline_and_rolls_back_the_others(rig):
    tree = rig.start_tree(cuda=3)
    hung = tree.apps[1]
    rig.fc.set_faults(f"lock hang pid={hung}")
    t0 = time.monotonic()
    r, img = checkpoint(rig, tree, "--gpu-lock-timeout", "1")
    took = time.monotonic() - t0
    assert r.returncode == FAILED, r.stderr
    assert re.search(rf"error: CUDA lock of pid {hung} \(fake_cuda_app\) did not finish within "
                     r"6\.\d+s", r.stderr), r.stderr
    assert 5.5 < took < 12
    assert ("lock", hung, "hang") in rig.fc.calls()
    for pid in tree.apps:
        if pid != hung:
            assert [c[0] for c in rig.fc.calls_for(pid)][-2:] == ["get_state", "unlock"]
    assert_rolled_back(rig, tree, img, dump_log=False)


def test_lock_timeout_reported_by_the_driver_is_not_retried(rig):
    tree = rig.start_tree(cuda=2)
    slow = tree.apps[0]
    rig.fc.set_faults(f"lock slow 3000 pid={slow}")
    t0 = time.monotonic()
    r, img = checkpoint(rig, tree, "--gpu-lock-timeout", "1")
    took = time.monotonic() - t0
    assert r.returncode == FAILED, r.stderr
    assert f"error: CUDA lock of pid {slow} (fake_cuda_app) failed: CUDA_ERROR_TIMEOUT" in r.stderr
    assert [c[2] for c in rig.fc.calls_for(slow) if c[0] == "lock"] == [909]  # asked once
    assert took < 3.0
    assert_rolled_back(rig, tree, img, dump_log=False)


def test_gpu_checkpoint_failure_unlocks_and_restores_every_process(rig):
    tree = rig.start_tree(cuda=3)
    bad = tree.apps[2]
    rig.fc.set_faults(f"checkpoint fail 999 pid={bad}")
    r, img = checkpoint(rig, tree)
    assert r.returncode == FAILED, r.stderr
    assert f"error: CUDA checkpoint of pid {bad} (fake_cuda_app) failed: CUDA_ERROR_UNKNOWN" in r.stderr
    for pid in tree.apps:  # the others were checkpointed, then restored and unlocked
        ops = [c[0] for c in rig.fc.calls_for(pid)]
        assert ops[-2:] == ["get_state", "unlock"] if pid == bad else ops[-3:] == [
            "get_state", "restore", "unlock"], (pid, ops)
    assert_rolled_back(rig, tree, img, dump_log=False)


def test_criu_failure_on_an_external_unix_socket_returns_every_process_to_running(rig):
    ours, theirs = socket.socketpair()
    try:
        tree = rig.start_tree(cuda=2, stdout=theirs)
        theirs.close()
        r, img = checkpoint(rig, tree)
        assert r.returncode == FAILED, r.stderr
        assert f"error: criu dump of pid {tree.root} failed" in r.stderr
        assert "ext" in r.stderr.lower() or "socket" in r.stderr.lower(), r.stderr
        for pid in tree.apps:
            assert [c[0] for c in rig.fc.calls_for(pid)] == [
                "get_state", "lock", "checkpoint", "get_state", "restore", "unlock"]
        assert_rolled_back(rig, tree, img, dump_log=True)
    finally:
        ours.close()


def test_failing_criu_binary_returns_every_process_to_running(rig):
    tree = rig.start_tree(cuda=2)
    r, img = checkpoint(rig, tree, "--criu", rig.failing_criu(), "--json")
    assert r.returncode == FAILED, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"]["exit_code"] == FAILED
    assert doc["error"]["message"].startswith(f"criu dump of pid {tree.root} failed (exit code 1)")
    assert "this criu fails on purpose" in " ".join(doc["error"]["details"])
    assert all("returned to running" in line for line in doc["cuda"]), doc["cuda"]
    assert_rolled_back(rig, tree, img, dump_log=False)


def test_process_the_driver_left_failed_is_a_rollback_incomplete_kept_for_recover(rig):
    tree = rig.start_tree(cuda=2)
    bad, good = tree.apps
    rig.fc.set_faults(f"checkpoint fail 999 state=failed pid={bad}")
    r, img = checkpoint(rig, tree)
    assert r.returncode == ROLLBACK_INCOMPLETE, r.stderr
    assert f"error: CUDA checkpoint of pid {bad} (fake_cuda_app) failed: CUDA_ERROR_UNKNOWN" in r.stderr
    assert f"gpu settle also failed: CUDA rollback incomplete: pid {bad} is failed and can't be " \
           "brought back to running" in r.stderr, r.stderr
    assert "hint: the journal was kept; run `gpucr recover` once the cause is fixed" in r.stderr
    assert rig.states(tree) == ["failed", "running"]
    wait_for(lambda: not rig.gpucr_left() and "error: recovery of" in rig.recovery_log(),
             what="the guardian's attempt")
    assert len(rig.journals()) == 1  # kept for `gpucr recover`
    r = rig.gpucr("recover")
    assert r.returncode == ROLLBACK_INCOMPLETE, r.stderr
    assert f"pid {bad} is failed and can't be brought back to running" in r.stderr
    assert "hint: the journal was kept; fix the cause and run `gpucr recover` again" in r.stderr
    assert len(rig.journals()) == 1

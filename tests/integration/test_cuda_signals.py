"""gpucr stopped in each phase of a checkpoint (SIGTERM: it rolls back itself; SIGKILL: its
guardian does; SIGKILL of both: the next `gpucr recover` or `gpucr checkpoint` does): afterwards
every CUDA process is RUNNING, no criu is left, the journal dir is empty."""
import os
import signal
import time

import pytest

from cudarig import FAILED, rig  # noqa: F401  (fixture)
from fakecuda import fakes_built  # noqa: F401  (fixture)
from helpers import pid_alive, wait_for

PHASES = ["gpu lock", "gpu checkpoint", "criu dump"]
MESSAGES = {"gpu lock": "before gpu checkpoint", "gpu checkpoint": "before criu dump",
            "criu dump": "during criu dump: gpucr's post-dump hook abandoned the dump"}


def hook_output(img):
    """What criu's action scripts (gpucr's post-dump hook) said: criu's log and its stderr."""
    return "".join(p.read_text(errors="replace") for p in img.glob("dump.log*"))


def start_checkpoint(rig, phase):
    """Starts `gpucr checkpoint` of a 2-CUDA-process tree with `phase` made slow (about 3 s) and
    returns once gpucr is in it: (tree, gpucr's Popen, journal document, image dir)."""
    tree = rig.start_tree(cuda=2)
    args = []
    if phase == "gpu lock":
        rig.fc.set_faults("lock slow 3000")
    elif phase == "gpu checkpoint":
        rig.fc.set_faults("checkpoint slow 3000")
    else:
        args = ["--criu", rig.slow_criu(3)]
    img = rig.img()
    p = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", img, *args)
    journal = rig.wait_phase(phase)
    if phase == "criu dump":
        wait_for(lambda: (rig.dir / "pre-dump").exists(), what="criu's pre-dump action")
        journal = rig.journal()
        assert journal["criu"] and pid_alive(journal["criu"]["pid"])
    else:
        time.sleep(0.3)  # the calls have started
    return tree, p, journal, img


def assert_all_back(rig, tree, timeout=20):
    # First everything gpucr started must be gone (a call still running could change a state).
    rig.assert_clean(timeout=timeout)
    assert rig.states(tree) == ["running"] * len(tree.apps)
    rig.advancing(tree)
    assert not {c[1] for c in rig.fc.calls()} & set(tree.non_cuda)
    assert rig.fc.frozen_calls() == []


@pytest.mark.parametrize("phase", PHASES)
def test_sigterm_rolls_back(rig, phase):
    tree, p, _, img = start_checkpoint(rig, phase)
    p.send_signal(signal.SIGTERM)
    rc, _, err = rig.finish(p)
    assert rc == FAILED, err
    assert f"error: interrupted by SIGTERM {MESSAGES[phase]}" in err, err
    if phase == "criu dump":
        assert "abandoning the dump (gpucr was asked to stop)" in hook_output(img)
    assert_all_back(rig, tree)
    assert rig.recovery_log() == ""  # gpucr finished the job itself


@pytest.mark.parametrize("phase", PHASES)
def test_sigkill_is_recovered_by_the_guardian(rig, phase):
    tree, p, journal, img = start_checkpoint(rig, phase)
    guardian = journal["guardian"]["pid"]
    p.kill()
    rig.finish(p)
    assert_all_back(rig, tree)
    assert not pid_alive(guardian)
    log = rig.recovery_log()
    assert "guardian: gpucr ended without finishing" in log, log
    assert f"(phase: {phase})" in log and "recovered:" in log, log
    if phase == "criu dump":
        assert "waiting for criu" in log
        assert "abandoning the dump (gpucr is no longer running)" in hook_output(img)


def kill_gpucr_and_guardian(rig, phase):
    tree, p, journal, _ = start_checkpoint(rig, phase)
    os.kill(journal["guardian"]["pid"], signal.SIGKILL)
    p.kill()
    rig.finish(p)
    wait_for(lambda: not rig.gpucr_left() and not rig.criu_left(), timeout=15,
             what="gpucr, its helpers and criu to end")
    assert len([j for j in rig.journals() if j.suffix == ".json"]) == 1  # left for recovery
    return tree


def test_sigkill_of_gpucr_and_guardian_is_finished_by_gpucr_recover(rig):
    tree = kill_gpucr_and_guardian(rig, "criu dump")
    assert rig.states(tree) == ["checkpointed"] * 2  # nobody returned them
    r = rig.gpucr_ok("recover")
    assert "recovered: every process and cgroup is back in its intended state" in r.stdout
    for pid in tree.apps:
        assert f"pid {pid}: checkpointed -> locked -> running" in r.stdout, r.stdout
    assert_all_back(rig, tree)
    assert "recovered:" in rig.recovery_log()
    assert "nothing to recover" in rig.gpucr_ok("recover").stdout


def test_sigkill_of_gpucr_and_guardian_is_finished_by_the_next_checkpoint(rig):
    tree = kill_gpucr_and_guardian(rig, "gpu checkpoint")
    assert rig.states(tree) == ["locked"] * 2
    r = rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", rig.img(), "--leave-running")
    assert "finishing an operation an earlier gpucr left unfinished" in r.stderr, r.stderr
    for pid in tree.apps:  # recovered before it looked at the processes
        assert f"pid {pid}: locked -> running" in r.stderr, r.stderr
        assert f"CUDA pid {pid} (fake_cuda_app): initial running" in r.stdout
    assert_all_back(rig, tree)


def test_sigkill_during_gpu_restore_is_finished_by_the_guardian(rig):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_gone(tree)
    rig.fc.set_faults("restore slow 3000")
    p = rig.spawn_gpucr("restore", "-D", img, "-d")
    journal = rig.wait_phase("gpu restore")
    assert sorted(q["pid"] for q in journal["processes"]) == sorted(tree.apps)
    time.sleep(0.3)
    p.kill()
    rig.finish(p)
    assert_all_back(rig, tree)
    log = rig.recovery_log()
    assert "recovering restore" in log and "(phase: gpu restore)" in log, log
    for pid in tree.apps:
        assert f"pid {pid}: checkpointed -> locked -> running" in log, log

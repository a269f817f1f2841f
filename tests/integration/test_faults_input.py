"""The fault matrix of issue 13 (docs/FAULTS.md), continued: input checked before anything changes
(relative and bad image dirs, kernel threads), exit codes, no debris left in the image dir, and
journals that can't be read. The process and criu faults are in test_faults.py."""
import os
import signal
import subprocess

import pytest

from cudarig import BAD_INPUT, OK, USAGE, rig  # noqa: F401  (fixture)
from fakecuda import fakes_built  # noqa: F401  (fixture)
from faults_lib import MANIFEST, assert_no_gpucr_debris
from helpers import pid_alive


# ---- 9: relative paths ------------------------------------------------------------------------
def test_relative_image_dir_works(rig):
    tree = rig.start_tree(cuda=1)
    r = subprocess.run([str(__import__("helpers").GPUCR), "checkpoint", "--pid", str(tree.root), "-D", "ck",
                        "--leave-running"], cwd=rig.dir, env=rig.env(), capture_output=True, text=True, timeout=90)
    assert r.returncode == OK, r.stderr
    assert (rig.dir / "ck" / MANIFEST).exists()
    rig.assert_clean()
    rig.advancing(tree)


# ---- 10: input is checked before anything changes -----------------------------------------------
@pytest.mark.parametrize("kind", ["symlink-to-dir", "dangling-symlink", "empty", "not-empty"])
def test_bad_image_dirs_are_refused_before_any_process_is_touched(rig, kind):
    tree = rig.start_tree(cuda=1)
    target = rig.dir / "elsewhere"
    img = rig.dir / "img-bad"
    if kind == "symlink-to-dir":
        target.mkdir()
        img.symlink_to(target)
    elif kind == "dangling-symlink":
        img.symlink_to(target)
    elif kind == "not-empty":
        img.mkdir()
        (img / "x").write_text("x")
    arg = "" if kind == "empty" else str(img)
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", arg)
    want = {"symlink-to-dir": "symbolic link", "dangling-symlink": "symbolic link", "empty": "",
            "not-empty": "not empty"}[kind]
    assert r.returncode in (USAGE, BAD_INPUT), r.stderr
    assert want in r.stderr, r.stderr
    if kind == "empty":
        assert r.returncode == USAGE
    assert rig.fc.calls() == []  # no CUDA call was made
    assert rig.journals() == []
    if kind == "symlink-to-dir":
        assert list(target.iterdir()) == []
    rig.advancing(tree)


# ---- 11: exit codes ---------------------------------------------------------------------------
def test_a_cuda_process_that_exits_mid_checkpoint_gives_exit_3_not_6(rig):
    tree = rig.start_tree(cuda=2)
    rig.fc.set_faults("checkpoint slow 2000")
    img = rig.img()
    p = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_phase("gpu checkpoint")
    os.kill(tree.apps[0], signal.SIGKILL)
    rc, _, err = rig.finish(p)
    assert rc == BAD_INPUT, err
    assert f"pid {tree.apps[0]}" in err and "exited during the checkpoint" in err, err
    rig.assert_clean()
    assert rig.fc.state_of(tree.apps[1]) == "running"
    assert pid_alive(tree.apps[1])


def test_kernel_threads_are_refused_up_front(rig):
    img = rig.img()
    r = rig.gpucr("checkpoint", "--pid", "2", "-D", img)
    assert r.returncode == BAD_INPUT, r.stderr
    assert "kernel thread" in r.stderr, r.stderr
    assert not img.exists()
    assert rig.journals() == []


# ---- 12: no debris in the image dir -------------------------------------------------------------
def test_a_sigkilled_restore_leaves_no_view_or_plugin_dir_in_the_image(rig):
    tree = rig.start_tree(cuda=1)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_gone(tree)
    before = {p.name: p.read_bytes() for p in img.iterdir()}
    rig.fc.set_faults("restore slow 3000")
    p = rig.spawn_gpucr("restore", "-D", img, "-d")
    rig.wait_phase("gpu restore")
    p.kill()
    rig.finish(p)
    rig.assert_clean(timeout=30)
    assert_no_gpucr_debris(img)
    after = {p.name: p.read_bytes() for p in img.iterdir()}
    assert {n: after.get(n) for n in before} == before  # the image's files are unchanged
    assert set(after) - set(before) <= {"restore.log", "restore.log.out", "restore.pid", "stats-restore"}, set(after) - set(before)
    rig.advancing(tree)


# ---- 13: journals that can't be read ------------------------------------------------------------
def test_an_unreadable_journal_is_listed_and_can_be_discarded(rig):
    ops = rig.run_dir / "ops"
    rig.run_dir.mkdir(mode=0o700)
    ops.mkdir(mode=0o700)
    bad = ops / "checkpoint-1-1.json"
    bad.write_text("{ not json")
    r = rig.gpucr("recover")
    assert r.returncode != OK
    assert f"cannot read {bad}" in r.stderr and f"gpucr recover --discard {bad}" in r.stderr, r.stderr
    assert bad.exists()
    r = rig.gpucr_ok("recover", "--discard", bad)
    assert not bad.exists()
    assert "discarded" in rig.recovery_log()
    assert "nothing to recover" in rig.gpucr_ok("recover").stdout

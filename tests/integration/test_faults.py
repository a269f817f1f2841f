"""The fault matrix of issue 13 (docs/FAULTS.md): one test per defect a fault campaign found, each
asserting the final state of every process (alive, CUDA state), the cgroup, the image dir, the run
dir (no journal, no guardian, no criu left) and gpucr's exit code and message.

The held behaviours of that campaign (SIGTERM/SIGKILL/Ctrl-C in each phase) are in
test_cuda_signals.py, test_freezer.py and test_cuda_failures.py; docs/FAULTS.md lists them all.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from cudarig import FAILED, OK, rig  # noqa: F401  (fixture)
from fakecuda import fakes_built  # noqa: F401  (fixture)
from faults_lib import (MANIFEST, assert_no_gpucr_debris, criu_wrapper, image_files, restorable,
                        start_checkpoint_with_a_hung_criu)
from helpers import pid_alive, wait_for


# ---- 1: the image is complete before criu ends the tree -------------------------------------------
def test_image_is_complete_while_the_tree_is_still_frozen(rig):
    """criu runs action scripts last-given first: ours, given before gpucr's, runs after gpucr's
    post-dump hook, with the tasks still frozen and alive."""
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    seen = rig.dir / "seen-at-post-dump"
    probe = rig.script("probe", "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] || exit 0\n"
                       f'{{ [ -s "{img}/{MANIFEST}" ] && echo manifest; '
                       f'kill -0 {tree.apps[0]} && echo alive; }} > "{seen}"\n')
    criu = criu_wrapper(rig, "probe-criu", f'[ "$1" = dump ] && {{ shift; exec "$REAL" dump --action-script "{probe}" "$@"; }}\n'
                        'exec "$REAL" "$@"\n')
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img, "--criu", criu)
    assert seen.read_text().split() == ["manifest", "alive"]
    doc = json.loads(rig.gpucr_ok("inspect", "--json", img).stdout)
    assert "cuda" in json.dumps(doc["inventory"]).lower() or doc["manifest"]["processes"], doc
    restorable(rig, img, tree)
    rig.assert_clean()


def test_a_manifest_that_cannot_be_written_fails_the_dump_and_resumes_the_tree(rig):
    """ENOSPC-like: the manifest's path is taken (a directory) when gpucr's post-dump hook writes
    it. The dump fails, criu resumes the tasks, gpucr returns the GPU state: exit 1 is true."""
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    block = rig.script("block", "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] || exit 0\n"
                       f'mkdir "{img}/{MANIFEST}" "{img}/{MANIFEST}.tmp" 2>/dev/null; exit 0\n')
    criu = criu_wrapper(rig, "block-criu", f'[ "$1" = dump ] && exec "$REAL" "$@" --action-script "{block}"\n'
                        'exec "$REAL" "$@"\n')
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", img, "--criu", criu)
    assert r.returncode == FAILED, r.stderr
    assert "criu dump" in r.stderr, r.stderr
    rig.assert_clean()
    assert all(pid_alive(p) for p in tree.pids)
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * 2


def test_sigkill_at_post_dump_resumes_the_tree_and_the_guardian_returns_the_gpu_state(rig):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    marker = rig.dir / "at-post-dump"
    pause = rig.script("pause", "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] || exit 0\n"
                       f'touch "{marker}"; sleep 2; exit 0\n')
    criu = criu_wrapper(rig, "pause-criu", f'[ "$1" = dump ] && exec "$REAL" "$@" --action-script "{pause}"\n'
                        'exec "$REAL" "$@"\n')
    p = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", img, "--criu", criu)
    wait_for(marker.exists, timeout=30, what="criu's post-dump action")
    p.kill()
    rig.finish(p)
    rig.assert_clean(timeout=30)
    assert all(pid_alive(q) for q in tree.pids)
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * 2
    assert "recovered:" in rig.recovery_log(), rig.recovery_log()
    assert_no_gpucr_debris(img)


# ---- 2: a CUDA image without its manifest ---------------------------------------------------------
def test_restore_without_manifest_still_restores_every_cuda_process(rig):
    tree = rig.start_tree(cuda=2)
    a, b = rig.img(), rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", a)
    rig.wait_gone(tree)
    b.mkdir(mode=0o700)
    for f in a.glob("*.img"):
        shutil.copy(f, b)
    r = rig.gpucr("restore", "-D", b, "-d")
    assert r.returncode == OK, r.stderr
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * 2
    rig.assert_clean()


# ---- 3: names that are not UTF-8 ------------------------------------------------------------------
@pytest.mark.parametrize("cuda", [False, True])
def test_a_process_name_cut_inside_a_utf8_character_checkpoints_and_restores(rig, cuda, tmp_path):
    # 14 ASCII bytes then "é": the kernel keeps 15 bytes of the name, half of the "é".
    exe = tmp_path / "abcdefghijklmn\u00e9_job"
    if cuda:
        from fakecuda import APP
        shutil.copy(APP, exe)
        status = rig.dir / "utf8app"
        proc = subprocess.Popen([str(exe), "--mib", "1", "--status", str(status), "--children", "0"],
                                env=rig.fc.env(), start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rig.fc.procs.append(proc)
        from helpers import read_kv
        wait_for(lambda: read_kv(status).get("counter", 0) >= 1, what="the app to count")
    else:
        shutil.copy("/bin/sleep", exe)
        proc = subprocess.Popen([str(exe), "1000"], env=rig.fc.env(), start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rig.fc.procs.append(proc)
        wait_for(lambda: open(f"/proc/{proc.pid}/comm", "rb").read().startswith(b"abcdefghijklmn"),
                 what="the renamed exec")
    assert open(f"/proc/{proc.pid}/comm", "rb").read().rstrip(b"\n") == b"abcdefghijklmn\xc3"
    img = rig.img()
    r = rig.gpucr("checkpoint", "--pid", proc.pid, "-D", img, "--json")
    assert r.returncode == OK, r.stderr
    json.loads(r.stdout)  # valid JSON (non-UTF-8 bytes are escaped)
    proc.wait(timeout=15)
    doc = json.loads(rig.gpucr_ok("inspect", "--json", img).stdout)
    assert "abcdefghijklmn" in json.dumps(doc)
    r = rig.gpucr("restore", "-D", img, "-d", "--json")
    assert r.returncode == OK, r.stderr
    root = json.loads(r.stdout)["root_pid"]
    assert pid_alive(root)
    if cuda:
        assert rig.fc.state_of(root) == "running"
    os.kill(root, signal.SIGKILL)
    rig.assert_clean()


# ---- 4: criu restore fails after restoring the tree ----------------------------------------------
def test_criu_restore_failing_after_it_restored_the_tree_kills_what_it_restored(rig):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_gone(tree)
    before = image_files(img)
    criu = criu_wrapper(rig, "fail-after-criu", '"$REAL" "$@"; rc=$?; [ "$1" = restore ] && exit 1; exit $rc\n')
    r = rig.gpucr("restore", "-D", img, "-d", "--criu", criu)
    assert r.returncode == FAILED, r.stderr
    assert "killed the restored tree" in r.stderr and "the images are unchanged" in r.stderr, r.stderr
    rig.assert_clean()
    wait_for(lambda: not any(pid_alive(p) for p in tree.pids), what="no restored process left")
    assert image_files(img) == before
    # (No retry here: the restored tree ran before it was killed, and may have removed files the
    # image refers to, as the fake apps' status files. A retry is tested where criu did not resume.)


def test_ctrl_c_during_criu_restore_does_not_reach_criu(rig):
    """criu runs in its own process group: a terminal's SIGINT goes to gpucr only, which rolls
    back when criu is done."""
    tree = rig.start_tree(cuda=1)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_gone(tree)
    before = image_files(img)
    marker = rig.dir / "restoring"
    criu = criu_wrapper(rig, "slow-restore", f'[ "$1" = restore ] && {{ touch "{marker}"; sleep 2; }}\n'
                        'exec "$REAL" "$@"\n')
    p = rig.spawn_gpucr("restore", "-D", img, "-d", "--criu", criu)
    wait_for(marker.exists, timeout=30, what="criu restore to start")
    os.killpg(p.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
    rc, _, err = rig.finish(p)
    assert rc == FAILED, err
    assert "interrupted by SIGINT" in err, err
    assert "killed the restored tree" in err, err
    rig.assert_clean()
    wait_for(lambda: not any(pid_alive(q) for q in tree.pids), what="no restored process left")
    assert image_files(img) == before


# ---- 5: criu has a deadline -------------------------------------------------------------------------
@pytest.mark.parametrize("at", ["dump", "restore"])
def test_a_hung_criu_is_stopped_at_its_deadline_and_everything_rolls_back(rig, at):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    hang = criu_wrapper(rig, "hang-criu", f'[ "$1" = {at} ] && exec sleep 100000\nexec "$REAL" "$@"\n')
    if at == "restore":
        rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
        rig.wait_gone(tree)
        args = ["restore", "-D", img, "-d"]
    else:
        args = ["checkpoint", "--pid", tree.root, "-D", img]
    t0 = time.monotonic()
    r = rig.gpucr(*args, "--criu", hang, "--criu-deadline", "3", timeout=60)
    took = time.monotonic() - t0
    assert r.returncode == FAILED, r.stderr
    assert "deadline" in r.stderr, r.stderr
    assert took < 3 + 10 + 10, took  # deadline + cancel grace + rollback
    rig.assert_clean()
    if at == "dump":
        rig.advancing(tree)
        assert rig.states(tree) == ["running"] * 2
    else:
        rig.gpucr_ok("restore", "-D", img, "-d")
        rig.advancing(tree)


def test_guardian_of_a_killed_gpucr_stops_a_hung_criu_at_the_journals_deadline(rig):
    tree = rig.start_tree(cuda=2)
    p = start_checkpoint_with_a_hung_criu(rig, tree, "--criu-deadline", "3")
    assert rig.states(tree) == ["checkpointed"] * 2
    p.kill()
    rig.finish(p)
    rig.assert_clean(timeout=30)
    assert rig.states(tree) == ["running"] * 2
    rig.advancing(tree)
    log = rig.recovery_log()
    assert "recovered:" in log, log


def test_sigterm_while_criu_hangs_rolls_back_in_bounded_time(rig):
    tree = rig.start_tree(cuda=1)
    p = start_checkpoint_with_a_hung_criu(rig, tree)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    rc, _, err = rig.finish(p, timeout=30)
    assert time.monotonic() - t0 < 15
    assert rc == FAILED and "interrupted by SIGTERM" in err, err
    rig.assert_clean()
    rig.advancing(tree)
    assert rig.states(tree) == ["running"]


# ---- 6: recover --journal on a live operation ----------------------------------------------------
def test_recover_refuses_the_journal_of_a_live_operation(rig):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    rig.fc.set_faults("checkpoint slow 1500")
    p = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_phase("gpu checkpoint")
    os.kill(p.pid, signal.SIGSTOP)
    try:
        journal = next(j for j in rig.journals() if j.suffix == ".json")
        r = rig.gpucr("recover", "--journal", journal)
        assert r.returncode != OK
        assert "is alive" in r.stderr and "--force" in r.stderr, r.stderr
        assert journal.exists()
    finally:
        os.kill(p.pid, signal.SIGCONT)
    rc, _, err = rig.finish(p)
    assert rc == OK, err
    rig.assert_clean()
    restorable(rig, img, tree)


# ---- 7: one operation per tree ------------------------------------------------------------------
def test_a_second_checkpoint_of_the_same_tree_waits_for_the_first(rig):
    tree = rig.start_tree(cuda=1)
    rig.fc.set_faults("checkpoint slow 1500")
    a, b = rig.img(), rig.img()
    p1 = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", a, "--leave-running")
    rig.wait_phase("gpu checkpoint")
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", b, "--leave-running", "--lock-wait", "0")
    assert r.returncode != OK
    assert "another gpucr operation" in r.stderr.lower() or "--lock-wait" in r.stderr, r.stderr
    assert not b.exists()
    p2 = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", b, "--leave-running", "--json")
    rc1, _, err1 = rig.finish(p1)
    rc2, out2, err2 = rig.finish(p2)
    assert (rc1, rc2) == (OK, OK), (err1, err2)
    doc = json.loads(out2)
    assert doc["cuda"] and all("initial running" in line for line in doc["cuda"]), doc["cuda"]
    rig.assert_clean()
    rig.advancing(tree)


# ---- 8: a --restore-frozen restore killed after criu ----------------------------------------------
def test_restore_frozen_killed_after_criu_leaves_the_cgroup_frozen(rig):
    from cgroups import TestCgroup, hierarchy_root
    if hierarchy_root("v2") is None:
        pytest.fail("no cgroup v2 hierarchy: this test needs one (CI has it)")
    cg = TestCgroup("v2")
    try:
        status = rig.dir / "st"
        from helpers import WORKLOADS, read_kv
        proc = cg.spawn([WORKLOADS / "tree_workload", status])
        wait_for(lambda: read_kv(status).get("counter", 0) >= 2, what="the workload to count")
        img = rig.img()
        cg.freeze()
        rig.gpucr_ok("checkpoint", "--pid", proc.pid, "-D", img)
        proc.wait(timeout=15)
        marker = rig.dir / "restored"
        criu = criu_wrapper(rig, "slow-after-restore",
                            '"$REAL" "$@"; rc=$?\n'
                            f'[ "$1" = restore ] && {{ touch "{marker}"; sleep 3; }}\nexit $rc\n')
        p = rig.spawn_gpucr("restore", "-D", img, "-d", "--restore-frozen", "--criu", criu)
        wait_for(marker.exists, timeout=30, what="criu to have restored the tree")
        assert cg.state_files() == cg.expected_files("THAWED")  # gpucr thawed it for criu
        p.kill()
        rig.finish(p)
        rig.assert_clean(timeout=30)
        assert cg.state_files() == cg.expected_files("FROZEN")
        c = read_kv(status).get("counter", 0)
        time.sleep(0.4)
        assert read_kv(status).get("counter", 0) == c  # nothing in it runs
        assert "recovered:" in rig.recovery_log()
    finally:
        cg.destroy()


# ---- criu dying of a signal --------------------------------------------------------------------
def crashing_criu(rig, action, sig):
    """A criu whose action script kills criu itself with `sig` at `action`. criu runs the action
    script given last first: ours, before gpucr's."""
    crash = rig.script(f"crash-{action}", f'#!/bin/sh\n[ "$CRTOOLS_SCRIPT_ACTION" = {action} ] || exit 0\n'
                       f'kill -{sig} $PPID; sleep 5\n')
    return criu_wrapper(rig, f"segv-criu-{action}",
                        f'case "$1" in dump|restore) exec "$REAL" "$@" --action-script "{crash}";; esac\n'
                        'exec "$REAL" "$@"\n')


def test_criu_dump_dying_of_sigsegv_with_the_tasks_seized_rolls_back(rig):
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", img, "--criu", crashing_criu(rig, "post-dump", "SEGV"))
    assert r.returncode == FAILED, r.stderr
    assert "SIGSEGV" in r.stderr or "signal 11" in r.stderr, r.stderr
    rig.assert_clean()
    assert all(pid_alive(p) for p in tree.pids)
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * 2


def test_criu_restore_killed_before_resume_kills_the_waiting_tasks(rig):
    """SIGKILL: criu restore blocks every other signal (a SIGSEGV sent by kill stays pending; a
    real fault can't be blocked and kills it the same way)."""
    tree = rig.start_tree(cuda=2)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    rig.wait_gone(tree)
    r = rig.gpucr("restore", "-D", img, "-d", "--criu", crashing_criu(rig, "post-restore", "KILL"))
    assert r.returncode == FAILED, r.stderr
    assert "killed the restored tree" in r.stderr, r.stderr
    rig.assert_clean()
    wait_for(lambda: not any(pid_alive(p) for p in tree.pids), what="no half-restored task left")
    rig.gpucr_ok("restore", "-D", img, "-d")
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * 2

"""Freezer cgroups on REAL cgroups, v1 and v2: discovery, checkpoint of frozen and thawed trees
without GPU processes, criu failure, SIGTERM/SIGKILL of gpucr, recovery from a record, and
`gpucr restore --restore-frozen`. Every test ends by asserting the kernel's state files.

GPU trees (thaw for GPU work, interrupt-only criu) need the CUDA phases; their freezer logic is
covered by tests/unit/test_freezer_keeper.cpp and the record-based recovery below.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from cgroups import TestCgroup, hierarchy_root
from conftest import need
from helpers import BUILD, GPUCR, WORKLOADS, read_kv, wait_for

TOOL = BUILD / "tests/tools/gpucr_testtool"


@pytest.fixture(params=["v1", "v2"])
def cgroup(request):
    need(hierarchy_root(request.param) is not None, f"no cgroup {request.param} freezer hierarchy mounted")
    need(TOOL.exists(), f"{TOOL} is not built")
    cg = TestCgroup(request.param)
    try:
        yield cg
    finally:
        cg.destroy()


class Tree:
    """tree_workload running inside a cgroup; its counter shows whether it runs."""

    def __init__(self, cg, tmp):
        self.status = tmp / "status"
        self.proc = cg.spawn([WORKLOADS / "tree_workload", self.status])
        self.pid = self.proc.pid
        wait_for(lambda: read_kv(self.status).get("counter", 0) >= 2, 10, what="the workload to count")
        wait_for(lambda: len(cg.procs()) == 3, 10, what="3 processes in the cgroup")

    def counter(self):
        return read_kv(self.status).get("counter", 0)

    def runs(self):
        c = self.counter()
        time.sleep(0.3)
        return self.counter() > c

    def reap(self):
        """Waits for the root (our child): a zombie would keep its pid busy for a restore."""
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture
def tree(cgroup, tmp_path):
    t = Tree(cgroup, tmp_path)
    try:
        yield t
    finally:
        cgroup.destroy()
        t.reap()


def tool(*args, check=True):
    r = subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, f"gpucr_testtool {args}: {r.returncode}\n{r.stderr}"
    return r


def manifest_freezer(gpucr, image_dir):
    doc = json.loads(gpucr("inspect", "--json", image_dir, check=True).stdout)
    return doc["manifest"].get("freezer")


def criu_wrapper(tmp, action_body):
    """A criu that adds an --action-script to dumps; the script runs `action_body` at post-dump."""
    criu = shutil.which("criu")
    script = tmp / "action.sh"
    script.write_text(f'#!/bin/sh\n[ "$CRTOOLS_SCRIPT_ACTION" = post-dump ] || exit 0\n{action_body}\n')
    wrapper = tmp / "criu-wrapper"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = dump ]; then exec {criu} "$@" --action-script {script}; fi\n'
                       f'exec {criu} "$@"\n')
    for f in (script, wrapper):
        f.chmod(0o755)
    return wrapper


def test_testtool_finds_freezes_and_thaws_the_real_cgroup(cgroup, tree):
    found = json.loads(tool("freezer-find", tree.pid).stdout)
    assert found["found"] and found["version"] == cgroup.version
    assert found["dir"] == str(cgroup.dir) and found["state"] == "THAWED"
    tool("freezer-freeze", cgroup.dir)
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    assert not tree.runs()
    tool("freezer-thaw", cgroup.dir)
    assert cgroup.state_files() == cgroup.expected_files("THAWED")
    assert tree.runs()


def test_pid_in_the_root_cgroups_has_no_freezer(tmp_path):
    need(TOOL.exists(), f"{TOOL} is not built")
    p = subprocess.Popen(["sleep", "30"])
    try:
        for version in ("v1", "v2"):
            root = hierarchy_root(version)
            if root:
                (root / "cgroup.procs").write_text(str(p.pid))
        found = json.loads(tool("freezer-find", p.pid).stdout)
        assert not found["found"]
        assert f"pid {p.pid}" in found["reason"] and "root cgroup" in found["reason"]
    finally:
        p.kill()
        p.wait()


def test_frozen_tree_without_gpu_is_checkpointed_without_thawing(gpucr, cgroup, tree, tmp_path):
    cgroup.freeze()
    before = tree.counter()
    img = tmp_path / "img"
    r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", img, "--leave-running", "--json",
              "--criu-log-level", "4", check=True)  # criu's freezer line is a debug line
    assert json.loads(r.stdout)["freezer"]["original_state"] == "FROZEN"
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    time.sleep(0.3)
    assert tree.counter() == before  # it never ran: gpucr did not thaw it
    # gpucr gave criu the frozen cgroup (ptrace alone can't seize frozen tasks).
    assert f"Detected cgroup V{cgroup.version[1]} freezer" in (img / "dump.log").read_text()
    rec = manifest_freezer(gpucr, img)
    assert rec["dir"] == str(cgroup.dir) and rec["original_state"] == "FROZEN"
    assert not rec.get("thawed_by_gpucr", False)
    assert "FROZEN at checkpoint" in gpucr("inspect", img, check=True).stdout
    cgroup.thaw()
    assert tree.runs()  # and the tree is intact


def test_frozen_tree_dumped_and_killed_leaves_the_cgroup_frozen(gpucr, cgroup, tree, tmp_path):
    cgroup.freeze()
    gpucr("checkpoint", "--pid", tree.pid, "--image-dir", tmp_path / "img", check=True)
    tree.reap()
    wait_for(lambda: not cgroup.procs(), 10, what="the dumped tree to be gone")
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")


def test_thawed_tree_with_freeze_cgroup_flag_ends_thawed(gpucr, cgroup, tree, tmp_path):
    img = tmp_path / "img"
    gpucr("checkpoint", "--pid", tree.pid, "--image-dir", img, "--leave-running",
          "--freeze-cgroup", cgroup.dir, "--manage-cgroups-mode", "soft", "--criu-log-level", "4", check=True)
    log = (img / "dump.log").read_text()
    assert f"Detected cgroup V{cgroup.version[1]} freezer" in log
    assert cgroup.state_files() == cgroup.expected_files("THAWED")
    assert manifest_freezer(gpucr, img)["original_state"] == "THAWED"
    assert tree.runs()


@pytest.mark.parametrize("original", ["FROZEN", "THAWED"])
def test_criu_failure_leaves_the_cgroup_in_its_original_state(gpucr, cgroup, tree, tmp_path, original):
    if original == "FROZEN":
        cgroup.freeze()
    wrapper = criu_wrapper(tmp_path, "exit 1")
    r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", tmp_path / "img", "--leave-running",
              "--freeze-cgroup", cgroup.dir, env={"GPUCR_CRIU": str(wrapper)})
    assert r.returncode == 1, r.stderr
    assert "criu dump" in r.stderr and "failed" in r.stderr
    assert cgroup.state_files() == cgroup.expected_files(original)
    assert tree.runs() == (original == "THAWED")
    if original == "FROZEN":
        cgroup.thaw()
        assert tree.runs()


def criu_running_for(img):
    out = subprocess.run(["pgrep", "-f", f"criu.*{img}"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def start_checkpoint_paused_at_post_dump(cgroup, tree, tmp_path):
    marker = tmp_path / "post-dump-reached"
    wrapper = criu_wrapper(tmp_path, f"touch {marker}\nsleep 2")
    img = tmp_path / "img"
    env = dict(os.environ, GPUCR_CRIU=str(wrapper), GPUCR_RUN_DIR=str(tmp_path / "run"))
    p = subprocess.Popen([str(GPUCR), "checkpoint", "--pid", str(tree.pid), "--image-dir", str(img),
                          "--leave-running"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(marker.exists, 20, what="criu's post-dump action")
    return p, img


def test_sigterm_of_gpucr_mid_checkpoint_leaves_the_original_state(cgroup, tree, tmp_path):
    # Every dump has gpucr's post-dump hook, GPU processes or not. criu runs the action script
    # added last first: the test's script (which waits) runs before gpucr's hook, which then
    # finds gpucr asked to stop and abandons the dump: criu resumes the tree and puts the
    # cgroup back (a rollback, exit 1), before any process of the tree was killed.
    cgroup.freeze()
    p, img = start_checkpoint_paused_at_post_dump(cgroup, tree, tmp_path)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    assert "interrupted by SIGTERM during criu dump: gpucr's post-dump hook abandoned the dump" in err
    assert not (img / "gpucr-manifest").exists()
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    cgroup.thaw()
    assert tree.runs()


def test_sigkill_of_gpucr_mid_checkpoint_leaves_the_original_state(cgroup, tree, tmp_path):
    # A tree without GPU processes is never thawed by gpucr: criu (--freeze-cgroup) owns the
    # freezer during the dump and puts it back even when gpucr is gone.
    cgroup.freeze()
    p, img = start_checkpoint_paused_at_post_dump(cgroup, tree, tmp_path)
    p.kill()
    p.communicate(timeout=30)
    wait_for(lambda: not criu_running_for(img), 30, what="the orphaned criu to finish")
    # The guardian's recovery puts the cgroup back too: wait until it is done.
    wait_for(lambda: not list((tmp_path / "run" / "ops").glob("*.json")), 30, what="the guardian to finish")
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    cgroup.thaw()
    assert tree.runs()


def test_recovery_from_the_record_alone(cgroup, tree, tmp_path):
    record = tmp_path / "freezer-record"
    cgroup.freeze()
    # A gpucr that thawed the tree for GPU work and died: only its record is left.
    out = json.loads(tool("keeper-thaw", tree.pid, record).stdout)
    assert out == {"was_frozen": True, "thawed_by_gpucr": True}
    assert cgroup.state_files() == cgroup.expected_files("THAWED")
    assert tree.runs()
    tool("keeper-restore", record)
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    tool("keeper-restore", record)  # idempotent
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")


def test_recovery_thaws_a_cgroup_that_was_thawed_at_the_start(cgroup, tree, tmp_path):
    record = tmp_path / "freezer-record"
    tool("keeper-thaw", tree.pid, record, "--criu-freezes")  # records THAWED, changes nothing
    cgroup.freeze()  # e.g. left frozen by a criu that was killed while it held the freezer
    tool("keeper-restore", record)
    assert cgroup.state_files() == cgroup.expected_files("THAWED")
    assert tree.runs()


def test_recovery_leaves_a_freeze_that_neither_gpucr_nor_its_criu_made(cgroup, tree, tmp_path):
    record = tmp_path / "freezer-record"
    tool("keeper-thaw", tree.pid, record)  # records THAWED; criu is not to freeze it
    cgroup.freeze()  # an engine paused the container meanwhile: not gpucr's to undo
    r = tool("keeper-restore", record)
    assert "someone else" in r.stderr, r.stderr
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    assert not tree.runs()


def checkpoint_frozen_tree_and_kill_it(gpucr, cgroup, tree, img):
    cgroup.freeze()
    gpucr("checkpoint", "--pid", tree.pid, "--image-dir", img, check=True)
    tree.reap()
    wait_for(lambda: not cgroup.procs(), 10, what="the dumped tree to be gone")
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")  # empty, and frozen as before


def test_restore_frozen_thaws_for_criu_and_freezes_the_restored_tree_again(gpucr, cgroup, tree, tmp_path):
    img = tmp_path / "img"
    checkpoint_frozen_tree_and_kill_it(gpucr, cgroup, tree, img)
    r = gpucr("restore", "--image-dir", img, "--work-dir", tmp_path / "work", "--detach", "--json",
              "--restore-frozen", check=True)
    doc = json.loads(r.stdout)
    assert doc["refrozen"]
    assert "check freezer cgroup" in [p["name"] for p in doc["phases"]]
    wait_for(lambda: len(cgroup.procs()) == 3, 10, what="the restored tree in the cgroup")
    assert doc["root_pid"] in cgroup.procs()
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    assert not tree.runs()
    cgroup.thaw()
    assert tree.runs()


def test_restore_into_a_frozen_cgroup_is_refused_without_restore_frozen(gpucr, cgroup, tree, tmp_path):
    img = tmp_path / "img"
    checkpoint_frozen_tree_and_kill_it(gpucr, cgroup, tree, img)
    args = ["restore", "--image-dir", img, "--work-dir", tmp_path / "work", "--detach", "--json"]
    r = gpucr(*args, timeout=60)
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert "is frozen: criu would hang" in err["message"] and "--restore-frozen" in err["hint"]
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")
    cgroup.thaw()
    doc = json.loads(gpucr(*args, check=True).stdout)
    assert not doc["refrozen"]
    wait_for(lambda: len(cgroup.procs()) == 3, 10, what="the restored tree in the cgroup")
    assert tree.runs()


def test_failed_restore_frozen_leaves_the_cgroup_frozen(gpucr, cgroup, tree, tmp_path):
    img = tmp_path / "img"
    checkpoint_frozen_tree_and_kill_it(gpucr, cgroup, tree, img)
    wrapper = tmp_path / "criu-fails-restore"
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = restore ] && exit 1\nexec {shutil.which("criu")} "$@"\n')
    wrapper.chmod(0o755)
    r = gpucr("restore", "--image-dir", img, "--work-dir", tmp_path / "work", "--detach", "--restore-frozen",
              env={"GPUCR_CRIU": str(wrapper)})
    assert r.returncode == 1 and "criu restore" in r.stderr
    assert cgroup.state_files() == cgroup.expected_files("FROZEN")

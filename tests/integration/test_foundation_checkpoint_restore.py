"""Checkpoint and restore of real process trees with the real gpucr binary and real criu.

The tree (tests/workloads/tree_workload.c): a counting parent with a second thread and an open
file, a child that echoes every count back over pipes, and an idle child.
"""
import json
import subprocess

from helpers import in_order, GPUCR, pid_alive, wait_for
from trees import session_members, threads_of


def checkpoint(gpucr, tree, image_dir, *extra):
    r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", image_dir, *extra, check=True)
    return r


def test_checkpoint_kill_restore_continues_from_the_dumped_state(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    r = checkpoint(gpucr, tree, images)
    assert f"checkpointed pid {tree.pid} (3 processes) into {images}" in r.stdout
    # criu killed the tree after the dump: nothing of it runs any more.
    assert tree.reap_root() is not None
    assert not tree.members()
    dumped = tree.status()
    assert (images / "gpucr-manifest").exists()
    assert oct((images).stat().st_mode & 0o777) == "0o700"

    r = gpucr("restore", "--image-dir", images, "--detach", check=True)
    assert f"restored {images}: root pid {tree.pid}" in r.stdout
    assert "wait for pids" in r.stdout and "criu restore" in r.stdout
    first = wait_for(lambda: (s := tree.status()) and s["counter"] != dumped["counter"] and s,
                     what="the restored tree to write its status")
    # It continues from the dumped counter (not from zero, not from far ahead; the slack covers a
    # slow poll here: the tree counts every 50 ms).
    assert dumped["counter"] < first["counter"] <= dumped["counter"] + 20, (dumped, first)
    assert first["thread"] >= dumped["thread"], (dumped, first)
    tree.assert_healthy(since=first)


def test_leave_running_keeps_the_tree_and_the_image_restores_after_a_kill(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    before = tree.status()
    r = checkpoint(gpucr, tree, images, "--leave-running")
    assert "left running" in r.stdout
    after = tree.status()
    # Still the same tree, still healthy, well past the checkpoint.
    tree.assert_healthy(since=after)
    wait_for(lambda: tree.status()["counter"] >= after["counter"] + 40, what="the tree to count on")
    killed_at = tree.status()
    tree.kill()
    tree.wait_gone()

    gpucr("restore", "--image-dir", images, "--detach", check=True)
    first = wait_for(lambda: (s := tree.status()) and s["counter"] < killed_at["counter"] and s,
                     what="the restored tree to write a counter from the checkpoint")
    # The counter restarts from the checkpointed value (between the reads around the checkpoint).
    assert before["counter"] < first["counter"] <= after["counter"] + 20 < killed_at["counter"], (
        before, after, first, killed_at)
    tree.assert_healthy(since=first)


def test_restore_detach_writes_the_pid_file(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    checkpoint(gpucr, tree, images)
    tree.reap_root()
    pid_file = tmp_path / "run" / "root.pid"
    pid_file.parent.mkdir()
    r = gpucr("restore", "-D", images, "--detach", "--pid-file", pid_file, "--json", check=True)
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["error"] is None
    assert doc["root_pid"] == tree.pid
    assert in_order([p["name"] for p in doc["phases"]], ["read image", "wait for pids", "criu restore", "write pid file"])
    assert pid_file.read_text() == f"{tree.pid}\n"
    tree.assert_healthy()


def test_foreground_restore_exits_with_the_trees_status(gpucr, trees, tmp_path):
    tree = trees.start(exit_after=100)
    images = tmp_path / "images"
    checkpoint(gpucr, tree, images)
    tree.reap_root()
    dumped = tree.status()
    assert dumped["counter"] < 100
    # gpucr waits for the restored tree, which exits with status 7 once it has counted to 100.
    r = subprocess.run([str(GPUCR), "restore", "--image-dir", str(images)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 7, r.stderr
    assert f"root pid {tree.pid}" in r.stdout
    final = tree.status()
    assert final["counter"] == 100 and final["pid"] == tree.pid, final
    assert not pid_alive(tree.pid)


def test_checkpoint_json_and_manifest_describe_the_tree(gpucr, trees, tmp_path):
    tree = trees.start()
    members = tree.members()
    images = tmp_path / "images"
    r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images, "--json", check=True)
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["processes"] == 3
    assert doc["image_dir"] == str(images)
    assert doc["criu_log"] == str(images / "dump.log")
    assert doc["image_bytes"] > 0
    assert in_order([p["name"] for p in doc["phases"]], [
        "validate target", "discover processes", "prepare image dir", "criu dump", "write manifest"])
    tree.reap_root()

    man = json.loads(gpucr("inspect", images, "--json", check=True).stdout)["manifest"]
    assert sorted(p["pid"] for p in man["processes"]) == members
    root = man["processes"][0]
    assert root["pid"] == tree.pid and root["threads"] == 2 and root["nspid"] == [tree.pid]
    assert man["target"]["root_pid"] == tree.pid
    assert man["criu_version"].startswith("4.")
    assert in_order([p["name"] for p in man["phases"]], [
        "validate target", "discover processes", "prepare image dir", "criu dump"])

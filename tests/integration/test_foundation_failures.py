"""Failure paths of checkpoint and restore: each asserts the message on stderr, the exit code,
that the target keeps running unharmed, and that nothing was written."""
import hashlib
import os
import socket

import pytest


def checksums(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("how", ["env", "flag"])
def test_missing_criu(gpucr, trees, tmp_path, how):
    tree = trees.start()
    images = tmp_path / "images"
    args = ["checkpoint", "--pid", tree.pid, "--image-dir", images]
    if how == "env":
        r = gpucr(*args, env={"GPUCR_CRIU": "/nonexistent/criu"})
        assert "criu not found (GPUCR_CRIU=/nonexistent/criu is not an executable file)" in r.stderr
    else:
        r = gpucr(*args, "--criu", "/nonexistent/criu")
        assert "criu not found (--criu /nonexistent/criu is not an executable file)" in r.stderr
    assert r.returncode == 4
    assert "hint: install criu >= 4.0" in r.stderr
    assert not images.exists()
    tree.assert_healthy()


def test_missing_criu_on_restore(gpucr, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    r = gpucr("restore", "--image-dir", images, env={"GPUCR_CRIU": "/nonexistent/criu"})
    assert r.returncode == 4
    assert "criu not found" in r.stderr
    assert list(images.iterdir()) == []


def test_gone_pid(gpucr, trees, tmp_path):
    tree = trees.start(counting=False)
    tree.kill()
    # Only the root's pid matters here; its killed children may wait for this VM's init to reap
    # them for longer than a test should (docs/FACTS.md §1).
    assert tree.reap_root(10) is not None
    images = tmp_path / "images"
    r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images)
    assert r.returncode == 3
    assert f"gpucr: error: cannot checkpoint pid {tree.pid}: no such process" in r.stderr
    assert f"hint: check the pid with `ps -p {tree.pid}`" in r.stderr
    assert not images.exists()


def test_non_empty_image_dir(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    images.mkdir()
    (images / "precious").write_text("old checkpoint")
    r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images)
    assert r.returncode == 3
    assert f"image directory {images} is not empty (1 entries, first: precious)" in r.stderr
    assert "gpucr never overwrites images" in r.stderr
    assert [p.name for p in images.iterdir()] == ["precious"]
    assert (images / "precious").read_text() == "old checkpoint"
    tree.assert_healthy()


def test_corrupt_inventory_on_restore(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images, "--leave-running", check=True)
    inventory = images / "inventory.img"
    inventory.write_bytes(inventory.read_bytes()[:-3])
    before = checksums(images)
    r = gpucr("restore", "--image-dir", images, "--detach")
    assert r.returncode == 3
    assert f"gpucr: error: {inventory} is not a valid CRIU image" in r.stderr
    assert "hint: the image directory is damaged or incomplete" in r.stderr
    assert checksums(images) == before
    tree.assert_healthy()


def test_restore_while_the_pids_are_still_in_use(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images, "--leave-running", check=True)
    before = checksums(images)
    r = gpucr("restore", "--image-dir", images, "--detach", "--pid-wait", "0.3")
    assert r.returncode == 1
    assert "the pids of the checkpointed tree are still in use after 300ms" in r.stderr
    assert f"pid {tree.pid} is in use by pid {tree.pid} (tree_workload)" in r.stderr
    assert checksums(images) == before
    tree.assert_healthy()


def test_criu_dump_failure_leaves_the_tree_running(gpucr, trees, tmp_path):
    # The tree holds one end of a socketpair whose other end stays here, outside the tree:
    # criu refuses such an external unix socket unless --ext-unix-sk is given.
    ours, theirs = socket.socketpair()
    try:
        tree = trees.start(pass_fds=(theirs.fileno(),))
        theirs.close()
        images = tmp_path / "images"
        r = gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images)
        assert r.returncode == 1
        assert f"gpucr: error: criu dump of pid {tree.pid} failed (exit code 1)" in r.stderr
        assert "External socket is used. Consider using --ext-unix-sk option." in r.stderr
        assert f"hint: criu's log: {images / 'dump.log'}; the process tree was resumed and keeps running" in r.stderr
        assert not (images / "gpucr-manifest").exists()
        tree.assert_healthy()
        # The socket still works across the boundary.
        ours.sendall(b"x")
    finally:
        ours.close()
        if not theirs._closed:
            theirs.close()


def test_checkpoint_of_gpucrs_own_ancestor_is_refused(gpucr, tmp_path):
    images = tmp_path / "images"
    r = gpucr("checkpoint", "--pid", os.getpid(), "--image-dir", images)
    assert r.returncode == 3
    assert "it is gpucr or an ancestor of gpucr" in r.stderr
    assert not images.exists()

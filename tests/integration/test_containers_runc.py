"""runc containers checkpointed and restored through `gpucr checkpoint/restore CONTAINER` and
through the wrapper with runc's own command line (gpucr-runc checkpoint ...)."""
import json
import os
import subprocess
import time

from containers_lib import (GPUCR, Runc, assert_counter_continues, busybox_rootfs, freezer_state,  # noqa: F401
                            gpucr_env, read_count, run, run_to_files, runc, unique, wait_count_above)


def checkpointed_count(data_dir):
    """The counter's last value once the container is gone (it stops changing)."""
    time.sleep(0.2)
    return read_count(data_dir)


def test_containers_runc_gpucr_checkpoint_and_restore_continue_the_counter(runc, busybox_rootfs, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    bundle = runc.bundle(busybox_rootfs, cid, data)
    # FAKE-CUDA: a fake_cuda_app in the container; assert its device memory survived below.
    before = runc.start(cid, bundle)
    wait_count_above(data, 10)
    img = tmp_path / "img"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img, "--json", cid],
                                tmp_path, "checkpoint", env=gpucr_env.env)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["ok"] and doc["container"] == cid and doc["processes"] >= 1
    assert runc.state(cid) is None, "without --leave-running the container is gone"
    at = checkpointed_count(data)
    assert (img / "gpucr-manifest").exists() and (img / "inventory.img").exists()
    assert gpucr_env.containers() == [], "the lock file goes with the container"

    rc, out, err = run_to_files([GPUCR, "restore", "--root", runc.root, "--image-dir", img, "--bundle", bundle,
                                 "--detach", "--json", cid], tmp_path, "restore", env=gpucr_env.env)
    assert rc == 0, err
    doc = json.loads(out)
    after = runc.state(cid)
    assert after["status"] == "running"
    # The init process keeps pid 1 in the container and gets a new host pid; gpucr found it.
    assert doc["init_pid"] == after["pid"] != before["pid"]
    init = [p for p in doc["processes"] if p["nspid"] == 1]
    assert init and init[0]["old_pid"] == before["pid"] and init[0]["new_pid"] == after["pid"]
    assert_counter_continues(data, at)


def test_containers_runc_wrapper_with_runcs_own_command_line(runc, busybox_rootfs, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    bundle = runc.bundle(busybox_rootfs, cid, data)
    runc.start(cid, bundle)
    wait_count_above(data, 10)
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    img = tmp_path / "img"
    r = runc("checkpoint", "--image-path", img, "--work-path", tmp_path / "work", cid, runtime=wrapper,
             env=gpucr_env.env)
    assert r.stdout == "" and r.stderr == "", "the wrapper prints nothing on success"
    assert (img / "gpucr-manifest").exists()
    assert (tmp_path / "work/dump.log").exists(), "runc got the engine's --work-path"
    at = checkpointed_count(data)
    rc, out, err = run_to_files(runc.argv("restore", "--detach", "--image-path", img, "--bundle", bundle, cid,
                                          runtime=wrapper), tmp_path, "restore", env=gpucr_env.env)
    assert rc == 0, err
    assert runc.state(cid)["status"] == "running"
    assert_counter_continues(data, at)


def test_containers_runc_paused_container_stays_paused_after_leave_running_checkpoint(
        runc, busybox_rootfs, gpucr_env, tmp_path):
    """The CRI-O/containerd flow: the engine pauses, checkpoints with --leave-running, resumes."""
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    st = runc.start(cid, runc.bundle(busybox_rootfs, cid, data))
    wait_count_above(data, 5)
    runc("pause", cid)
    assert freezer_state(st["pid"]) == "FROZEN"
    # FAKE-CUDA: with a fake CUDA process inside, also assert its state is RUNNING (unlocked)
    # afterwards while the cgroup is FROZEN again (gpucr thaws for the GPU work, then refreezes).
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    runc("checkpoint", "--leave-running", "--file-locks", "--image-path", tmp_path / "img", cid, runtime=wrapper,
         env=gpucr_env.env)
    assert runc.state(cid)["status"] == "paused"
    assert freezer_state(st["pid"]) == "FROZEN"
    frozen_at = read_count(data)
    time.sleep(0.3)
    assert read_count(data) == frozen_at, "a paused container does not count"
    runc("resume", cid)
    wait_count_above(data, frozen_at + 3)


def test_containers_runc_second_operation_waits_for_the_lock_then_fails_clearly(runc, busybox_rootfs, gpucr_env,
                                                                               tmp_path):
    import fcntl
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    runc.start(cid, runc.bundle(busybox_rootfs, cid, data))
    lock_dir = gpucr_env.private_dir("containers")
    with open(lock_dir / f"{cid}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(f"pid={os.getpid()} start=0 op=test-holder\n")
        f.flush()
        t0 = time.monotonic()
        rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", tmp_path / "img",
                                     "--lock-wait", "1", cid], tmp_path, "checkpoint", env=gpucr_env.env)
        assert time.monotonic() - t0 >= 1
    assert rc == 1
    assert f"container {cid} is busy" in err and "op=test-holder" in err
    assert runc.state(cid)["status"] == "running", "nothing happened to the container"


def test_containers_runc_refuses_ids_with_path_tricks(runc, gpucr_env, tmp_path):
    for bad in ("../etc", "a/b", ".."):
        rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", tmp_path / "img",
                                     bad], tmp_path, "bad", env=gpucr_env.env)
        assert rc == 3 and "invalid container id" in err
    assert not gpucr_env.run_dir.exists()


def test_containers_runc_checkpoint_of_a_missing_container_says_so(runc, gpucr_env, tmp_path):
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", tmp_path / "img",
                                 "no-such-container"], tmp_path, "missing", env=gpucr_env.env)
    assert rc == 3 and "does not exist" in err


def test_containers_runc_pid_and_container_are_exclusive(tmp_path):
    r = run([GPUCR, "checkpoint", "--pid", "123", "--image-dir", tmp_path / "i", "c1"], check=False)
    assert r.returncode == 2 and "exactly one of --pid PID or CONTAINER" in r.stderr
    r = run([GPUCR, "checkpoint", "--image-dir", tmp_path / "i"], check=False)
    assert r.returncode == 2
    r = run([GPUCR, "restore", "--image-dir", tmp_path / "i", "c1"], check=False)
    assert r.returncode == 2 and "--bundle" in r.stderr


def test_containers_runc_foreground_restore_runs_until_the_container_ends(runc, busybox_rootfs, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    bundle = runc.bundle(busybox_rootfs, cid, data)
    runc.start(cid, bundle)
    wait_count_above(data, 10)
    img = tmp_path / "img"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img, cid], tmp_path,
                                "checkpoint", env=gpucr_env.env)
    assert rc == 0, err
    at = checkpointed_count(data)
    with open(tmp_path / "fg.out", "wb") as o, open(tmp_path / "fg.err", "wb") as e:
        p = subprocess.Popen([str(GPUCR), "restore", "--root", str(runc.root), "--image-dir", str(img), "--bundle",
                              str(bundle), cid], stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                             env={**os.environ, **gpucr_env.env})
    try:
        assert_counter_continues(data, at)
        assert p.poll() is None, "gpucr stays in the foreground while the container runs"
        assert f"restored container {cid}" in (tmp_path / "fg.out").read_text()
        runc("kill", cid, "KILL")
        assert p.wait(timeout=20) == 128 + 9, (tmp_path / "fg.err").read_text()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

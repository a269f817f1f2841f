"""A container task that criu can't seize: a process waiting for its vfork child (state D) when the
runtime's cgroup freeze catches the child before its exec. Shells (busybox 1.37 and later) and
posix_spawn start commands this way, so any checkpoint can meet it; runc's criu then fails after
its freeze timeout ("Unseizable non-zombie PID found, state D"). gpucr must say which pid and
why, roll the GPU state back, and leave the container running and thawed; once the child has
exec'd (here: exited), the same checkpoint succeeds. tests/fakes/vfork_hold.c holds the parent in
that state until the test releases it."""
import os
import pathlib

from containers_lib import (GPUCR, app_host_pids, assert_apps_advance, assert_counter_continues,  # noqa: F401
                            busybox_rootfs, cuda_workload, freezer_state, gpucr_env, ns_pids, read_count,
                            run_to_files, runc, unique, wait_apps_counting, wait_count_above)
from fakecuda import fake_cuda, fakes_built  # noqa: F401
from helpers import proc_stat, wait_for


def proc_state(pid):
    return proc_stat(pid)[0]


def vfork_parent(init_pid):
    """The host pid of vfork_hold's parent: the vfork_hold whose parent is the container's init."""
    for host in ns_pids(init_pid).values():
        try:
            if b"vfork_hold" not in pathlib.Path(f"/proc/{host}/cmdline").read_bytes():
                continue
            ppid = int(proc_stat(host)[1])
        except (OSError, ProcessLookupError):
            continue
        if ppid == init_pid:
            return host
    raise AssertionError(f"no vfork_hold below the container's init {init_pid}")


def test_containers_vfork_parent_in_state_d_fails_the_checkpoint_clearly_and_changes_nothing(
        runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path):
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    workload = "vfork_hold /data/ready /data/release & " + cuda_workload(apps=1)
    bundle = runc.bundle(busybox_rootfs, cid, data, fake_cuda=fake_cuda, args=["sh", "-c", workload])
    state = runc.start(cid, bundle)
    wait_for(lambda: (data / "ready").exists(), what="vfork_hold's child to start")
    wait_apps_counting(data, apps=1)
    wait_count_above(data, 5)
    parent = vfork_parent(state["pid"])
    assert proc_state(parent) == "D", "vfork_hold's parent waits for its child"
    apps, _ = app_host_pids(state["pid"], data, apps=1)

    img = tmp_path / "img"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img, "--timeout", "2",
                                 cid], tmp_path, "checkpoint", env=gpucr_env.env)
    assert rc != 0, "criu can't seize a task in state D"
    assert f"pid {parent} stayed in uninterruptible sleep (state D)" in err, err
    assert "checkpoint again" in err and str(tmp_path / "img") in err, err
    # Nothing changed: the container runs thawed, its CUDA process is running again and counts on,
    # and gpucr left no journal behind.
    assert runc.state(cid)["status"] == "running"
    assert freezer_state(state["pid"]) == "THAWED"
    assert [fake_cuda.state_of(p) for p in apps] == ["running"]
    assert fake_cuda.calls_for(apps[0]), "gpucr did checkpoint the CUDA process before criu failed"
    assert_apps_advance(data, apps=1)
    wait_count_above(data, read_count(data) + 3)
    assert gpucr_env.journals() == []
    assert proc_state(parent) == "D", "the vfork child is still waiting, unfrozen"

    # Once the child is gone the parent can be seized: the advice holds.
    (data / "release").touch()
    wait_for(lambda: proc_state(parent) != "D", what=f"pid {parent} to leave vfork's wait")
    img2 = tmp_path / "img2"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img2, cid], tmp_path,
                                "checkpoint2", env=gpucr_env.env)
    assert rc == 0, err
    assert runc.state(cid) is None
    at = read_count(data)
    rc, out, err = run_to_files([GPUCR, "restore", "--root", runc.root, "--image-dir", img2, "--bundle", bundle,
                                 "--detach", cid], tmp_path, "restore", env=gpucr_env.env)
    assert rc == 0, err
    after = runc.state(cid)
    assert after["status"] == "running"
    assert_apps_advance(data, apps=1)
    assert_counter_continues(data, at)
    assert os.path.exists(f"/proc/{vfork_parent(after['pid'])}"), "vfork_hold was restored with the rest"

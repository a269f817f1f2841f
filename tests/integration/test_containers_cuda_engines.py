"""Container engines running the gpucr-runc wrapper, with fake CUDA processes inside: podman
checkpoint/restore (podman does not pause) and containerd's `ctr container checkpoint --task`
(containerd pauses the task first: the wrapper thaws it for the GPU steps and pauses it again
before containerd resumes it) and `ctr container restore --live`."""
from containers_lib import (app_host_pids, assert_apps_advance, assert_counter_continues, busybox_rootfs,  # noqa: F401
                            clear_counters, cuda_statuses, first_counts, freezer_state, gpucr_env, read_count, unique,
                            wait_apps_counting, wait_count_above, wait_for)
from engines_lib import containerd, podman  # noqa: F401
from fakecuda import fake_cuda, fakes_built  # noqa: F401
from helpers import read_kv


def test_containers_cuda_podman_checkpoint_and_restore_through_the_wrapper(podman, gpucr_env, fake_cuda, tmp_path):
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    name = unique()
    cid = podman.run_counter(name, data, podman.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    init = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    apps, children = app_host_pids(init, data)
    podman("container", "checkpoint", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "exited"
    at = read_count(data)
    userdata = podman.t / "root/vfs-containers" / cid / "userdata"
    assert b"cuda_plugin" in (userdata / "checkpoint/inventory.img").read_bytes()
    assert f"container {cid}: init pid" in gpucr_env.log_text()

    podman("container", "restore", name)
    assert podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "running"
    init2 = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
    new_apps, new_children = app_host_pids(init2, data)
    assert not set(new_apps) & set(apps)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert_apps_advance(data)
    assert_counter_continues(data, at)
    seen = {c[1] for c in fake_cuda.calls()}
    assert not seen & {init, init2, *children, *new_children}, "non-CUDA processes never reach the driver"
    assert fake_cuda.frozen_calls() == []
    podman("rm", "--force", "--time", "0", name)
    assert wait_for(lambda: gpucr_env.journals() == [] and gpucr_env.containers() == [], timeout=10,
                    what="no journal or record left")


def test_containers_cuda_containerd_checkpoint_task_and_live_restore(containerd, gpucr_env, fake_cuda, tmp_path):
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    containerd.run_counter(cid, data, containerd.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    wait_count_above(data, 5)
    pid, status = containerd.task_pid(cid)
    apps, children = app_host_pids(pid, data)
    ref = f"localhost/gpucr-checkpoint/{cid}:1"
    before = read_count(data)
    containerd.ctr("containers", "checkpoint", "--task", "--rw", cid, ref)
    log = gpucr_env.log_text()
    assert f"container {cid}: init pid {pid}, paused" in log, "containerd paused the task; the wrapper saw it"
    # containerd resumed the task; gpucr thawed it for the GPU steps, returned the CUDA processes
    # to RUNNING and paused it again before containerd resumed it: no GPU call reached a frozen pid.
    assert containerd.task_pid(cid)[1] == "RUNNING" and freezer_state(pid) == "THAWED"
    assert [fake_cuda.state_of(p) for p in apps] == ["running", "running"]
    assert fake_cuda.frozen_calls() == []
    assert not {c[1] for c in fake_cuda.calls()} & {pid, *children}
    assert_apps_advance(data)

    containerd.remove(cid)
    rc, out, err = containerd.ctr_to_files("restore", "containers", "restore", "--live", "--rw", cid, ref)
    assert rc == 0, err
    wait_for(lambda: (containerd.task_pid(cid) or (0, ""))[1] == "RUNNING", timeout=20, what="the restored task")
    new_pid, _ = containerd.task_pid(cid)
    new_apps, _ = app_host_pids(new_pid, data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert_apps_advance(data)
    assert_counter_continues(data, before)
    assert fake_cuda.frozen_calls() == []
    assert gpucr_env.journals() == []


def test_containers_cuda_containerd_checkpoint_task_keeps_the_pause_state_and_restore_runs_on(
        containerd, gpucr_env, fake_cuda, tmp_path):
    """`ctr container checkpoint --task` pauses the task (the runtime's pause: the cgroup freezer),
    has the runtime checkpoint it with --leave-running and resumes it (containerd
    cmd/ctr/commands/containers/checkpoint.go; the shim's Init.checkpoint): a task that ran before
    runs after, unfrozen. After kill and rm, `ctr container restore --live` goes on from the
    checkpoint with the fake CUDA processes RUNNING. containerd 2 in the sid root, 1.6 on Debian 12."""
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    containerd.run_counter(cid, data, containerd.image, fake_cuda=fake_cuda)
    wait_apps_counting(data)
    wait_count_above(data, 5)
    pid, status = containerd.task_pid(cid)
    assert status == "RUNNING" and freezer_state(pid) == "THAWED"
    apps, _ = app_host_pids(pid, data)
    before, app_before = read_count(data), [read_kv(s)["counter"] for s in cuda_statuses(data)]
    ref = f"localhost/gpucr-checkpoint/{cid}:1"
    r = containerd.ctr("containers", "checkpoint", "--task", "--rw", cid, ref)
    assert "error" not in r.stdout + r.stderr, r.stdout + r.stderr  # ctr prints a failed resume
    assert f"container {cid}: init pid {pid}, paused" in gpucr_env.log_text(), "the runtime got it paused"
    assert containerd.task_pid(cid) == (pid, "RUNNING") and freezer_state(pid) == "THAWED", "as before"
    assert [fake_cuda.state_of(p) for p in apps] == ["running", "running"]
    assert ref in containerd.ctr("images", "ls", "-q").stdout.split(), "containerd stored the checkpoint"
    assert_apps_advance(data)

    containerd.remove(cid)
    clear_counters(data, apps=2)
    rc, out, err = containerd.ctr_to_files("restore", "containers", "restore", "--live", "--rw", cid, ref)
    assert rc == 0, err
    wait_for(lambda: (containerd.task_pid(cid) or (0, ""))[1] == "RUNNING", timeout=20, what="the restored task")
    new_pid, _ = containerd.task_pid(cid)
    assert new_pid != pid and freezer_state(new_pid) == "THAWED", "restored running, as it was checkpointed"
    count, app_counts = first_counts(data, apps=2)
    assert count >= before and all(c >= b for c, b in zip(app_counts, app_before)), (count, before, app_counts)
    new_apps, _ = app_host_pids(new_pid, data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert_apps_advance(data)
    wait_count_above(data, count + 3)
    assert fake_cuda.frozen_calls() == [] and gpucr_env.journals() == []

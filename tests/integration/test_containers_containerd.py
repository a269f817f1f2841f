"""containerd (Debian 12's 1.6, a private daemon) with the gpucr-runc wrapper as runc binary:
`ctr container checkpoint --task` pauses the task (the cgroup freezer) and calls the runtime's
checkpoint --leave-running; `ctr container restore --live` restores it through the wrapper."""
from containers_lib import (assert_counter_continues, busybox_rootfs, freezer_state, gpucr_env,  # noqa: F401
                            read_count, unique, wait_count_above, wait_for)
from engines_lib import containerd  # noqa: F401


def test_containers_containerd_checkpoint_task_and_live_restore_continue_the_counter(containerd, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    containerd.run_counter(cid, data, containerd.image)
    wait_count_above(data, 10)
    pid, status = containerd.task_pid(cid)
    assert status == "RUNNING"
    # FAKE-CUDA: a fake CUDA process inside must be RUNNING (unlocked) again after the checkpoint,
    # although containerd had the cgroup frozen while gpucr locked and checkpointed it.
    ref = f"localhost/gpucr-checkpoint/{cid}:1"
    before = read_count(data)  # the checkpoint holds this value or a later one
    containerd.ctr("containers", "checkpoint", "--task", "--rw", cid, ref)
    log = gpucr_env.log_text()
    assert f"container {cid}: init pid {pid}, paused" in log, "containerd paused the task; the wrapper saw it"
    # containerd resumed the task: it is not frozen and keeps counting.
    assert containerd.task_pid(cid)[1] == "RUNNING"
    assert freezer_state(pid) == "THAWED"
    wait_count_above(data, read_count(data) + 3)

    containerd.remove(cid)
    rc, out, err = containerd.ctr_to_files("restore", "containers", "restore", "--live", "--rw", cid, ref)
    assert rc == 0, err
    wait_for(lambda: (containerd.task_pid(cid) or (0, ""))[1] == "RUNNING", timeout=20, what="the restored task")
    new_pid, _ = containerd.task_pid(cid)
    assert new_pid != pid
    assert "host pid" in gpucr_env.log_text()[len(log):], "the restore went through the wrapper"
    # The restored task goes on from its checkpoint: not from 1, and not below where it was then.
    assert_counter_continues(data, before)

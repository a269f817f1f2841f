"""Self-tests of the fake NVIDIA stack (tests/fakes): it must behave like driver 580 did on the
H100 (docs/FACTS.md section 2), since gpucr's CUDA tests in CI trust it."""
import json
import os
import subprocess
import time

import pytest

from fakecuda import fake_cuda, fakes_built, gpu_uuid  # noqa: F401  (fixtures)
from helpers import read_kv, start_detached, wait_for

OK, INVALID, NOT_INIT, NO_DEVICE, OS_ERR, ILLEGAL, TIMEOUT, UNKNOWN = 0, 1, 3, 100, 304, 401, 909, 999
RUNNING, LOCKED, CHECKPOINTED = 0, 1, 2


def counter(status):
    return read_kv(status).get("counter", 0)


def test_state_machine_and_illegal_transitions_match_the_driver(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    api = fake_cuda.api
    assert api("state", pid) == (OK, RUNNING)
    for op in ("checkpoint", "unlock", "restore"):
        assert api(op, pid)[0] == ILLEGAL, op
    assert api("lock", pid, timeout_ms=3000)[0] == OK
    assert api("state", pid) == (OK, LOCKED)
    for op in ("lock", "restore"):
        assert api(op, pid)[0] == ILLEGAL, op
    assert api("checkpoint", pid)[0] == OK
    assert api("state", pid) == (OK, CHECKPOINTED)
    for op in ("lock", "checkpoint", "unlock"):
        assert api(op, pid)[0] == ILLEGAL, op
    assert api("restore", pid, init=True)[0] == OK
    assert api("state", pid) == (OK, LOCKED)  # restore lands in LOCKED
    assert api("unlock", pid)[0] == OK
    assert api("state", pid) == (OK, RUNNING)
    assert api("lock", pid, null_args=True)[0] == OK  # NULL args mean all zero
    assert api("unlock", pid, null_args=True)[0] == OK


def test_state_files_keep_one_size_whatever_the_state(fake_cuda, tmp_path):
    """criu restores a process that had its state file open at the dump only if the file at that
    path still has the dumped size; a --leave-running tree changes state after the dump (seen once
    in CI: "has bad size 208 (expect 213)", checkpointed against running)."""
    pid = fake_cuda.start_app(tmp_path / "st").pid
    state = fake_cuda.dir / f"state-{fake_cuda.token_of(pid)}"
    sizes = {state.stat().st_size}
    for op, kw in (("lock", {"timeout_ms": 3000}), ("checkpoint", {}), ("restore", {"init": True}), ("unlock", {})):
        assert fake_cuda.api(op, pid, **kw)[0] == OK, op
        sizes.add(state.stat().st_size)
    assert sizes == {4096}, sizes
    assert fake_cuda.api("state", pid) == (OK, RUNNING)


def test_non_cuda_forked_and_missing_pids_get_the_measured_codes(fake_cuda, tmp_path):
    app = fake_cuda.start_app(tmp_path / "st", args=["--fork-child", "--children", "1"])
    noinit = fake_cuda.start_app(tmp_path / "noinit", args=["--no-init"])
    sleeper = start_detached(["sleep", "60"])
    fake_cuda.procs.append(sleeper)
    fake_cuda.pids.append(sleeper.pid)
    fake_cuda.wait_counter(f"{tmp_path}/st.forkchild", 1)
    fork_child = read_kv(f"{tmp_path}/st.forkchild")["pid"]
    child = read_kv(f"{tmp_path}/st.child0")["pid"]
    assert fake_cuda.token_of(fork_child) == fake_cuda.token_of(app.pid)  # it inherited the fd
    for pid in (fork_child, child, noinit.pid, sleeper.pid):
        assert fake_cuda.api("state", pid)[0] == NOT_INIT, pid
        assert fake_cuda.api("lock", pid)[0] == NOT_INIT, pid
    dead = start_detached(["true"])
    dead.wait()
    wait_for(lambda: not os.path.exists(f"/proc/{dead.pid}"), what="pid gone")
    assert fake_cuda.api("state", dead.pid)[0] == OS_ERR
    assert fake_cuda.api("state", 0)[0] == OS_ERR and fake_cuda.api("lock", -1)[0] == OS_ERR
    assert fake_cuda.api("state", app.pid) == (OK, RUNNING)
    assert ("lock", sleeper.pid, NOT_INIT) in fake_cuda.calls()
    assert fake_cuda.calls_for(fork_child) == [("get_state", fork_child, NOT_INIT),
                                               ("lock", fork_child, NOT_INIT)]


def test_restore_thread_is_a_thread_of_the_process(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    rc, tid = fake_cuda.api("tid", pid)
    assert rc == OK and tid != pid and os.path.exists(f"/proc/{pid}/task/{tid}")
    assert fake_cuda.tool("--get-restore-tid", "--pid", pid).stdout == f"{tid}\n"


def test_reserved_argument_bytes_must_be_zero(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    assert fake_cuda.api("lock", pid, dirty=True)[0] == INVALID
    assert fake_cuda.api("state", pid) == (OK, RUNNING)
    assert fake_cuda.api("lock", pid)[0] == OK
    assert fake_cuda.api("checkpoint", pid, dirty=True)[0] == INVALID
    assert fake_cuda.api("state", pid) == (OK, LOCKED)


def test_workload_stops_while_locked_and_checkpointed_and_continues_after(fake_cuda, tmp_path):
    st = tmp_path / "st"
    pid = fake_cuda.start_app(st, mib=2).pid
    fake_cuda.wait_counter(st, 3)
    assert fake_cuda.api("lock", pid)[0] == OK
    time.sleep(0.2)
    frozen_at = counter(st)
    time.sleep(0.5)
    assert counter(st) == frozen_at  # cuCtxSynchronize blocks while LOCKED
    assert fake_cuda.api("checkpoint", pid)[0] == OK
    time.sleep(0.3)
    assert counter(st) == frozen_at
    assert fake_cuda.api("restore", pid)[0] == OK and fake_cuda.api("unlock", pid)[0] == OK
    s = fake_cuda.wait_counter(st, frozen_at + 3)
    assert s["corrupt"] == 0 and s["state"] == "running" and s["err"] == 0


def dev_fds(pid, fake_cuda):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(fake_cuda.dir / "dev")):
            out.append(os.path.basename(target))
    return sorted(out)


def test_checkpoint_drops_device_files_and_restore_reopens_them(fake_cuda, tmp_path):
    fake_cuda.set_gpus(2)
    pid = fake_cuda.start_app(tmp_path / "st").pid
    assert dev_fds(pid, fake_cuda) == ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"]
    assert fake_cuda.api("lock", pid)[0] == OK and fake_cuda.api("checkpoint", pid)[0] == OK
    assert dev_fds(pid, fake_cuda) == []  # checkpoint returns only after the process let go
    assert fake_cuda.api("restore", pid)[0] == OK
    assert dev_fds(pid, fake_cuda) == ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"]


def checkpointed_app(fake_cuda, status, env=None):
    pid = fake_cuda.start_app(status, env=env).pid
    assert fake_cuda.api("lock", pid)[0] == OK and fake_cuda.api("checkpoint", pid)[0] == OK
    return pid


def test_restore_map_must_list_every_gpu_once_as_old_and_new(fake_cuda, tmp_path):
    a, b = fake_cuda.set_gpus(2)
    st = tmp_path / "st"
    pid = checkpointed_app(fake_cuda, st)
    bad_maps = [f"{a}={b}",                       # only the GPU the process used
                f"{a}={b},{b}={b}",               # two onto one
                f"{a}={b},{a}={a}",               # one old twice
                f"{a}={b},{b}={gpu_uuid(7)}"]     # a GPU this machine lacks
    for m in bad_maps:
        assert fake_cuda.api("restore", pid, device_map=m)[0] == INVALID, m
        assert fake_cuda.state_of(pid) == "checkpointed", m  # a corrected retry stays possible
    assert fake_cuda.api("restore", pid, device_map=f"{a}={b},{b}={a}")[0] == OK
    assert fake_cuda.api("unlock", pid)[0] == OK
    wait_for(lambda: read_kv(st).get("gpu") == b, what="the workload to run on the other GPU")
    assert fake_cuda.process_state(fake_cuda.token_of(pid))["gpus"] == [b, a]


def test_restore_on_other_gpus_needs_a_map_of_the_same_model(fake_cuda, tmp_path):
    (old,) = fake_cuda.set_gpus(1)
    st = tmp_path / "st"
    pid = checkpointed_app(fake_cuda, st)
    fake_cuda.set_gpus(1, name="NVIDIA A100-SXM4-80GB", host=1)  # "another machine"
    (other,) = fake_cuda.uuids
    assert fake_cuda.api("restore", pid)[0] == NO_DEVICE
    assert fake_cuda.api("restore", pid, device_map=f"{old}={other}")[0] == INVALID  # other chip
    (new,) = fake_cuda.set_gpus(1, host=2)
    assert fake_cuda.api("restore", pid)[0] == NO_DEVICE
    assert fake_cuda.state_of(pid) == "checkpointed"
    assert fake_cuda.api("restore", pid, device_map=f"{old}={new}")[0] == OK
    assert fake_cuda.api("unlock", pid)[0] == OK
    wait_for(lambda: read_kv(st).get("gpu") == new, what="gpu=new in status")


def test_visible_devices_select_the_gpus_of_a_process(fake_cuda, tmp_path):
    a, b = fake_cuda.set_gpus(2)
    st = tmp_path / "st"
    pid = checkpointed_app(fake_cuda, st, env={"CUDA_VISIBLE_DEVICES": "1"})
    assert fake_cuda.process_state(fake_cuda.token_of(pid))["gpus"] == [b]
    assert fake_cuda.api("restore", pid, device_map=f"{b}={a}")[0] == INVALID  # still all GPUs
    assert fake_cuda.api("restore", pid, device_map=f"{b}={a},{a}={b}")[0] == OK
    assert fake_cuda.api("unlock", pid)[0] == OK
    wait_for(lambda: read_kv(st).get("gpu") == a, what="gpu=a in status")


def test_fail_faults_filter_by_pid_set_states_and_can_fire_once(fake_cuda, tmp_path):
    fc = fake_cuda
    pid = fc.start_app(tmp_path / "st").pid
    other = fc.start_app(tmp_path / "other").pid
    fc.set_faults(f"lock fail 2 pid={pid}", "get_state illegal-once", "unlock fail")
    assert fc.api("lock", other)[0] == OK  # pid= filters
    assert fc.api("lock", pid)[0] == 2 and fc.state_of(pid) == "running"
    assert fc.api("state", pid)[0] == ILLEGAL  # NVIDIA's cuInit race, once
    assert fc.api("state", pid) == (OK, RUNNING)
    assert fc.faults() == [f"lock fail 2 pid={pid}", "unlock fail"]  # the once line is gone
    assert fc.api("unlock", other)[0] == UNKNOWN and fc.state_of(other) == "locked"
    fc.set_faults("checkpoint fail 999 state=failed once")
    assert fc.api("checkpoint", other)[0] == UNKNOWN and fc.state_of(other) == "failed"
    assert fc.api("state", other) == (OK, 3) and fc.api("unlock", other)[0] == ILLEGAL
    fc.set_faults("restore require-init", "bogus line", validate=False)
    assert fc.api("lock", pid)[0] == OK and fc.api("checkpoint", pid)[0] == OK
    assert fc.api("restore", pid)[0] == NOT_INIT  # the caller never ran cuInit
    assert fc.api("restore", pid, init=True)[0] == OK
    assert fc.fault_errors() == ["bogus line"]


def test_slow_and_hang_faults(fake_cuda, tmp_path):
    fc = fake_cuda
    pid = fc.start_app(tmp_path / "st").pid
    fc.set_faults("lock slow 600", "checkpoint slow 300")
    t = time.monotonic()
    assert fc.api("lock", pid, timeout_ms=200)[0] == TIMEOUT and fc.state_of(pid) == "running"
    assert 0.2 <= time.monotonic() - t < 0.6
    t = time.monotonic()
    assert fc.api("lock", pid)[0] == OK and time.monotonic() - t >= 0.6
    t = time.monotonic()
    assert fc.api("checkpoint", pid)[0] == OK and time.monotonic() - t >= 0.3
    fc.set_faults("any hang")
    with pytest.raises(subprocess.TimeoutExpired):
        fc.api("state", pid, wait=1)
    assert fc.calls()[-1] == ("get_state", pid, "hang")
    assert fc.state_of(pid) == "checkpointed"


def test_calls_log_records_every_call_with_its_result(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    fake_cuda.api("state", pid)
    fake_cuda.api("lock", pid)
    fake_cuda.api("lock", pid)
    fake_cuda.tool("--get-restore-tid", "--pid", pid)
    assert [c[0] for c in fake_cuda.calls()] == ["get_state", "lock", "lock", "get_restore_tid"]
    assert [c[2] for c in fake_cuda.calls()] == [OK, OK, ILLEGAL, OK]
    assert fake_cuda.frozen_calls() == []


def test_parallel_calls_stay_consistent(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    procs = [fake_cuda.api_async("lock", pid) for _ in range(6)]
    results = sorted(json.loads(p.communicate(timeout=20)[0])["rc"] for p in procs)
    assert results == [OK] + [ILLEGAL] * 5


def test_calls_log_times_each_call_on_the_monotonic_clock(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    fake_cuda.set_faults("lock slow 300")
    t0 = time.monotonic()
    assert fake_cuda.api("lock", pid)[0] == OK
    t1 = time.monotonic()
    ((op, p, rc, start, end),) = fake_cuda.timed_calls()
    assert (op, p, rc) == ("lock", pid, OK)
    assert t0 <= start and end <= t1 and end - start >= 0.3


def test_claimed_device_memory_shows_in_nvml_without_host_memory(fake_cuda, tmp_path):
    fake_cuda.set_gpus(1, memory=1 << 40)
    pid = fake_cuda.start_app(tmp_path / "st", mib=2, args=["--claim-mib", 64 << 10]).pid
    assert fake_cuda.nvml()["devices"][0]["procs"][0][:2] == [pid, (2 << 20) + (64 << 30)]
    with open(f"/proc/{pid}/status") as f:
        rss_kib = int(next(ln for ln in f if ln.startswith("VmRSS")).split()[1])
    assert rss_kib < 1 << 20  # not backed by host memory

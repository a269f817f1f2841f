"""Self-tests of the fake NVIDIA stack (tests/fakes): it must behave like driver 580 did on the
H100 (shared/FACTS.md section 2), since gpucr's CUDA tests in CI trust it."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import need
from fakecuda import (APP, H100, LIB, LIB_NOAPI, TOOL, FakeCuda, fake_cuda,  # noqa: F401
                      gpu_uuid)
from helpers import read_kv, start_detached, wait_for

OK, INVALID, NOT_INIT, NO_DEVICE, OS_ERR, ILLEGAL, TIMEOUT, UNKNOWN = 0, 1, 3, 100, 304, 401, 909, 999
RUNNING, LOCKED, CHECKPOINTED = 0, 1, 2


@pytest.fixture(autouse=True)
def _built():
    need(APP.exists() and TOOL.exists() and (LIB / "libcuda.so.1").exists(),
         "tests/fakes is not built (scripts/build.sh)")


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


def test_faults_fail_hang_slow_and_once(fake_cuda, tmp_path):
    pid = fake_cuda.start_app(tmp_path / "st").pid
    other = fake_cuda.start_app(tmp_path / "other").pid
    fc = fake_cuda
    fc.set_faults(f"lock fail 2 pid={pid}", "get_state illegal-once", "unlock fail")
    assert fc.api("lock", other)[0] == OK  # pid= filters
    assert fc.api("lock", pid)[0] == 2 and fc.state_of(pid) == "running"
    assert fc.api("state", pid)[0] == ILLEGAL
    assert fc.api("state", pid) == (OK, RUNNING)  # consumed
    assert fc.faults() == [f"lock fail 2 pid={pid}", "unlock fail"]
    assert fc.api("unlock", other)[0] == UNKNOWN
    fc.set_faults("lock slow 600")
    t = time.monotonic()
    assert fc.api("lock", pid, timeout_ms=200)[0] == TIMEOUT and fc.state_of(pid) == "running"
    assert 0.2 <= time.monotonic() - t < 0.6
    t = time.monotonic()
    assert fc.api("lock", pid)[0] == OK and time.monotonic() - t >= 0.6
    fc.set_faults("checkpoint fail 999 state=failed once")
    assert fc.api("checkpoint", pid)[0] == UNKNOWN and fc.state_of(pid) == "failed"
    assert fc.api("state", pid) == (OK, 3) and fc.api("unlock", pid)[0] == ILLEGAL
    fc.set_faults("any hang")
    with pytest.raises(subprocess.TimeoutExpired):
        fc.api("state", other, wait=1)
    assert ("get_state", other, "hang") in fc.calls()
    fc.set_faults("restore require-init", "bogus line", validate=False)
    assert fc.api("restore", other)[0] == NOT_INIT
    assert fc.api("restore", other, init=True)[0] == ILLEGAL  # got past the check (LOCKED)
    assert fc.fault_errors() == ["bogus line"]


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


def test_nvml_lists_devices_and_per_process_memory(fake_cuda, tmp_path):
    fake_cuda.set_gpus([{"uuid": gpu_uuid(0), "minor": 0, "pci": "00000000:18:00.0"},
                        {"uuid": gpu_uuid(1), "minor": 3, "mig": True}])
    a = fake_cuda.start_app(tmp_path / "a", mib=8, args=["--fork-child"]).pid
    b = fake_cuda.start_app(tmp_path / "b", mib=3, env={"CUDA_VISIBLE_DEVICES": gpu_uuid(1)}).pid
    noinit = fake_cuda.start_app(tmp_path / "n", args=["--no-init"]).pid
    out = fake_cuda.nvml()
    assert out["driver"] == "580.159.04" and out["small_buffer_rc"] == 7
    d0, d1 = out["devices"]
    assert (d0["uuid"], d0["name"], d0["minor"], d0["mig"], d0["pci"]) == (
        gpu_uuid(0), H100, 0, [0, 0], "00000000:18:00.0")
    assert (d1["minor"], d1["mig"]) == (3, [1, 1])
    none = 0xFFFFFFFF
    assert d0["procs"] == [[a, 8 << 20, none, none]] and d1["procs"] == [[b, 3 << 20, none, none]]
    assert d0["count_rc"] == 7  # NVML_ERROR_INSUFFICIENT_SIZE when asked with *count = 0
    assert d0["memory"][2] == 8 << 20 and d0["memory"][0] - d0["memory"][1] == 8 << 20
    assert noinit not in [p[0] for d in out["devices"] for p in d["procs"]]
    assert fake_cuda.api("lock", a)[0] == OK and fake_cuda.api("checkpoint", a)[0] == OK
    assert fake_cuda.nvml()["devices"][0]["procs"] == []  # checkpointed: GPU memory released


def test_tool_has_nvidias_flags_and_exit_codes(fake_cuda, tmp_path):
    a, b = fake_cuda.set_gpus(2)
    st = tmp_path / "st"
    pid = fake_cuda.start_app(st).pid
    t = fake_cuda.tool
    h = t("--help")
    assert h.returncode == 0
    for flag in ("--get-state", "--action", "--pid", "--timeout", "--toggle", "--get-restore-tid",
                 "--device-map"):
        assert flag in h.stdout
    assert t("--get-state", "--pid", pid).stdout == "running\n"
    r = t("--action", "lock", "--pid", pid, "--timeout", 500)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = t("--action", "lock", "-p", pid)
    assert r.returncode == 1 and r.stdout == "" and "CUDA_ERROR_ILLEGAL_STATE" in r.stderr
    assert t("--action", "checkpoint", "--pid", pid).returncode == 0
    assert t("--get-state", "--pid", pid).stdout == "checkpointed\n"
    r = t("--action", "restore", "--pid", pid, "--device-map", f"{a}={b}")
    assert r.returncode == 1 and "CUDA_ERROR_INVALID_VALUE" in r.stderr
    assert t("--toggle", "--pid", pid, "--device-map", f"{a}={b},{b}={a}").returncode == 0
    assert t("--get-state", "--pid", pid).stdout == "running\n"
    wait_for(lambda: read_kv(st).get("gpu") == b, what="gpu=b")
    assert t("--toggle", "--pid", pid).returncode == 0
    assert t("--get-state", "--pid", pid).stdout == "checkpointed\n"
    for bad in (["--pid", pid], ["--action", "freeze", "--pid", pid], ["--get-state"],
                ["--get-state", "--pid", pid, "--bogus"]):
        r = t(*bad)
        assert r.returncode == 1 and r.stdout == "" and r.stderr, bad


def test_driver_version_error_names_and_noapi_variant(tmp_path):
    fc = FakeCuda(tmp_path)
    try:
        v = fc.api("version")
        assert v == {"version": 13000, "has_api": True, "proc_address": [0, 0, 500]}
        errs = fc.api("errors")
        assert errs["401"][:2] == [0, "CUDA_ERROR_ILLEGAL_STATE"] and errs["304"][1] == \
            "CUDA_ERROR_OPERATING_SYSTEM"
        assert errs["12345"] == [INVALID, None, None]
        fc.lib = LIB_NOAPI
        assert fc.api("version") == {"version": 12040, "has_api": False, "proc_address": [500, 0, 500]}
        st = tmp_path / "st"
        pid = fc.start_app(st).pid
        assert fc.tool("--action", "lock", "--pid", pid).returncode == 0  # the tool still works
        assert fc.tool("--get-state", "--pid", pid).stdout == "locked\n"
        os.kill(pid, signal.SIGKILL)
    finally:
        fc.cleanup()

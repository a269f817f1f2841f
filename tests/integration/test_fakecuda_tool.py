"""Self-tests of the fake NVIDIA stack: the cuda-checkpoint tool's CLI, NVML, driver version and
error names, and the variant without the public checkpoint API (a pre-570 driver)."""
import os
import signal

from fakecuda import H100, LIB_NOAPI, FakeCuda, fake_cuda, fakes_built, gpu_uuid  # noqa: F401
from helpers import read_kv, wait_for

OK, INVALID = 0, 1


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
        # Measured on driver 580: an unknown name is rc 0, symbolStatus 1, NULL.
        assert v == {"version": 13000, "has_api": True,
                     "proc_address": [[0, 0, True], [0, 0, True], [0, 1, False]]}
        errs = fc.api("errors")
        assert errs["401"] == [0, "CUDA_ERROR_ILLEGAL_STATE",  # strings as driver 580's
                               "the operation cannot be performed in the present state"]
        assert errs["304"][1] == "CUDA_ERROR_OPERATING_SYSTEM"
        assert errs["12345"] == [INVALID, None, None]
        fc.lib = LIB_NOAPI
        assert fc.api("version") == {"version": 12040, "has_api": False,
                                     "proc_address": [[0, 1, False], [0, 0, True], [0, 1, False]]}
        st = tmp_path / "st"
        pid = fc.start_app(st).pid
        assert fc.tool("--action", "lock", "--pid", pid).returncode == 0  # the tool still works
        assert fc.tool("--get-state", "--pid", pid).stdout == "locked\n"
        os.kill(pid, signal.SIGKILL)
    finally:
        fc.cleanup()

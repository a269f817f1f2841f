"""How gpucr reaches the driver (the API in libcuda.so.1, or NVIDIA's cuda-checkpoint tool; a
missing backend matters only for trees with CUDA processes), and what it refuses before anything
is locked: a process holding NVIDIA device files without a CUDA context, MIG, too little host
memory (unless --force). NVIDIA's init race (an illegal-state lock) is retried."""
import json
import os
import subprocess
import sys

from conftest import need
from cudarig import BAD_INPUT, MISSING, NOT_PERMITTED, rig  # noqa: F401  (fixture)
from fakecuda import LIB_NOAPI, TOOL, fakes_built, gpu_uuid  # noqa: F401  (fixture)
from helpers import read_kv, start_detached, wait_for


def ops_of(rig, pid):
    return [c[0] for c in rig.fc.calls_for(pid)]


def backend_in_manifest(rig, img):
    return json.loads(rig.gpucr_ok("inspect", "--json", img).stdout)["manifest"]["cuda_backend"]


def logging_tool(rig):
    """A cuda-checkpoint that logs its arguments to rig.dir/tool.log and runs the fake one."""
    log = rig.dir / "tool.log"
    return rig.script("logging-cuda-checkpoint",
                      f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{TOOL}" "$@"\n'), log


def test_tool_backend_checkpoints_and_restores(rig):
    tree = rig.start_tree(cuda=2)
    tool, log = logging_tool(rig)
    img = rig.img()
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img, "--cuda-backend", "tool",
                 "--cuda-checkpoint", tool)
    assert backend_in_manifest(rig, img) == "tool"
    rig.wait_gone(tree)
    rig.gpucr_ok("restore", "-D", img, "-d", "--cuda-backend", "tool", "--cuda-checkpoint", tool)
    assert rig.states(tree) == ["running"] * 2
    rig.advancing(tree)
    lines = log.read_text().splitlines()
    for pid in tree.apps:
        for action in ("lock", "checkpoint", "restore", "unlock"):
            assert any(ln.startswith(f"--action {action} --pid {pid}") for ln in lines), (action, lines)
        assert ops_of(rig, pid) == ["get_state", "lock", "checkpoint", "restore", "unlock", "get_state"]  # the restore verifies the state it left
    assert not {c[1] for c in rig.fc.calls()} & set(tree.non_cuda)
    rig.assert_clean()


def test_auto_falls_back_to_the_tool_when_libcuda_lacks_the_checkpoint_api(rig):
    rig.fc.lib = LIB_NOAPI  # a pre-570 driver: the workloads and gpucr load it
    tree = rig.start_tree(cuda=1)
    img = rig.img()
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", rig.img(), "--cuda-backend", "api")
    assert r.returncode == MISSING, r.stderr
    assert "libcuda.so.1 lacks the checkpoint API (cuCheckpointProcessGetState" in r.stderr
    assert "hint: install the NVIDIA driver >= 570" in r.stderr
    assert rig.fc.calls() == []  # nothing was touched
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", img)
    assert backend_in_manifest(rig, img) == "tool"
    rig.wait_gone(tree)
    rig.gpucr_ok("restore", "-D", img, "-d")
    assert rig.states(tree) == ["running"]
    rig.advancing(tree)
    rig.assert_clean()


def no_backend_env(rig):
    """gpucr's environment without the fake libcuda and without any cuda-checkpoint."""
    env = rig.env()
    env["LD_LIBRARY_PATH"] = ""
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep) if "tests/fakes" not in d)
    probe = subprocess.run([sys.executable, "-c", "import ctypes; ctypes.CDLL('libcuda.so.1')"],
                           env=env, capture_output=True)
    need(probe.returncode != 0 and
         subprocess.run(["sh", "-c", "command -v cuda-checkpoint"], env=env).returncode != 0,
         "this host has a real libcuda.so.1 or cuda-checkpoint")
    return env


def test_missing_backend_is_an_error_only_for_trees_with_cuda_processes(rig):
    env = no_backend_env(rig)
    cpu = start_detached(["sh", "-c", "sleep 1000 & sleep 1000 & wait"], env=rig.fc.env())
    rig.fc.procs.append(cpu)
    wait_for(lambda: len(os.listdir(f"/proc/{cpu.pid}/task")) == 1 and
             open(f"/proc/{cpu.pid}/task/{cpu.pid}/children").read().split(), what="sleepers")
    r = rig.gpucr("checkpoint", "--pid", cpu.pid, "-D", rig.img(), "--leave-running", env=env)
    assert r.returncode == 0, r.stderr
    assert cpu.poll() is None

    tree = rig.start_tree(cuda=1)
    img = rig.img()
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", img, env=env)
    assert r.returncode == MISSING, r.stderr
    (app,) = tree.apps
    assert f"error: the tree has processes that use the NVIDIA driver (fake_cuda_app pid {app}) but " \
           "no CUDA checkpoint backend: cannot load libcuda.so.1" in r.stderr, r.stderr
    assert "hint: install the NVIDIA driver >= 570 (its libcuda.so.1 exports the checkpoint API) or " \
           "NVIDIA's cuda-checkpoint tool" in r.stderr
    assert rig.fc.calls() == [] and not img.exists()
    assert rig.states(tree) == ["running"]
    rig.advancing(tree)
    rig.assert_clean()


def test_process_holding_device_files_without_a_cuda_context_is_refused_before_any_lock(rig):
    tree = rig.start_tree(cuda=2, per_app={1: ["--fork-child"]})
    forked = wait_for(lambda: read_kv(f"{tree.statuses[1]}.forkchild").get("pid"),
                      what="the forked child")
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", rig.img())
    assert r.returncode == BAD_INPUT, r.stderr
    assert f"error: can't checkpoint: pid {forked} (fake_cuda_app) holds NVIDIA device files but " \
           "has no CUDA context" in r.stderr, r.stderr
    assert "hint: a process forked from a CUDA process without exec" in r.stderr
    assert {c[0] for c in rig.fc.calls()} == {"get_state"}  # asked, nothing locked
    assert rig.states(tree) == ["running"] * 2
    rig.advancing(tree)
    rig.assert_clean()


def test_process_on_a_mig_gpu_is_refused(rig):
    rig.fc.set_gpus([{"uuid": gpu_uuid(0), "mig": True}])
    tree = rig.start_tree(cuda=1)
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", rig.img())
    assert r.returncode == BAD_INPUT, r.stderr
    assert f"runs on {gpu_uuid(0)}, which is in MIG mode: the driver can't checkpoint MIG " \
           "instances" in r.stderr, r.stderr
    assert {c[0] for c in rig.fc.calls()} == {"get_state"}
    assert rig.states(tree) == ["running"]
    rig.assert_clean()


def mem_available():
    with open("/proc/meminfo") as f:
        return next(int(ln.split()[1]) << 10 for ln in f if ln.startswith("MemAvailable:"))


def test_not_enough_host_memory_is_refused_unless_forced(rig):
    rig.fc.set_gpus(1, memory=1 << 42)
    claim_mib = 2 * mem_available() >> 20  # device memory the host could not stage
    tree = rig.start_tree(cuda=1, app_args=["--claim-mib", claim_mib])
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", rig.img())
    assert r.returncode == NOT_PERMITTED, r.stderr
    assert "error: not enough host memory to checkpoint: about " in r.stderr
    assert "of device memory staged in host memory" in r.stderr
    assert "pass --force" in r.stderr
    assert {c[0] for c in rig.fc.calls()} == {"get_state"}
    assert rig.states(tree) == ["running"]

    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", rig.img(), "--force", "--leave-running")
    assert r.returncode == 0, r.stderr
    assert rig.states(tree) == ["running"]
    rig.advancing(tree)
    rig.assert_clean()


def test_lock_refused_while_a_process_initializes_cuda_is_retried(rig):
    tree = rig.start_tree(cuda=1)
    (app,) = tree.apps
    rig.fc.set_faults("lock illegal-once")
    rig.gpucr_ok("checkpoint", "--pid", tree.root, "-D", rig.img(), "--leave-running")
    assert [(c[0], c[2]) for c in rig.fc.calls_for(app)][:4] == [
        ("get_state", 0), ("lock", 401), ("get_state", 0), ("lock", 0)]
    assert rig.states(tree) == ["running"]
    rig.advancing(tree)
    rig.assert_clean()

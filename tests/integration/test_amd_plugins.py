"""Which CRIU plugins criu runs with, per kind of tree, with the real criu (issue 6).

gpucr runs criu with --libdir pointing at a private directory holding exactly the plugins the
tree needs: none for CPU-only and CUDA-only trees (gpucr handles CUDA itself), only
amdgpu_plugin for AMD-only and mixed trees. Here the plugin directory offered to gpucr
(--criu-plugins-dir) holds stand-ins for BOTH cuda_plugin.so and amdgpu_plugin.so
(tests/fakes/amd/criu_plugin_standin.c); each test shows what criu was given (criu_recorder.py
lists its --libdir when called) and what it loaded (criu logs 'Plugin "NAME"' for each plugin it
loads at -v4; the stand-in logs its init).

There is no AMD (or NVIDIA) GPU on these machines. The CPU-only case runs the gpucr binary. The
GPU cases run gpucr's real checkpoint/restore drivers, real criu and real processes through
tests/fakes/amd/amd_fake_host, which fakes only the device at gpucr's seams: a workload holds a
plain file that the process table reports as /dev/kfd, the KFD answers version 1.14, and the
KFD topology is a fixture. criu itself dumps plain files. CUDA processes are fake-CUDA apps
(tests/fakes): gpucr's CUDA phases checkpoint them in the same operation, and criu never gets a
cuda_plugin.
"""
import json
import os
import pathlib
import subprocess
import time

import pytest

from conftest import need
from fakecuda import APP as FAKE_CUDA_APP, FakeCuda
from helpers import BUILD, GPUCR, REPO, kill_tree, pid_alive, start_detached, wait_for

FAKES = BUILD / "tests/fakes/amd"
STANDINS = FAKES / "criu-plugins"
HARNESS = FAKES / "amd_fake_host"
RECORDER = pathlib.Path(__file__).resolve().parent / "criu_recorder.py"
TOPOLOGY = REPO / "tests/fixtures/kfd/one_gpu"


@pytest.fixture(autouse=True)
def _need_fakes():
    need(HARNESS.exists() and (STANDINS / "amdgpu_plugin.so").exists() and (STANDINS / "cuda_plugin.so").exists(),
         f"AMD test doubles are not built in {FAKES} (scripts/build.sh)")


class Tree:
    """A workload whose processes hold plain files standing for device nodes; a process given
    ["cuda"] is a fake-CUDA app instead (run with `cuda`, a FakeCuda)."""

    def __init__(self, tmp, devices, cuda=None):
        # devices: list of per-process lists of file names to hold open (first: the root).
        self.files = {}
        cmds = []
        for i, names in enumerate(devices):
            if names == ["cuda"]:
                cmds.append(f"exec {FAKE_CUDA_APP} --mib 4 --status {tmp}/cuda{i}.status")
                continue
            opens = " ".join(f"{9 + k}<{self.file(tmp, n)}" for k, n in enumerate(names))
            cmds.append(f"exec {opens} sleep 600" if opens else "exec sleep 600")
        script = "".join(f"(sh -c '{c}') & " for c in cmds[1:]) + cmds[0]
        self.proc = start_detached(["/bin/sh", "-c", script], env=cuda.env() if cuda else None)
        self.pid = self.proc.pid
        wait_for(lambda: self._ready(len(devices)), what="workload processes")
        for i, names in enumerate(devices):
            if names == ["cuda"]:
                wait_for(lambda: (tmp / f"cuda{i}.status").exists(), what="the fake-CUDA app")

    def file(self, tmp, name):
        p = tmp / name
        p.write_text("stand-in for a device node\n")
        self.files[name] = p
        return p

    def _ready(self, n):
        try:
            kids = pathlib.Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            comm = pathlib.Path(f"/proc/{self.pid}/comm").read_text().strip()
            return comm in ("sleep", "fake_cuda_app") and len(kids) == n - 1
        except FileNotFoundError:
            return False

    def reap(self):
        self.proc.wait(timeout=10)


def records(path):
    return [json.loads(l) for l in pathlib.Path(path).read_text().splitlines()] if pathlib.Path(path).exists() else []


def criu_run(path, verb):
    runs = [r for r in records(path) if r["args"] and r["args"][0] == verb]
    assert len(runs) == 1, f"expected one criu {verb}, got {runs}"
    return runs[0]


def loaded_plugins(log):
    return [l.split('"')[1] for l in pathlib.Path(log).read_text().splitlines() if ') Plugin "' in l]


def harness(verb, tmp, record, *args, cuda=None):
    env = dict(cuda.env() if cuda else os.environ, CRIU_RECORD=str(record), GPUCR_RUN_DIR=str(tmp / "run"))
    argv = [str(HARNESS), verb, "--criu", str(RECORDER), "--criu-plugins-dir", str(STANDINS), "--gpucr", str(GPUCR),
            "--topology", str(TOPOLOGY), "--dev-root", str(tmp / "dev"), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def dev(tmp_path):
    (tmp_path / "dev/dri").mkdir(parents=True)
    (tmp_path / "dev/dri/renderD128").write_text("")  # the fixture GPU's render node
    return tmp_path / "dev"


def restore_and_kill(tmp, record, verb_runner):
    pidfile = tmp / "restored.pid"
    r = verb_runner(pidfile)
    assert r.returncode == 0, r.stdout + r.stderr
    pid = int(pidfile.read_text())
    try:
        assert pid_alive(pid)
    finally:
        kill_tree(pid)
    return pid


def test_cpu_only_tree_runs_criu_with_an_empty_plugin_directory(gpucr, tmp_path):
    record = tmp_path / "criu.jsonl"
    tree = Tree(tmp_path, [[]])
    env = {"GPUCR_CRIU": str(RECORDER), "CRIU_RECORD": str(record)}
    try:
        r = gpucr("checkpoint", "-t", tree.pid, "-D", tmp_path / "img", "--criu-plugins-dir", STANDINS,
                  "--json", "--criu-log-level", "4", env=env, check=True)  # criu logs loaded plugins at -v4
    finally:
        kill_tree(tree.pid)
        tree.reap()
    assert json.loads(r.stdout)["criu_plugins"] == []
    dump = criu_run(record, "dump")
    assert dump["libdir"] and dump["libdir_entries"] == {}
    assert not pathlib.Path(dump["libdir"]).exists()  # removed after criu
    assert loaded_plugins(tmp_path / "img/dump.log") == []

    def run(pidfile):
        return gpucr("restore", "-D", tmp_path / "img", "-d", "--pid-file", pidfile, "--criu-log-level", "4", env=env)
    restore_and_kill(tmp_path, record, run)
    restore = criu_run(record, "restore")
    assert restore["libdir_entries"] == {} and restore["env"] == {}
    assert loaded_plugins(tmp_path / "img/restore.log") == []


def test_cuda_only_tree_gets_no_cuda_plugin(tmp_path, dev):
    record = tmp_path / "criu.jsonl"
    cuda = FakeCuda(tmp_path)
    tree = Tree(tmp_path, [["cuda"]], cuda=cuda)
    try:
        r = harness("checkpoint", tmp_path, record, "--pid", tree.pid, "--image-dir", tmp_path / "img", cuda=cuda)
        assert cuda.calls_for(tree.pid), "gpucr's CUDA phases did not reach the fake-CUDA process"
    finally:
        kill_tree(tree.pid)
        tree.reap()
        cuda.cleanup()
    assert r.returncode == 0, r.stderr
    assert "criu_plugins=\n" in r.stdout
    assert criu_run(record, "dump")["libdir_entries"] == {}
    log = (tmp_path / "img/dump.log").read_text()
    assert loaded_plugins(tmp_path / "img/dump.log") == [] and "cuda_plugin" not in log


def test_amd_only_tree_runs_criu_with_only_the_amdgpu_plugin(tmp_path, dev):
    record = tmp_path / "criu.jsonl"
    tree = Tree(tmp_path, [["kfd"]])
    try:
        r = harness("checkpoint", tmp_path, record, "--pid", tree.pid, "--image-dir", tmp_path / "img",
                    "--alias", f"{tree.files['kfd']}=/dev/kfd")
    finally:
        kill_tree(tree.pid)
        tree.reap()
    assert r.returncode == 0, r.stderr
    assert "criu_plugins=amdgpu_plugin\n" in r.stdout
    dump = criu_run(record, "dump")
    assert dump["libdir_entries"] == {"amdgpu_plugin.so": str((STANDINS / "amdgpu_plugin.so").resolve())}
    log = (tmp_path / "img/dump.log").read_text()
    assert loaded_plugins(tmp_path / "img/dump.log") == ["amdgpu_plugin"]
    assert "gpucr stand-in plugin amdgpu_plugin: init stage 0" in log and "cuda_plugin" not in log

    def run(pidfile):
        return harness("restore", tmp_path, record, "--image-dir", tmp_path / "img", "--pid-file", pidfile)
    restore_and_kill(tmp_path, record, run)
    restore = criu_run(record, "restore")
    assert list(restore["libdir_entries"]) == ["amdgpu_plugin.so"]
    assert loaded_plugins(tmp_path / "img/restore.log") == ["amdgpu_plugin"]
    assert "gpucr stand-in plugin amdgpu_plugin: init stage 2" in (tmp_path / "img/restore.log").read_text()


def test_mixed_cuda_and_amd_tree_runs_criu_with_only_the_amdgpu_plugin(tmp_path, dev):
    record = tmp_path / "criu.jsonl"
    cuda = FakeCuda(tmp_path)
    tree = Tree(tmp_path, [["kfd"], ["cuda"]], cuda=cuda)
    try:
        r = harness("checkpoint", tmp_path, record, "--pid", tree.pid, "--image-dir", tmp_path / "img",
                    "--alias", f"{tree.files['kfd']}=/dev/kfd", cuda=cuda)
        cuda_pid = int((tmp_path / "cuda1.status").read_text().split("pid=")[1].split()[0])
        assert [c[0] for c in cuda.calls_for(cuda_pid)][-2:] == ["lock", "checkpoint"]
    finally:
        kill_tree(tree.pid)
        tree.reap()
        cuda.cleanup()
    assert r.returncode == 0, r.stderr
    assert list(criu_run(record, "dump")["libdir_entries"]) == ["amdgpu_plugin.so"]
    assert loaded_plugins(tmp_path / "img/dump.log") == ["amdgpu_plugin"]
    assert "cuda_plugin" not in (tmp_path / "img/dump.log").read_text()


def test_amd_image_on_a_host_without_amd_gpus(gpucr, tmp_path, dev):
    """The gpucr binary on this host: inspect shows the recorded topology and why a restore
    can't map it; restore stops before criu runs (exit 4)."""
    record = tmp_path / "criu.jsonl"
    tree = Tree(tmp_path, [["kfd"]])
    try:
        r = harness("checkpoint", tmp_path, record, "--pid", tree.pid, "--image-dir", tmp_path / "img",
                    "--alias", f"{tree.files['kfd']}=/dev/kfd")
    finally:
        kill_tree(tree.pid)
        tree.reap()
    assert r.returncode == 0, r.stderr
    need(not os.path.exists("/dev/kfd"), "this host has AMD GPUs")
    doc = json.loads(gpucr("inspect", tmp_path / "img", "--json", check=True).stdout)
    amd = doc["amd"]
    assert [n["gpu_id"] for n in amd["topology"]["nodes"]] == [0, 0xa99d]
    assert amd["processes"][0]["pid"] == tree.pid
    assert amd["this_host"]["ok"] is False
    assert amd["this_host"]["mismatches"][0]["property"] == "gpu count"
    text = gpucr("inspect", tmp_path / "img", check=True).stdout
    assert "GPU 0xa99d gfx90a" in text and "restore would fail" in text

    env = {"GPUCR_CRIU": str(RECORDER), "CRIU_RECORD": str(record)}
    r = gpucr("restore", "-D", tmp_path / "img", "-d", "--criu-plugins-dir", STANDINS, env=env)
    assert r.returncode == 4, r.stderr
    assert "/dev/kfd" in r.stderr
    assert [x for x in records(record) if x["args"][0] == "restore"] == []

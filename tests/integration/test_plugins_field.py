"""The inventory `plugins` field with the real criu: what gpucr writes, what a restore demands,
the hard-link view that lets a criu without GPU plugins restore an image listing cuda_plugin,
and that the user's image stays byte-identical.

Hosts are simulated with the knobs HostHandlerProbe reads (src/core/handler_probe.hpp):
  CUDA host:     a dummy `cuda-checkpoint` script first in PATH (this machine has no libcuda);
  CPU-only host: no libcuda and a PATH without any cuda-checkpoint.
Every restore runs with CRIU_LIBS_DIR set to an empty plugin directory: criu then checks the
field ("Missing required plugin") as a criu with a plugin directory does (without one, criu
skips the check), so a restore that works proves the view did its job.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import need
from helpers import BUILD, kill_tree, read_kv, start_detached, wait_for, WORKLOADS

TOOL = BUILD / "tests/tools/gpucr_testtool"


def checksums(d):
    """{relative path: sha256} of every file under d (the view, if left behind, shows up too)."""
    out = {}
    for p in sorted(pathlib.Path(d).rglob("*")):
        if p.is_file() or p.is_symlink():
            out[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "link"
    return out


def tool(*args):
    r = subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"gpucr_testtool {args}: {r.stderr}"
    return r.stdout


@pytest.fixture
def hosts(tmp_path):
    """Environments for a simulated CUDA host and a CPU-only host."""
    empty_libdir = tmp_path / "criu-plugins"
    empty_libdir.mkdir()
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    tool_script = fake_bin / "cuda-checkpoint"
    tool_script.write_text("#!/bin/sh\nexit 0\n")
    tool_script.chmod(0o755)
    criu_dir = os.path.dirname(shutil.which("criu"))
    cpu_path = f"{criu_dir}:/usr/sbin:/usr/bin:/sbin:/bin"
    need(shutil.which("cuda-checkpoint", path=cpu_path) is None, "a real cuda-checkpoint is in the system PATH")
    common = {"CRIU_LIBS_DIR": str(empty_libdir)}
    return {
        "cuda": dict(common, PATH=f"{fake_bin}:{cpu_path}"),
        "cpu": dict(common, PATH=cpu_path),
        "empty_libdir": empty_libdir,
    }


class Image:
    def __init__(self, tmp):
        self.dir = tmp / "img"
        self.work = tmp / "work"
        self.status = tmp / "status"
        self.restored = None


@pytest.fixture
def image(gpucr, tmp_path):
    """A real dump (gpucr + criu) of tree_workload; the tree is gone afterwards."""
    need(TOOL.exists(), f"{TOOL} is not built")
    img = Image(tmp_path)
    p = start_detached([str(WORKLOADS / "tree_workload"), str(img.status)])
    try:
        wait_for(lambda: read_kv(img.status).get("counter", 0) >= 2, 10, what="the workload to count")
        gpucr("checkpoint", "--pid", p.pid, "--image-dir", img.dir, check=True)
        p.wait(timeout=10)  # reap it: a zombie keeps its pid busy for the restore
        yield img
    finally:
        if p.poll() is None:
            kill_tree(p.pid)
            p.wait()
        if img.restored:
            kill_tree(img.restored)


def restore(gpucr, img, env, *extra):
    r = gpucr("restore", "--image-dir", img.dir, "--work-dir", img.work, "--detach", "--json", *extra, env=env)
    if r.returncode == 0:
        img.restored = json.loads(r.stdout)["root_pid"]
    return r


def assert_runs(img):
    c = read_kv(img.status).get("counter", 0)
    wait_for(lambda: read_kv(img.status).get("counter", 0) > c, 10, what="the restored workload to count")


def test_checkpoint_records_an_empty_plugins_field(gpucr, image, hosts):
    assert json.loads(tool("inventory-show", image.dir)) == {"field": "empty", "names": []}
    doc = json.loads(gpucr("inspect", "--json", image.dir, env=hosts["cpu"], check=True).stdout)
    here = doc["inventory"]["plugins"]["restore_here"]
    assert here["possible"] and not here["gpu_handling"]
    text = gpucr("inspect", image.dir, env=hosts["cpu"], check=True).stdout
    assert "plugins field    empty" in text and "GPU handling disabled" in text


def test_plain_criu_refuses_an_image_listing_cuda_plugin(image, hosts):
    tool("inventory-set", image.dir, "cuda_plugin")
    image.work.mkdir()
    r = subprocess.run(["criu", "restore", "-D", str(image.dir), "-W", str(image.work), "-d", "-o", "restore.log",
                        "-v4", "-L", str(hosts["empty_libdir"])], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "Missing required plugin: cuda_plugin" in (image.work / "restore.log").read_text()


def test_listed_cuda_plugin_restores_through_a_view_when_cuda_is_handled(gpucr, image, hosts):
    tool("inventory-set", image.dir, "cuda_plugin")
    before = checksums(image.dir)
    r = restore(gpucr, image, hosts["cuda"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["plugins"]["field"] == "listed" and doc["plugins"]["names"] == ["cuda_plugin"]
    assert doc["plugins"]["view"] and doc["plugins"]["criu_sees"] == []
    names = [p["name"] for p in doc["phases"]]
    assert names.index("check GPU handlers") < names.index("prepare image view") < names.index("criu restore")
    assert_runs(image)
    assert checksums(image.dir) == before  # byte-identical, and no view left behind
    assert json.loads(tool("inventory-show", image.dir))["names"] == ["cuda_plugin"]


def test_listed_cuda_plugin_without_a_handler_fails_before_criu_runs(gpucr, image, hosts):
    tool("inventory-set", image.dir, "cuda_plugin")
    before = checksums(image.dir)
    r = restore(gpucr, image, hosts["cpu"])
    assert r.returncode == 4, r.stderr
    err = json.loads(r.stdout)["error"]
    assert "cuda_plugin" in err["message"] and err["exit_code"] == 4
    assert "install the NVIDIA driver >= 570" in err["hint"] and "cuda-checkpoint" in err["hint"]
    assert not (image.work / "restore.log").exists()  # criu never ran
    assert checksums(image.dir) == before


def test_amdgpu_plugin_without_criu_plugin_fails_naming_it(gpucr, image, hosts):
    tool("inventory-set", image.dir, "amdgpu_plugin")
    r = gpucr("restore", "--image-dir", image.dir, "--work-dir", image.work, "--detach", env=hosts["cuda"])
    assert r.returncode == 4
    assert "amdgpu_plugin" in r.stderr and "amdgpu_plugin.so" in r.stderr and str(hosts["empty_libdir"]) in r.stderr


def test_cpu_only_image_restores_with_gpu_handling_disabled(gpucr, image, hosts):
    before = checksums(image.dir)
    r = restore(gpucr, image, hosts["cpu"])
    assert r.returncode == 0, r.stderr
    plugins = json.loads(r.stdout)["plugins"]
    assert plugins["field"] == "empty" and not plugins["gpu_handling"] and not plugins["view"]
    assert_runs(image)
    assert checksums(image.dir) == before


def test_image_without_plugins_field_restores(gpucr, image, hosts):
    tool("inventory-remove", image.dir)
    assert json.loads(tool("inventory-show", image.dir))["field"] == "missing"
    r = restore(gpucr, image, hosts["cpu"])
    assert r.returncode == 0, r.stderr
    plugins = json.loads(r.stdout)["plugins"]
    assert plugins["field"] == "missing" and plugins["gpu_handling"] and not plugins["view"]
    assert_runs(image)


def test_corrupt_inventory_is_a_clear_error_and_the_image_is_untouched(gpucr, image, hosts):
    inv = image.dir / "inventory.img"
    inv.write_bytes(inv.read_bytes()[:20])
    before = checksums(image.dir)
    r = gpucr("restore", "--image-dir", image.dir, "--work-dir", image.work, "--detach", env=hosts["cuda"])
    assert r.returncode == 3, r.stderr
    assert "inventory.img is not a valid CRIU" in r.stderr
    assert not (image.work / "restore.log").exists()
    i = gpucr("inspect", image.dir)
    assert i.returncode == 3 and "inventory.img" in i.stderr
    assert checksums(image.dir) == before


def test_inspect_explains_the_field_for_this_host(gpucr, image, hosts):
    tool("inventory-set", image.dir, "cuda_plugin")
    text = gpucr("inspect", image.dir, env=hosts["cuda"], check=True).stdout
    assert "plugins field    listed: cuda_plugin" in text
    assert "cuda_plugin -> gpucr restores the CUDA state itself (cuda-checkpoint (" in text
    text = gpucr("inspect", image.dir, env=hosts["cpu"], check=True).stdout
    assert "NOT restorable on this host" in text and "cuda_plugin -> missing:" in text
    doc = json.loads(gpucr("inspect", "--json", image.dir, env=hosts["cpu"], check=True).stdout)
    here = doc["inventory"]["plugins"]["restore_here"]
    assert not here["possible"]
    assert here["handlers"][0]["name"] == "cuda_plugin" and not here["handlers"][0]["available"]

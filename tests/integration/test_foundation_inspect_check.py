"""gpucr inspect, check, demo and version with the real binary and real criu."""
import json
import os
import shutil
import subprocess

from helpers import GPUCR, pid_alive, wait_for


def demo_workloads():
    """Live processes running gpucr's demo workload."""
    out = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if b"__demo-workload" in f.read() and pid_alive(int(name)):
                    out.append(int(name))
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            pass
    return out


def test_inspect_a_gpucr_image_as_text_and_json(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "images"
    gpucr("checkpoint", "--pid", tree.pid, "--image-dir", images, check=True)
    tree.reap_root()

    text = gpucr("inspect", images, check=True).stdout
    assert f"image directory  {images}" in text
    assert "inventory        img_version 2" in text
    assert "plugins field    empty" in text
    assert f"processes        3 (root pid {tree.pid})" in text
    assert "dump stats       freezing" in text
    assert "gpucr manifest   gpucr 0." in text
    assert "criu dump" in text

    doc = json.loads(gpucr("inspect", images, "--json", check=True).stdout)
    assert doc["inventory"]["img_version"] == 2
    assert doc["inventory"]["plugins"]["field"] == "empty" and doc["inventory"]["plugins"]["names"] == []
    assert doc["inventory"]["plugins"]["restore_here"]["gpu_handling"] is False
    assert [p["pid"] for p in doc["pstree"]][0] == tree.pid
    assert len(doc["pstree"]) == 3 and doc["pstree"][0]["threads"] == 2
    assert int(doc["dump_stats"]["pages_written"]) > 0
    assert doc["restore_stats"] is None
    assert doc["manifest"]["target"]["root_pid"] == tree.pid
    assert doc["image_bytes"] > 0 and doc["files"] > 5


def test_inspect_an_image_made_by_plain_criu(gpucr, trees, tmp_path):
    tree = trees.start()
    images = tmp_path / "plain"
    images.mkdir()
    r = subprocess.run([shutil.which("criu"), "dump", "-t", str(tree.pid), "-D", str(images), "-v4",
                        "-o", "dump.log"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    tree.reap_root()

    text = gpucr("inspect", images, check=True).stdout
    assert "gpucr manifest   none (not checkpointed by gpucr)" in text
    assert "plugins field    empty" in text
    assert f"root pid {tree.pid}" in text

    doc = json.loads(gpucr("inspect", images, "--json", check=True).stdout)
    assert doc["manifest"] is None
    assert len(doc["pstree"]) == 3
    assert int(doc["dump_stats"]["pages_scanned"]) > 0


def test_inspect_of_something_else_is_bad_input(gpucr, tmp_path):
    r = gpucr("inspect", tmp_path / "missing")
    assert r.returncode == 3
    assert "is not a directory" in r.stderr
    r = gpucr("inspect", tmp_path)
    assert r.returncode == 3
    assert "inventory.img" in r.stderr


def test_check_says_criu_works_here(gpucr):
    r = gpucr("check")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    criu_line = next(l for l in lines if l.split()[1:2] == ["criu"])
    assert criu_line.startswith("ok"), criu_line
    assert "version 4." in criu_line
    assert any(l.startswith("ok") and " kernel " in l for l in lines)
    assert any(" privileges " in l and l.startswith("ok") for l in lines)
    assert lines[-1].startswith("verdict: ok")


def test_check_json(gpucr):
    r = gpucr("check", "--json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    items = {c["name"]: c for c in doc["checks"]}
    assert items["criu"]["verdict"] == "ok"
    assert "Looks good" in items["criu"]["detail"]
    assert {"kernel", "cgroups", "privileges", "nvidia driver", "cuda checkpoint api", "amd kfd"} <= set(items)
    assert doc["verdict"] in ("ok", "warn")


def test_check_with_a_missing_criu_fails(gpucr):
    r = gpucr("check", "--criu", "/nonexistent/criu", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "fail"
    assert "criu not found" in next(c for c in doc["checks"] if c["name"] == "criu")["detail"]


def test_demo_checkpoints_restores_and_verifies(gpucr):
    r = gpucr("demo", "--mib", "64", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "demo: OK" in r.stdout
    assert " 0 corrupted words" in r.stdout
    # The demo kills its workload (original and restored) before it exits.
    wait_for(lambda: not demo_workloads(), timeout=5, what="the demo workload to be gone")


def test_demo_json(gpucr, tmp_path):
    r = gpucr("demo", "--mib", "32", "--image-dir", tmp_path / "demo-images", "--json", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["corrupt_words"] == 0
    assert doc["counter_after_restore"] > doc["counter_at_checkpoint"] > 0
    assert doc["restored_pid"] == doc["original_pid"]
    assert (tmp_path / "demo-images" / "gpucr-manifest").exists()
    wait_for(lambda: not demo_workloads(), timeout=5, what="the demo workload to be gone")


def test_version(gpucr):
    r = gpucr("version", check=True)
    assert r.stdout.startswith("gpucr 0.")
    assert subprocess.run([str(GPUCR), "--version"], capture_output=True, text=True).stdout.startswith("gpucr 0.")

"""Portable checkpoints of process trees (fake CUDA, real criu): `gpucr checkpoint --export` to a
file and through a pipe with each compression, `gpucr restore --import`, and a destination whose
fake driver offers other GPUs (tests/fakes, FAKE_CUDA_GPUS): the same UUIDs restore as they are,
other ones of the same chip with --device-map auto, and without it the refusal prints the map
gpucr would use; a destination without the chip is refused before anything is extracted. Hostile
archives: test_archive_hostile.py; containers and engines: test_containers_archive.py."""
import io
import json
import os
import pathlib
import subprocess
import tarfile
import threading
import zlib

import pytest

from cudarig import MISSING, OK, rig  # noqa: F401
from fakecuda import fakes_built, gpu_uuid  # noqa: F401
from helpers import GPUCR, read_kv, wait_for

DEST = "gpus.dest"  # the destination machine's gpus file (tests/fakes/README.md, "Machines")


def private_tmp(rig):
    """A private $TMPDIR: gpucr's scratch image directories go there (and must be gone after)."""
    d = rig.dir / "scratch"
    d.mkdir(exist_ok=True)
    return d


def env(rig, machine=None):
    e = rig.env({"TMPDIR": str(private_tmp(rig))})
    if machine:
        e["FAKE_CUDA_GPUS"] = machine
    return e


def restored_root(out):
    """The root pid a text restore report names ("restored ...: root pid N")."""
    return int(out.split("root pid ")[1].split()[0])


def check_restored(rig, tree, out):
    root = restored_root(out)
    rig.fc.track(root)
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * len(tree.apps)
    return root


def open_tar(archive):
    """tarfile of any gpucr archive (Python's tarfile reads no zstd: the zstd tool does)."""
    data = pathlib.Path(archive).read_bytes()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    return tarfile.open(fileobj=io.BytesIO(data))


def members(archive):
    with open_tar(archive) as tf:
        return tf.getnames()


def index_of(archive):
    with open_tar(archive) as tf:
        return tf.extractfile("gpucr-index").read().decode()


@pytest.mark.parametrize("compress", ["zstd", "gzip", "none"])
def test_archive_export_to_a_file_and_import_restores_the_job_running(rig, compress):
    tree = rig.start_tree(cuda=2)
    archive = rig.dir / f"job.tar.{compress}"
    r = rig.gpucr("checkpoint", "--pid", tree.root, "--export", archive, "--compress", compress, env=env(rig))
    assert r.returncode == OK, r.stderr
    rig.wait_gone(tree)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert not list(private_tmp(rig).iterdir()), "the private image directory is removed once the archive is complete"
    names = members(archive)
    assert names[:3] == ["gpucr-index", "checkpoint", "checkpoint/gpucr-manifest"], names
    assert "checkpoint/inventory.img" in names and "checkpoint/pages-1.img" in names
    assert "spec.dump" not in names, "a process tree has no container spec"
    assert "write archive" in r.stdout and f"archive written to {archive}: {compress}" in r.stdout, r.stdout
    with open(archive, "rb") as f:
        magic = f.read(4)
    assert {"zstd": b"\x28\xb5\x2f\xfd", "gzip": b"\x1f\x8b\x08\x00"}.get(compress, magic)[:3] == magic[:3]

    doc = json.loads(rig.gpucr("inspect", "--json", archive, env=env(rig)).stdout)
    assert doc["archive"]["compression"] == compress and doc["archive"]["verified"]
    assert doc["destination"]["ok"] and doc["destination"]["gpu_map"]["map"] == "", doc["destination"]
    assert len(doc["manifest"]["cuda_processes"]) == 2
    req = doc["manifest"]["requirements"]
    assert req["cuda_processes"] == 2 and int(req["host_memory_bytes"]) > 0 and req["plugins"] == ["cuda_plugin"]
    assert not list(private_tmp(rig).iterdir()), "inspect keeps nothing"

    r = rig.gpucr("restore", "--import", archive, "--detach", env=env(rig))
    assert r.returncode == OK, r.stderr
    for phase in ("read archive", "check destination", "extract archive", "criu restore", "gpu unlock"):
        assert phase in r.stdout, r.stdout
    check_restored(rig, tree, r.stdout)
    assert not list(private_tmp(rig).iterdir()), "the extracted images are removed after a successful restore"
    rig.assert_clean()


@pytest.mark.parametrize("compress", ["zstd", "gzip", "none"])
def test_archive_moves_a_job_through_a_pipe(rig, compress):
    tree = rig.start_tree(cuda=1)
    out = open(rig.dir / "restore.out", "w+")
    err = open(rig.dir / "restore.err", "w+")
    ckpt_err = open(rig.dir / "checkpoint.err", "w+")
    rig.opened += [out, err, ckpt_err]
    reaper = threading.Thread(target=tree.proc.wait)  # the killed root is our child: its pid must be free
    reaper.start()
    restore = subprocess.Popen([str(GPUCR), "restore", "--import", "-", "--detach"], stdin=subprocess.PIPE,
                               stdout=out, stderr=err, env=env(rig), start_new_session=True)
    ckpt = subprocess.Popen([str(GPUCR), "checkpoint", "--pid", str(tree.root), "--export", "-", "--compress",
                             compress], stdout=restore.stdin, stderr=ckpt_err, env=env(rig))
    restore.stdin.close()  # the checkpoint holds the pipe's only writer
    assert ckpt.wait(timeout=90) == OK, open(ckpt_err.name).read()
    assert restore.wait(timeout=90) == OK, open(err.name).read()
    reaper.join()
    text = open(out.name).read()
    assert "restored the archive on stdin" in text and f"archive read from stdin: {compress}" in text, text
    assert "checkpointed pid" in open(ckpt_err.name).read(), "with --export -, the report goes to stderr"
    check_restored(rig, tree, text)
    assert not list(private_tmp(rig).iterdir())
    rig.assert_clean()


def test_archive_with_image_dirs_keeps_the_images_on_both_sides(rig):
    tree = rig.start_tree(cuda=1)
    img, archive, dest = rig.img(), rig.dir / "job.tar.zst", rig.img()
    r = rig.gpucr("checkpoint", "--pid", tree.root, "-D", img, "--export", archive, env=env(rig))
    assert r.returncode == OK, r.stderr
    rig.wait_gone(tree)
    assert (img / "gpucr-manifest").exists() and (img / "pages-1.img").exists()
    index = index_of(archive)
    for name in os.listdir(img):  # every image file is listed with its size and CRC-32
        data = (img / name).read_bytes()
        assert f"f {len(data)} {zlib.crc32(data):08x} checkpoint/{name}\n" in index, (name, index)
    r = rig.gpucr("restore", "--import", archive, "-D", dest, "--detach", env=env(rig))
    assert r.returncode == OK, r.stderr
    check_restored(rig, tree, r.stdout)
    assert set(os.listdir(img)) <= set(os.listdir(dest)), "the extracted images stay (with criu's restore logs)"


def test_archive_an_existing_file_is_never_overwritten(rig):
    tree = rig.start_tree(cuda=1)
    archive = rig.dir / "job.tar.zst"
    archive.write_text("precious")
    r = rig.gpucr("checkpoint", "--pid", tree.root, "--export", archive, env=env(rig))
    assert r.returncode == 3 and "exists: gpucr never overwrites an archive" in r.stderr, r.stderr
    assert archive.read_text() == "precious"
    rig.advancing(tree)  # refused before anything happened


def two_machines(rig, dest_gpus=2, name=None):
    """The source (default machine): 2 fake H100s; the destination (FAKE_CUDA_GPUS=gpus.dest):
    other UUIDs, `name` chips."""
    rig.fc.set_gpus(2)
    kw = {"name": name} if name else {}
    return rig.fc.set_gpus(dest_gpus, host=1, machine=DEST, **kw)


def exported(rig, tree):
    archive = rig.dir / "job.tar.zst"
    r = rig.gpucr("checkpoint", "--pid", tree.root, "--export", archive, env=env(rig))
    assert r.returncode == OK, r.stderr
    rig.wait_gone(tree)
    return archive


def test_archive_onto_other_gpus_refuses_printing_the_map_then_device_map_auto_uses_it(rig):
    dest = two_machines(rig)
    tree = rig.start_tree(cuda=1)
    archive = exported(rig, tree)
    want = f"{gpu_uuid(0)}={dest[0]},{gpu_uuid(1)}={dest[1]}"

    text = rig.gpucr("inspect", archive, env=env(rig, DEST)).stdout
    assert f"GPU map          the GPUs are not here; with --device-map auto: {want}" in text, text
    r = rig.gpucr("restore", "--import", archive, "--detach", env=env(rig, DEST))
    assert r.returncode == MISSING, r.stderr
    assert "that this host does not have" in r.stderr
    assert f"restore with --device-map auto, which uses --device-map {want}" in r.stderr, r.stderr
    assert "extract archive" not in r.stdout + r.stderr, "refused before anything was extracted"
    assert not list(private_tmp(rig).iterdir())

    r = rig.gpucr("restore", "--import", archive, "--detach", "--device-map", "auto", env=env(rig, DEST))
    assert r.returncode == OK, r.stderr
    assert f"GPU map (auto): {want}" in r.stderr, r.stderr
    check_restored(rig, tree, r.stdout)
    assert read_kv(tree.statuses[0])["gpu"] == dest[0], "the process runs on the destination's GPU"
    rig.assert_clean()


def test_archive_the_same_gpus_on_the_destination_restore_as_they_are(rig):
    rig.fc.set_gpus(2)
    rig.fc.set_gpus([{"uuid": g} for g in rig.fc.uuids], machine=DEST)  # same UUIDs, another gpus file
    tree = rig.start_tree(cuda=1)
    archive = exported(rig, tree)
    r = rig.gpucr("restore", "--import", archive, "--detach", env=env(rig, DEST))
    assert r.returncode == OK, r.stderr
    assert "GPU map" not in r.stderr, "identity: no map"
    check_restored(rig, tree, r.stdout)
    assert read_kv(tree.statuses[0])["gpu"] == gpu_uuid(0)


def test_archive_a_destination_without_the_chip_is_refused_before_extracting(rig):
    two_machines(rig, name="NVIDIA A100-SXM4-80GB")
    tree = rig.start_tree(cuda=1)
    archive = exported(rig, tree)
    target = rig.dir / "never"
    r = rig.gpucr("restore", "--import", archive, "-D", target, "--device-map", "auto", env=env(rig, DEST))
    assert r.returncode == MISSING, r.stderr
    assert "can't be restored on this host: the checkpoint's CUDA processes ran on" in r.stderr, r.stderr
    assert "this host has none of that model (it has 2 GPU(s): NVIDIA A100-SXM4-80GB" in r.stderr, r.stderr
    assert not target.exists(), "nothing was extracted"
    doc = json.loads(rig.gpucr("inspect", "--json", archive, env=env(rig, DEST)).stdout)
    assert not doc["destination"]["ok"] and "none of that model" in doc["destination"]["refusals"][0]

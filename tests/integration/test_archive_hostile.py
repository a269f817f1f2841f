"""Hostile and damaged archives for `gpucr restore --import` (src/archive/extract.hpp): each is
refused with a clear message naming the member, exit 3 (5 for one larger than the free space),
nothing is written outside the extraction directory, and nothing is left behind: neither in the
private scratch directory ($TMPDIR) nor in an --image-dir it made. The archives are crafted
around the members of a real export (of a plain process tree), so everything but the one
hostile detail is what gpucr writes."""
import io
import os
import pathlib
import subprocess
import tarfile
import zlib

import pytest

from helpers import GPUCR, kill_tree, start_detached

BAD_INPUT, NOT_PERMITTED = 3, 5  # src/util/error.hpp


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """([(name, TarInfo, data)] of every member, in order; the bytes) of a real uncompressed
    export of a plain process tree (sh and a sleep)."""
    d = tmp_path_factory.mktemp("real")
    tree = start_detached(["sh", "-c", "sleep 600 & wait"])
    try:
        archive = d / "real.tar"
        r = subprocess.run([str(GPUCR), "checkpoint", "--pid", str(tree.pid), "--export", str(archive), "--compress",
                            "none"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "TMPDIR": str(d), "GPUCR_RUN_DIR": str(d / "run")})
        assert r.returncode == 0, r.stderr
        tree.wait(timeout=15)
        with tarfile.open(archive) as tf:
            out = [(m.name, m, tf.extractfile(m).read() if m.isfile() else b"") for m in tf.getmembers()]
        yield out, archive.read_bytes()
    finally:
        kill_tree(tree.pid)


def index_text(entries):
    """gpucr's index (docs/FORMATS.md) listing entries [(name, data or None for the directory)]."""
    text = "gpucr-index 1\n"
    for name, data in entries:
        if data is None:
            text += f"d 0 00000000 {name}\n"
        else:
            text += f"f {len(data)} {zlib.crc32(data):08x} {name}\n"
    text += f"end {len(entries)} {zlib.crc32(text.encode()):08x}\n"
    return text.encode()


def info(name, data=b"", kind=tarfile.REGTYPE, mode=0o600, link=""):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.linkname, t.size = kind, mode, link, len(data) if kind == tarfile.REGTYPE else 0
    if kind == tarfile.CHRTYPE:
        t.devmajor, t.devminor = 1, 3
    return t


def craft(members, listed=None):
    """A tar of gpucr's index (listing `listed`, default: every member) and `members`
    [(TarInfo, data)]."""
    listed = members if listed is None else listed
    index = index_text([(t.name.rstrip("/") + "/" if t.isdir() else t.name, None if t.isdir() else d)
                        for t, d in listed])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        tf.addfile(info("gpucr-index", index), io.BytesIO(index))
        for t, d in members:
            tf.addfile(t, io.BytesIO(d) if t.isfile() else None)
    return buf.getvalue()


def legit(real):
    """The real export's members (index excluded) as (TarInfo, data)."""
    members, _ = real
    return [(t, d) for name, t, d in members if name != "gpucr-index"]


class Import:
    """Runs `gpucr restore --import` on crafted bytes; checks that nothing was left anywhere."""

    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.scratch = self.tmp / "scratch"
        self.scratch.mkdir()
        self.run_dir = self.tmp / "run"
        self.passwd = pathlib.Path("/etc/passwd").read_bytes()

    def __call__(self, data, *args, scratch=None, stdin=False):
        archive = self.tmp / "crafted.tar"
        archive.write_bytes(data)
        before = set(os.listdir(self.tmp))
        env = {**os.environ, "TMPDIR": str(scratch or self.scratch), "GPUCR_RUN_DIR": str(self.run_dir)}
        argv = [str(GPUCR), "restore", "--import", "-" if stdin else str(archive), "--detach", *map(str, args)]
        with open(archive, "rb") as f:
            r = subprocess.run(argv, stdin=f if stdin else subprocess.DEVNULL, capture_output=True, text=True,
                               env=env, timeout=60)
        assert not list((scratch or self.scratch).iterdir()), "a refused archive leaves nothing in the scratch dir"
        assert set(os.listdir(self.tmp)) <= before | {"run"}, "nothing new beside the archive"
        assert pathlib.Path("/etc/passwd").read_bytes() == self.passwd
        return r


@pytest.fixture
def imp(tmp_path):
    return Import(tmp_path)


def after_manifest(real, hostile):
    """The real members with `hostile` right after the manifest, the index listing only the real ones."""
    ms = legit(real)
    at = [t.name for t, _ in ms].index("checkpoint/gpucr-manifest") + 1
    return craft(ms[:at] + [hostile] + ms[at:], listed=ms)


@pytest.mark.parametrize("hostile,says", [
    (info("../escape", b"x"), "refused file '../escape': '..' would leave the extraction directory"),
    (info("checkpoint/../../escape", b"x"), "'..' would leave the extraction directory"),
    (info("/tmp/gpucr-hostile-abs", b"x"), "refused file '/tmp/gpucr-hostile-abs': absolute names are never extracted"),
    (info("checkpoint/etc", kind=tarfile.SYMTYPE, link="/etc"), "refused symbolic link 'checkpoint/etc' -> '/etc'"),
    (info("checkpoint/passwd", kind=tarfile.LNKTYPE, link="/etc/passwd"),
     "refused hard link 'checkpoint/passwd' -> '/etc/passwd': links are never extracted"),
    (info("checkpoint/null", kind=tarfile.CHRTYPE), "refused character device 'checkpoint/null'"),
    (info("checkpoint/fifo", kind=tarfile.FIFOTYPE), "refused fifo 'checkpoint/fifo'"),
    (info("checkpoint/suid", b"#!/bin/sh\n", mode=0o4755), "refused file 'checkpoint/suid': mode 4755 has setuid"),
    (info("checkpoint/sub/deep", b"x"), "only checkpoint/, checkpoint/NAME and NAME"),
], ids=["dotdot", "dotdot-inside", "absolute", "symlink", "hardlink", "device", "fifo", "setuid", "subdir"])
def test_archive_hostile_member_is_refused_and_nothing_is_left(real, imp, hostile, says, tmp_path):
    data = after_manifest(real, (hostile, b"x" * hostile.size))
    r = imp(data)
    assert r.returncode == BAD_INPUT, r.stderr
    assert says in r.stderr, r.stderr
    assert "Nothing was kept from it" in r.stderr
    target = tmp_path / "target"
    r = imp(data, "--image-dir", target)
    assert r.returncode == BAD_INPUT and says in r.stderr, r.stderr
    assert not target.exists(), "the image directory it made is gone again"
    assert not pathlib.Path("/tmp/gpucr-hostile-abs").exists() and not (tmp_path.parent / "escape").exists()


def test_archive_a_hostile_name_in_the_index_is_refused(real, imp):
    ms = legit(real)
    r = imp(craft(ms, listed=ms + [(info("../../etc/cron.d/x", b"x"), b"x")]))
    assert r.returncode == BAD_INPUT
    assert "its index (gpucr-index) is invalid: unsafe or unexpected member name '../../etc/cron.d/x'" in r.stderr, r.stderr


def test_archive_larger_than_the_free_space_is_refused_before_writing(real, imp, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True)
    try:
        bomb = b"\0" * (64 << 20)
        ms = [(t, d) for t, d in legit(real) if not t.name.startswith("checkpoint/pages-")]
        tar = craft(ms + [(info("checkpoint/pages-1.img", bomb), bomb)])
        packed = subprocess.run(["zstd", "-19", "-c"], input=tar, capture_output=True, check=True).stdout
        assert len(packed) < 100_000, "a small archive that claims 64 MiB"
        r = imp(packed, scratch=small)
        assert r.returncode == NOT_PERMITTED, r.stderr
        assert "would take 64." in r.stderr and "which has 4.0 MiB free: refused before writing anything" in r.stderr, \
            r.stderr
        assert "decompression bomb" in r.stderr
        r = imp(packed, "--image-dir", small / "img", scratch=small)
        assert r.returncode == NOT_PERMITTED and not (small / "img").exists(), r.stderr
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_archive_truncated_anywhere_is_refused_naming_the_member(real, imp):
    members, whole = real
    with tarfile.open(fileobj=io.BytesIO(whole)) as tf:
        pages = next(m for m in tf.getmembers() if m.name.startswith("checkpoint/pages-"))
    at_boundary = whole[:pages.offset]
    r = imp(at_boundary)
    assert r.returncode == BAD_INPUT
    assert f"members its index lists: '{pages.name}' and" in r.stderr and "(truncated)" in r.stderr, r.stderr
    inside = whole[:pages.offset_data + pages.size // 2]
    r = imp(inside, stdin=True)
    assert r.returncode == BAD_INPUT and pages.name in r.stderr, r.stderr
    packed = subprocess.run(["zstd", "-c"], input=whole, capture_output=True, check=True).stdout
    r = imp(packed[:len(packed) * 2 // 3])
    assert r.returncode == BAD_INPUT and "Truncated zstd input" in r.stderr and pages.name in r.stderr, r.stderr
    assert "the archive is damaged, truncated" in r.stderr


def test_archive_damaged_data_is_refused_by_its_crc(real, imp):
    _, whole = real
    with tarfile.open(fileobj=io.BytesIO(whole)) as tf:
        pages = next(m for m in tf.getmembers() if m.name.startswith("checkpoint/pages-"))
    damaged = bytearray(whole)
    damaged[pages.offset_data + 100] ^= 0xff
    r = imp(bytes(damaged))
    assert r.returncode == BAD_INPUT
    assert f"'{pages.name}' is damaged: its data has CRC-32" in r.stderr, r.stderr


def test_archive_garbage_and_foreign_archives_are_refused(imp):
    r = imp(os.urandom(20000))
    assert r.returncode == BAD_INPUT and "crafted.tar" in r.stderr, r.stderr
    buf = io.BytesIO()  # a tar whose first member is not gpucr's index (podman's, CRI-O's)
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.addfile(info("config.dump", b"{}"), io.BytesIO(b"{}"))
    r = imp(buf.getvalue())
    assert r.returncode == BAD_INPUT
    assert "is not a gpucr checkpoint archive: its first member is 'config.dump', not gpucr-index" in r.stderr
    assert "podman container restore --import" in r.stderr

"""Helpers of the fault tests (test_faults.py, test_faults_input.py): criu wrappers, what an image
holds, whether it restores."""
from cudarig import real_criu
from helpers import wait_for

MANIFEST = "gpucr-manifest"


def criu_wrapper(rig, name, body):
    """A criu for --criu: a shell script around the real criu."""
    return rig.script(name, "#!/bin/sh\nREAL=" + real_criu() + "\n" + body)


def assert_no_gpucr_debris(img):
    left = [p.name for p in img.iterdir() if p.name.startswith((".gpucr-view-", "gpucr-criu-plugins"))]
    assert left == [], left


def image_files(img):
    """The image's own files and their bytes (not what a restore adds: its log, pid file, stats)."""
    return {p.name: p.read_bytes() for p in img.iterdir() if not p.name.startswith(("restore.", "stats-restore"))}


def restorable(rig, img, tree):
    """The image restores: every CUDA process runs again and counts on."""
    rig.wait_gone(tree)
    rig.gpucr_ok("restore", "-D", img, "-d")
    rig.advancing(tree)
    assert rig.states(tree) == ["running"] * len(tree.apps)


def start_checkpoint_with_a_hung_criu(rig, tree, *args):
    """A `gpucr checkpoint` whose criu dump never ends; returns once that criu runs."""
    marker = rig.dir / "hung"
    hang = criu_wrapper(rig, "hang-criu", f'[ "$1" = dump ] && {{ touch "{marker}"; exec sleep 100000; }}\n'
                        'exec "$REAL" "$@"\n')
    p = rig.spawn_gpucr("checkpoint", "--pid", tree.root, "-D", rig.img(), "--criu", hang, *args)
    wait_for(marker.exists, timeout=30, what="the hung criu")
    return p

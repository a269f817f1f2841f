"""--thp-window against the host's real transparent huge page setting (mm/thp_window.hpp): the
mode is `always` while criu runs and is put back after each operation, after a SIGKILLed gpucr
(by its guardian) too; `never` is left alone unless --thp-window=force.

Each test starts from `madvise` and puts back the mode the host had (the thp fixture). The
window is host-wide: these tests assume no other --thp-window operation runs on the host.
"""
import json
import os
import signal
import pathlib
import shutil
import subprocess

import pytest

from conftest import need
from containers_lib import (assert_counter_continues, busybox_rootfs, gpucr_env, read_count, runc,  # noqa: F401
                            unique, wait_count_above)
from helpers import GPUCR, wait_for

THP = pathlib.Path("/sys/kernel/mm/transparent_hugepage/enabled")


def thp_mode():
    text = THP.read_text()
    return text[text.index("[") + 1:text.index("]")]


def set_thp(mode):
    THP.write_text(mode)
    assert thp_mode() == mode


@pytest.fixture
def thp():
    need(THP.exists(), f"this kernel has no {THP}")
    before = thp_mode()
    try:
        set_thp(before)
    except OSError as e:
        need(False, f"{THP} is not writable here: {e}")
    set_thp("madvise")
    try:
        yield
    finally:
        set_thp(before)


class Env:
    """gpucr with a private run directory, and criu wrappers that record the THP mode."""

    def __init__(self, tmp):
        self.dir = pathlib.Path(tmp)
        self.run = self.dir / "run"
        self.env = dict(os.environ, GPUCR_RUN_DIR=str(self.run))

    def gpucr(self, *args):
        return subprocess.run([str(GPUCR), *map(str, args)], capture_output=True, text=True, env=self.env,
                              timeout=120)

    def ok(self, *args):
        r = self.gpucr(*args)
        assert r.returncode == 0, f"gpucr {args} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def spawn(self, *args):
        self.err = open(self.dir / "gpucr.err", "w+")
        return subprocess.Popen([str(GPUCR), *map(str, args)], stdout=subprocess.DEVNULL, stderr=self.err,
                                stdin=subprocess.DEVNULL, env=self.env, start_new_session=True)

    def script(self, name, text):
        p = self.dir / name
        p.write_text(text)
        p.chmod(0o755)
        return p

    def recording_criu(self, pause_dump=0):
        """A criu (for --criu) that writes the THP mode it runs under to seen.<command>; with
        `pause_dump`, its dump first sleeps that long in a pre-dump action (marker: pre-dump)."""
        action = self.script("pause-action", "#!/bin/sh\n[ \"$CRTOOLS_SCRIPT_ACTION\" = pre-dump ] || exit 0\n"
                             f'touch "{self.dir}/pre-dump"; sleep {pause_dump}\n')
        extra = f' --action-script "{action}"' if pause_dump else ""
        return self.script("recording-criu", "#!/bin/sh\n"
                           f'case "$1" in dump|restore) cat "{THP}" > "{self.dir}/seen.$1";; esac\n'
                           f'[ "$1" = dump ] && exec "{shutil.which("criu")}" "$@"{extra}\n'
                           f'exec "{shutil.which("criu")}" "$@"\n')

    def paused_dump(self, tree):
        """A checkpoint with --thp-window, spawned, held in criu's pre-dump action for 2 s; the
        window is open by then."""
        p = self.spawn("checkpoint", "--pid", tree.pid, "-D", self.dir / "img", "--thp-window",
                       "--criu", self.recording_criu(pause_dump=2))
        wait_for((self.dir / "pre-dump").exists, timeout=30, what="criu's pre-dump action")
        assert thp_mode() == "always"
        return p

    def journal(self):
        """The one journal document of the operation under way."""
        found = [j for j in self.journals() if j.suffix == ".json"]
        assert len(found) == 1, found
        return json.loads(found[0].read_text())

    def seen(self, command):
        text = (self.dir / f"seen.{command}").read_text()
        return text[text.index("[") + 1:text.index("]")]

    def thp_files(self):
        d = self.run / "thp"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def journals(self):
        d = self.run / "ops"
        return sorted(d.iterdir()) if d.exists() else []


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def test_checkpoint_and_restore_stage_under_always_and_put_madvise_back(thp, env, trees):
    tree = trees.start()
    img = env.dir / "img"
    criu = env.recording_criu()
    r = env.ok("checkpoint", "--pid", tree.pid, "-D", img, "--thp-window", "--criu", criu)
    assert env.seen("dump") == "always"
    assert thp_mode() == "madvise"
    assert "open THP window" in r.stdout and "close THP window" in r.stdout, r.stdout
    assert env.thp_files() == ["lock"]  # no holder, no recorded mode left
    tree.wait_gone()
    dumped = tree.status()

    env.ok("restore", "-D", img, "--detach", "--thp-window", "--criu", criu)
    assert env.seen("restore") == "always"
    assert thp_mode() == "madvise"
    assert env.thp_files() == ["lock"]
    wait_for(lambda: (s := tree.status()) and s["counter"] != dumped["counter"], what="the restored tree to count")
    tree.assert_healthy()


def test_without_the_flag_criu_runs_under_the_hosts_mode(thp, env, trees):
    tree = trees.start()
    env.ok("checkpoint", "--pid", tree.pid, "-D", env.dir / "img", "--leave-running", "--criu", env.recording_criu())
    assert env.seen("dump") == "madvise"
    assert not (env.run / "thp").exists()


def test_sigkill_of_gpucr_mid_dump_the_guardian_puts_madvise_back(thp, env, trees):
    tree = trees.start()
    p = env.paused_dump(tree)
    assert env.journal()["thp_window"] == {"original": "madvise"}
    p.kill()
    p.wait(timeout=10)
    wait_for(lambda: thp_mode() == "madvise" and not env.journals(), timeout=60,
             what="the guardian to close the THP window")
    assert env.thp_files() == ["lock"]
    assert "closed the THP window" in (env.run / "recovery.log").read_text()
    tree.assert_healthy()  # the dump was refused at post-dump: the tree runs on


def test_sigkill_of_gpucr_and_its_guardian_gpucr_recover_puts_madvise_back(thp, env, trees):
    tree = trees.start()
    p = env.paused_dump(tree)
    os.kill(env.journal()["guardian"]["pid"], signal.SIGKILL)
    p.kill()
    p.wait(timeout=10)
    assert thp_mode() == "always"  # nobody left to close it
    r = env.ok("recover")  # waits for the dead gpucr's criu, then closes its window
    assert "closed the THP window" in r.stdout + r.stderr, r.stdout + r.stderr
    assert thp_mode() == "madvise"
    assert env.thp_files() == ["lock"]
    tree.assert_healthy()


@pytest.mark.parametrize("flag,during", [("--thp-window", "never"), ("--thp-window=force", "always")])
def test_never_is_left_alone_unless_forced(thp, env, trees, flag, during):
    set_thp("never")
    tree = trees.start()
    r = env.ok("checkpoint", "--pid", tree.pid, "-D", env.dir / "img", "--leave-running", flag,
               "--criu", env.recording_criu())
    assert env.seen("dump") == during
    assert thp_mode() == "never"
    if during == "never":
        assert "--thp-window=force" in r.stderr, r.stderr


def test_already_always_changes_nothing(thp, env, trees):
    set_thp("always")
    tree = trees.start()
    env.ok("checkpoint", "--pid", tree.pid, "-D", env.dir / "img", "--leave-running", "--thp-window",
           "--criu", env.recording_criu())
    assert env.seen("dump") == "always"
    assert thp_mode() == "always"
    assert env.thp_files() == ["lock"]


def test_check_reports_the_mode_and_the_gain(thp):
    r = subprocess.run([str(GPUCR), "check"], capture_output=True, text=True, timeout=120)
    line = next(l for l in r.stdout.splitlines() if "transparent huge pages" in l)
    assert "mode madvise" in line and "downtime 12.3 -> 9.4 s" in line, line


def test_sigterm_of_gpucr_mid_dump_closes_the_window_in_the_rollback(thp, env, trees):
    tree = trees.start()
    p = env.paused_dump(tree)
    p.terminate()
    assert p.wait(timeout=60) == 1
    assert thp_mode() == "madvise"
    assert env.thp_files() == ["lock"]
    tree.assert_healthy()


def assert_every_swrk_under_always(seen):
    """runc ran criu swrk (its feature check and the dump or restore), each time under `always`."""
    swrks = [line for line in seen.read_text().splitlines() if line.startswith("swrk ")]
    assert swrks and all("[always]" in line for line in swrks), seen.read_text()


def test_the_runtime_wrapper_takes_the_window_from_gpucr_thp_window(thp, runc, busybox_rootfs, gpucr_env, tmp_path):
    """Engines pass no gpucr options: GPUCR_THP_WINDOW (set where the runtime is configured) is
    --thp-window for what they run through the wrapper; a bad value changes nothing."""
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    runc.start(cid, runc.bundle(busybox_rootfs, cid, data))
    wait_count_above(data, 5)
    bundle = tmp_path / f"bundle-{cid}"
    # runc runs criu from PATH: this one records the mode it starts under, then runs the real criu.
    bindir = tmp_path / "criu-bin"
    bindir.mkdir()
    seen = tmp_path / "seen"
    (bindir / "criu").write_text(f'#!/bin/sh\necho "$1 $(cat {THP})" >> "{seen}"\nexec "{shutil.which("criu")}" "$@"\n')
    (bindir / "criu").chmod(0o755)
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    env = dict(gpucr_env.env, PATH=f"{bindir}:{os.environ['PATH']}")
    img = tmp_path / "img"

    r = runc("checkpoint", "--image-path", img, "--work-path", tmp_path / "work", cid, runtime=wrapper,
             env=dict(env, GPUCR_THP_WINDOW="yes"), check=False)
    assert r.returncode == 2, r.stderr
    assert 'GPUCR_THP_WINDOW is "yes", not off, on or force' in r.stderr, r.stderr
    assert not img.exists() and not seen.exists(), "refused before anything ran"
    assert runc.state(cid)["status"] == "running" and thp_mode() == "madvise"

    runc("checkpoint", "--image-path", img, "--work-path", tmp_path / "work", cid, runtime=wrapper,
         env=dict(env, GPUCR_THP_WINDOW="on"))
    assert_every_swrk_under_always(seen)
    assert thp_mode() == "madvise", "the window closed after the checkpoint"
    at = read_count(data)
    seen.unlink()
    runc("restore", "--detach", "--image-path", img, "--work-path", tmp_path / "work2", "--bundle", bundle, cid,
         runtime=wrapper, env=dict(env, GPUCR_THP_WINDOW="on"))
    assert_every_swrk_under_always(seen)
    assert thp_mode() == "madvise", "the window closed after the restore"
    assert runc.state(cid)["status"] == "running"
    assert_counter_continues(data, at)

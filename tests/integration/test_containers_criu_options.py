"""Every criu flag `gpucr checkpoint` accepts, given for a container (real runc): each takes
effect, shown by the runtime's argv or by the runtime's criu log, or is refused with a usage
error that changes nothing (core/request.hpp says which flag goes which way and why).

The runtime is runc behind a recording script (`--runtime`), which appends its argv to a file and
execs runc: the argv is runc's own, and runc runs criu as always.
"""
import json
import os
import pathlib

import pytest

from containers_lib import (GPUCR, RUNC, busybox_rootfs, gpucr_env, run_to_files, runc, unique,  # noqa: F401
                            wait_count_above)

# runtime argv flags: the gpucr option and the runc option it becomes.
ARGV_FLAGS = [
    (["--tcp-established"], ["--tcp-established"]),
    (["--ext-unix-sk"], ["--ext-unix-sk"]),
    (["--shell-job"], ["--shell-job"]),
    (["--file-locks"], ["--file-locks"]),
    (["--manage-cgroups-mode", "soft"], ["--manage-cgroups-mode", "soft"]),
    (["--leave-running"], ["--leave-running"]),
]


def recording_runtime(tmp):
    rec = tmp / "runtime-argv.jsonl"
    script = tmp / "runc-recorder"
    script.write_text("#!/bin/sh\n"
                      f"printf '%s\\0' \"$@\" >> '{rec}'\nprintf '\\n' >> '{rec}'\n"
                      f"exec '{RUNC}' \"$@\"\n")
    script.chmod(0o755)
    return script, rec


def recorded_commands(rec):
    """Every recorded runtime argv (NUL-separated arguments, one command per line)."""
    out = []
    for line in pathlib.Path(rec).read_bytes().split(b"\n"):
        if line:
            out.append([a.decode() for a in line.split(b"\0") if a != b""])
    return out


def checkpoint_command(rec):
    cmds = [c for c in recorded_commands(rec) if "checkpoint" in c]
    assert len(cmds) == 1, cmds
    return cmds[0]


def start_container(runc, rootfs, tmp):
    data = tmp / "data"
    data.mkdir()
    cid = unique()
    runc.start(cid, runc.bundle(rootfs, cid, data))
    wait_count_above(data, 3)
    return cid


def gpucr_checkpoint(runc, env, tmp, runtime, cid, *flags):
    return run_to_files([GPUCR, "checkpoint", "--runtime", runtime, "--root", runc.root, "--image-dir", tmp / "img",
                         "--json", *flags, cid], tmp, "checkpoint", env=env)


@pytest.mark.parametrize("given,expected", ARGV_FLAGS, ids=[" ".join(g) for g, _ in ARGV_FLAGS])
def test_containers_criu_option_reaches_the_runtimes_argv(runc, busybox_rootfs, gpucr_env, tmp_path, given, expected):
    cid = start_container(runc, busybox_rootfs, tmp_path)
    runtime, rec = recording_runtime(tmp_path)
    flags = given if "--leave-running" in given else [*given, "--leave-running"]
    rc, out, err = gpucr_checkpoint(runc, gpucr_env.env, tmp_path, runtime, cid, *flags)
    assert rc == 0, err
    argv = checkpoint_command(rec)
    i = argv.index(expected[0])
    assert argv[i:i + len(expected)] == expected, argv
    assert json.loads(out)["ok"]
    assert runc.state(cid)["status"] == "running"


def test_containers_criu_timeout_reaches_the_runtimes_criu(runc, busybox_rootfs, gpucr_env, tmp_path):
    # runc sets no timeout over RPC: criu takes it from gpucr's configuration file
    # ($CRIU_CONFIG_FILE) and logs it when it freezes the container's cgroup (runc logs at -v4).
    cid = start_container(runc, busybox_rootfs, tmp_path)
    runtime, rec = recording_runtime(tmp_path)
    rc, out, err = gpucr_checkpoint(runc, gpucr_env.env, tmp_path, runtime, cid, "--timeout", "7", "--leave-running")
    assert rc == 0, err
    log = (tmp_path / "img" / "dump.log").read_text()
    assert "timeout: 7s" in log, [l for l in log.splitlines() if "timeout" in l]
    assert "--timeout" not in checkpoint_command(rec), "runc has no such option: it is not in its argv"


@pytest.mark.parametrize("flag,value", [("--criu-log-level", "4"), ("--freeze-cgroup", "/sys/fs/cgroup/x")])
def test_containers_criu_option_the_runtime_overrides_is_refused(runc, busybox_rootfs, gpucr_env, tmp_path, flag,
                                                                 value):
    cid = start_container(runc, busybox_rootfs, tmp_path)
    runtime, rec = recording_runtime(tmp_path)
    rc, out, err = gpucr_checkpoint(runc, gpucr_env.env, tmp_path, runtime, cid, flag, value)
    assert rc == 2, err
    doc = json.loads(out)
    assert f"{flag} applies to process trees only" in doc["error"]["message"]
    assert not (tmp_path / "img").exists()
    assert not rec.exists() or not [c for c in recorded_commands(rec) if "checkpoint" in c]
    assert runc.state(cid)["status"] == "running"
    assert gpucr_env.journals() == []

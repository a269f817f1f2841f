"""The OCI runtime wrapper passes everything through: argv, stdio, fds, exit status, signals.

A recording fake runtime (GPUCR_RUNTIME) proves the real runtime sees the engine's exact argv and
fds, also for checkpoint and restore; comparisons with plain runc prove the wrapper's output and
exit statuses are runc's."""
import json
import os
import re
import signal
import subprocess
import sys
import time

from containers_lib import (GPUCR, RUNC, busybox_rootfs, gpucr_env, run, runc, unique,  # noqa: F401
                            wait_count_above)

# A runtime that records each call (argv after argv[0], open fds, cwd) as one JSON line, answers
# `state` for FAKE_STATE_PID, and makes the image dir for `checkpoint`.
FAKE_RUNTIME = r'''#!{python}
import json, os, struct, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps({{"argv": args, "fds": sorted(int(x) for x in os.listdir("/proc/self/fd")),
                        "cwd": os.getcwd()}}) + "\n")
cmd = next((a for a in args if a in ("state", "checkpoint", "restore", "create")), None)
if cmd == "state":
    print(json.dumps({{"ociVersion": "1.0.2", "id": args[-1], "pid": int(os.environ["FAKE_STATE_PID"]),
                      "status": "running", "bundle": os.environ["FAKE_BUNDLE"]}}))
if cmd == "checkpoint" and "--image-path" in args:
    img = args[args.index("--image-path") + 1]
    os.makedirs(img, exist_ok=True)
    # what criu leaves: inventory.img (magic, one entry: img_version 2), for the plugins field
    with open(os.path.join(img, "inventory.img"), "wb") as f:
        f.write(struct.pack("<II", 0x58313116, 2) + bytes([0x08, 0x02]))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
'''


def fake_runtime(tmp_path):
    p = tmp_path / "fake-runc"
    p.write_text(FAKE_RUNTIME.format(python=sys.executable))
    p.chmod(0o755)
    return p


def recorded(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def wrapper_env(gpucr_env, tmp_path, **extra):
    (tmp_path / "bundle").mkdir(exist_ok=True)
    (tmp_path / "bundle/config.json").write_text("{}")
    return {**os.environ, **gpucr_env.env, "GPUCR_RUNTIME": str(fake_runtime(tmp_path)),
            "FAKE_LOG": str(tmp_path / "calls.jsonl"), "FAKE_BUNDLE": str(tmp_path / "bundle"),
            "FAKE_STATE_PID": str(os.getpid()), **extra}


def test_containers_wrapper_passes_every_command_with_identical_argv_and_fds(gpucr_env, tmp_path):
    env = wrapper_env(gpucr_env, tmp_path)
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    r_fd, w_fd = os.pipe()
    os.set_inheritable(w_fd, True)
    calls = [
        ["--root", "/r", "--log", "/l", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b",
         "--pid-file", "/p", "--console-socket", "/s", "c1"],
        ["--root=/r", "exec", "--preserve-fds", "1", "c1", "sh", "-c", "echo 'a b'"],
        ["--debug", "delete", "--force", "c1"],
        ["--root", "/r", "checkpoint", "--help"],
        ["restore", "--lsm-mount-context"],
        ["--root", "/r", "checkpoint", "--image-path", str(tmp_path / "img"), "--work-path", str(tmp_path / "w"),
         "--leave-running", "--tcp-established", "--file-locks", "c2"],
    ]
    # gpucr's leftovers of c1 (a record, a free lock file) go when an engine deletes c1.
    gpucr_env.private_dir("containers", "c1")
    (gpucr_env.run_dir / "containers/c1/devices.json").write_text("{}")
    (gpucr_env.run_dir / "containers/c1.lock").write_text("")
    for args in calls:
        subprocess.run([str(wrapper), *args], env=env, pass_fds=(w_fd,), check=True, timeout=60,
                       stdin=subprocess.DEVNULL, capture_output=True)
    os.close(w_fd)
    os.close(r_fd)
    assert "c1" not in gpucr_env.containers() and "c1.lock" not in gpucr_env.containers()
    rec = recorded(tmp_path / "calls.jsonl")
    # Passthrough commands: one call each, the argv exactly as given, the inherited fd still open.
    for args, call in zip(calls[:5], rec[:5]):
        assert call["argv"] == args
        assert w_fd in call["fds"], f"fd {w_fd} was not inherited by {args}"
    # The orchestrated checkpoint: gpucr asks `state` (with the engine's globals), then runs the
    # engine's checkpoint command line unchanged, with the engine's fds.
    assert rec[5]["argv"] == ["--root", "/r", "state", "c2"]
    assert rec[6]["argv"] == calls[5]
    assert w_fd in rec[6]["fds"]
    assert rec[6]["cwd"] == os.getcwd()
    assert (tmp_path / "img/gpucr-manifest").exists()
    # gpucr recorded the plugins field: present and empty (field 12, length 0), no GPU state
    assert (tmp_path / "img/inventory.img").read_bytes().endswith(bytes([0x08, 0x02, 0x62, 0x00]))


def test_containers_wrapper_exit_status_of_the_runtime_is_kept(gpucr_env, tmp_path):
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    env = wrapper_env(gpucr_env, tmp_path, FAKE_EXIT="42")
    assert subprocess.run([str(wrapper), "list"], env=env, capture_output=True).returncode == 42
    # The checkpoint's runtime call fails with 42 (after its `state` call also exited 42, which
    # gpucr reports as its own error first): the wrapper exits non-zero and says why.
    r = subprocess.run([str(wrapper), "checkpoint", "--image-path", str(tmp_path / "img"), "c1"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "gpucr: error:" in r.stderr


def test_containers_wrapper_output_and_status_are_runcs(runc, busybox_rootfs, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    runc.start(cid, runc.bundle(busybox_rootfs, cid, data))
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    env = {**os.environ, **gpucr_env.env}

    def both(*args, stdin=None):
        out = []
        for rt in (RUNC, wrapper):
            r = subprocess.run([str(rt), "--root", str(runc.root), *args], input=stdin, capture_output=True,
                               text=True, env=env, timeout=60)
            out.append((r.returncode, r.stdout, re.sub(r'time="[^"]*"', "", r.stderr)))
        return out

    for args in (["state", cid], ["list"], ["--version"], ["state", "no-such"], ["no-such-command"],
                 ["checkpoint", "--help"], ["restore", "--help"], ["restore", "--lsm-mount-context"],
                 ["exec", cid, "sh", "-c", "exit 7"], ["exec", cid, "sh", "-c", "echo out; echo err >&2"]):
        a, b = both(*args)
        assert a == b, f"{args}: runc {a} vs wrapper {b}"
    a, b = both("exec", cid, "cat", stdin="stdin reaches the container\n")
    assert a == b and a[1] == "stdin reaches the container\n"
    assert both("checkpoint", "--help")[1][0] == 0, "engines probe checkpoint support with checkpoint --help"


def test_containers_wrapper_signals_reach_the_runtime_process(runc, busybox_rootfs, gpucr_env, tmp_path):
    """Passthrough commands are exec'd: the wrapper's pid is runc's, so a signal to it is runc's
    (runc exec forwards SIGTERM to the process in the container)."""
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    runc.start(cid, runc.bundle(busybox_rootfs, cid, data))
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    p = subprocess.Popen([str(wrapper), "--root", str(runc.root), "exec", cid, "sleep", "30"],
                         env={**os.environ, **gpucr_env.env}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        assert os.readlink(f"/proc/{p.pid}/exe") == os.path.realpath(RUNC)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        p.kill()
        p.wait()


def test_containers_wrapper_never_wraps_itself(gpucr_env, tmp_path):
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    r = subprocess.run([str(wrapper), "list"], env={**os.environ, "GPUCR_RUNTIME": str(wrapper)},
                       capture_output=True, text=True)
    assert r.returncode == 2 and "is gpucr itself" in r.stderr
    r = run([GPUCR, "runtime", "--runtime", wrapper, "--", "list"], check=False)
    assert r.returncode == 2 and "is gpucr itself" in r.stderr


def test_containers_wrapper_gpucr_runtime_subcommand_is_the_same_wrapper(gpucr_env, tmp_path):
    env = wrapper_env(gpucr_env, tmp_path)
    fake = env["GPUCR_RUNTIME"]
    r = subprocess.run([str(GPUCR), "runtime", "--runtime", fake, "--", "--root", "/r", "kill", "c1", "KILL"],
                       env=env, capture_output=True)
    assert r.returncode == 0
    assert recorded(tmp_path / "calls.jsonl")[-1]["argv"] == ["--root", "/r", "kill", "c1", "KILL"]
    assert run([GPUCR, "runtime", "--help"]).stdout.startswith("Usage: gpucr runtime")

"""CRI-O's checkpoint and restore of a container with fake CUDA processes, replayed against the
gpucr-runc wrapper. CRI-O is not packaged in Debian, so the test makes the runtime calls CRI-O
makes, in its order, with its argv and environment. Read in CRI-O's source (cri-o/cri-o at
f954a17e, v1.36.0-191) and conmon's (containers/conmon at c3f70a38):

- internal/lib/checkpoint.go, ContainerServer.ContainerCheckpoint: PauseContainer, then
  runtimeOCI.CheckpointContainer (the CRI RPC, server/container_checkpoint.go, always keeps the
  container running), then, deferred, UnpauseContainer when the container is still paused.
- internal/oci/runtime_oci.go: PauseContainer / UnpauseContainer run `<rt> --root R pause|resume
  ID` (runtimeCmd with defaultRuntimeArgs): the runtime freezes the container's cgroup, CRI-O
  writes no freezer file itself. CheckpointContainer creates dump.log in the container dir, then
  runs `<rt> --root R checkpoint --file-locks --image-path DIR/checkpoint --work-path DIR
  --leave-running ID` (DIR: the container's dir under /var/lib; Container.CheckpointPath).
  prepareEnv gives the runtime only the handler's monitor_env, CRI_O_EXTERNAL=1,
  XDG_RUNTIME_DIR and PATH. checkpointRestoreSupported probes `<rt> checkpoint --help` (exit 0);
  the pod restore probe is `<rt> restore --lsm-mount-context`, whose output must say "flag needs
  an argument".
- internal/oci/runtime_oci.go, RestoreContainer: checks DIR/checkpoint/inventory.img, creates
  restore.log in the bundle (the container's run dir under /run), then CreateContainer(restore)
  starts conmon with `--restore DIR/checkpoint` and `--runtime-arg --root=R`; conmon
  (src/runtime_args.c, configure_runtime_args) runs `<rt> --root=R restore --bundle B --pid-file
  B/pidfile --detach --image-path DIR/checkpoint --work-path B ID` and reads the pid file.
"""
import json
import os
import subprocess
import time

from containers_lib import (GPUCR, app_host_pids, assert_apps_advance, busybox_rootfs, clear_counters,  # noqa: F401
                            cuda_container, cuda_statuses, first_counts, freezer_state, gpucr_env,
                            inventory_plugins, read_count, run, runc, wait_count_above)
from fakecuda import fake_cuda, fakes_built  # noqa: F401
from helpers import read_kv, wait_for


def crio_env():
    """What CRI-O's prepareEnv passes to the runtime (the default monitor_env is PATH only)."""
    env = {"PATH": os.environ["PATH"], "CRI_O_EXTERNAL": "1"}
    if "XDG_RUNTIME_DIR" in os.environ:
        env["XDG_RUNTIME_DIR"] = os.environ["XDG_RUNTIME_DIR"]
    return env


def crio_runtime_call(wrapper, *args, out=None):
    """One runtime call as CRI-O makes it: the wrapper (CRI-O's runtime_path) with exactly args, the
    stripped environment, no stdin. Returns (exit status, stdout, stderr)."""
    r = subprocess.run([str(wrapper), *map(str, args)], env=crio_env(), stdin=subprocess.DEVNULL,
                       stdout=out or subprocess.PIPE, stderr=out or subprocess.PIPE, timeout=120)
    text = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else ""  # noqa: E731
    return r.returncode, text(r.stdout), text(r.stderr)


def test_containers_crio_replay_probes_see_the_runtime(runc, gpucr_env):
    """checkpointRestoreSupported and the pod restore probe get the real runtime's answers."""
    rc, out, err = crio_runtime_call(gpucr_env.wrapper, "checkpoint", "--help")
    assert rc == 0 and "--leave-running" in out + err
    rc, out, err = crio_runtime_call(gpucr_env.wrapper, "restore", "--lsm-mount-context")
    assert rc != 0 and "flag needs an argument" in out + err


def test_containers_crio_replay_pause_checkpoint_resume_then_restore_with_cuda(runc, busybox_rootfs, gpucr_env,
                                                                               fake_cuda, tmp_path):
    cid, bundle, data, st = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    apps, _ = app_host_pids(st["pid"], data)
    wrapper, root = gpucr_env.wrapper, runc.root
    ctr_dir = tmp_path / "var-lib-containers/userdata"  # CRI-O's container dir (Container.Dir)
    ctr_dir.mkdir(parents=True)
    ckpt = ctr_dir / "checkpoint"

    # ContainerCheckpoint: pause through the runtime (runc freezes the cgroup) ...
    assert crio_runtime_call(wrapper, "--root", root, "pause", cid)[0] == 0
    assert runc.state(cid)["status"] == "paused" and freezer_state(st["pid"]) == "FROZEN"
    at = read_count(data)
    app_at = [read_kv(s)["counter"] for s in cuda_statuses(data)]
    # ... CheckpointContainer: dump.log first, then the runtime's checkpoint, kept running ...
    (ctr_dir / "dump.log").touch()
    rc, out, err = crio_runtime_call(wrapper, "--root", root, "checkpoint", "--file-locks", "--image-path", ckpt,
                                     "--work-path", ctr_dir, "--leave-running", cid)
    assert (rc, out, err) == (0, "", ""), err
    assert inventory_plugins(ckpt) == ["cuda_plugin"] and (ckpt / "gpucr-manifest").exists()
    assert (ctr_dir / "dump.log").stat().st_size > 0, "criu logged into CRI-O's work path"
    # still paused as CRI-O left it, the CUDA processes restored and unlocked while gpucr had it thawed
    assert runc.state(cid)["status"] == "paused" and freezer_state(st["pid"]) == "FROZEN"
    assert [fake_cuda.state_of(p) for p in apps] == ["running", "running"]
    # (it ran while gpucr had it thawed for the GPU steps; paused again, it stands still)
    after, app_after = read_count(data), [read_kv(s)["counter"] for s in cuda_statuses(data)]
    time.sleep(0.3)
    assert read_count(data) == after and [read_kv(s)["counter"] for s in cuda_statuses(data)] == app_after
    inspect = run([GPUCR, "inspect", "--json", ckpt], env={**os.environ, **gpucr_env.env})
    manifest = json.loads(inspect.stdout)["manifest"]
    assert manifest["container"]["status"] == "paused" and manifest["freezer"]["original_state"] == "FROZEN"
    # ... and the deferred UnpauseContainer.
    assert crio_runtime_call(wrapper, "--root", root, "resume", cid)[0] == 0
    assert runc.state(cid)["status"] == "running"
    assert_apps_advance(data, by=10)
    wait_count_above(data, after + 10)

    # The container goes (a restore elsewhere, or after a reboot); RestoreContainer then has conmon
    # run the runtime's restore in the container's bundle.
    runc("delete", "--force", cid)
    clear_counters(data, apps=2)
    (bundle / "restore.log").touch()
    with open(tmp_path / "restore.out", "wb") as out:
        rc, _, _ = crio_runtime_call(wrapper, f"--root={root}", "restore", "--bundle", bundle, "--pid-file",
                                     bundle / "pidfile", "--detach", "--image-path", ckpt, "--work-path", bundle,
                                     cid, out=out)
    assert rc == 0, (tmp_path / "restore.out").read_text()
    now = runc.state(cid)
    assert now["status"] == "running" and int((bundle / "pidfile").read_text()) == now["pid"] != st["pid"]
    assert (bundle / "restore.log").stat().st_size > 0, "criu logged into conmon's work path"
    # It runs on from the checkpoint, taken between the pause and the end of the checkpoint call:
    # neither a restart nor the values it reached after the resume (10 more). The slack of 5 is for
    # the iterations between the restore and all files being written again.
    count, app_counts = first_counts(data, apps=2)
    assert at <= count <= after + 5, (at, count, after)
    assert all(a <= c <= b + 5 for a, c, b in zip(app_at, app_counts, app_after)), (app_at, app_counts, app_after)
    new_apps, _ = app_host_pids(now["pid"], data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert_apps_advance(data)
    wait_for(lambda: (read_count(data) or 0) > count + 3, timeout=20, what="the counter to go on")
    assert fake_cuda.frozen_calls() == [] and gpucr_env.journals() == []

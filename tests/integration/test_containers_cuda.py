"""Containers with fake CUDA processes inside (tests/fakes, bound into busybox containers, see
containers_lib.py): gpucr's GPU and freezer orchestration around runc, through `gpucr
checkpoint/restore CONTAINER` and through the gpucr-runc wrapper with runc's own command line,
a paused container (the CRI-O/containerd flow), SIGKILL of gpucr during the runtime's dump, and
the OCI hooks. Podman and containerd: test_containers_cuda_engines.py."""
import json
import os
import signal
import subprocess
import time

from containers_lib import (GPUCR, app_host_pids, assert_apps_advance, assert_counter_continues,  # noqa: F401
                            busybox_rootfs, cuda_container, cuda_statuses, freezer_state, gpucr_env,
                            inventory_plugins, ns_pids, read_count, run, run_to_files, runc, wait_for)
from fakecuda import fake_cuda, fakes_built, gpu_uuid  # noqa: F401
from helpers import pid_alive, read_kv


def kill_and_wait(p):
    """SIGKILL for gpucr (a Popen), once."""
    if p.poll() is None:
        p.kill()
        p.wait()


def assert_untouched(fake_cuda, pids):
    """The fake driver never saw these pids (non-CUDA processes) and no call reached a frozen pid."""
    seen = {c[1] for c in fake_cuda.calls()}
    assert not seen & set(pids), f"GPU calls for non-CUDA pids {seen & set(pids)}"
    assert fake_cuda.frozen_calls() == []


def test_containers_cuda_runc_checkpoint_and_restore_two_cuda_processes(runc, busybox_rootfs, gpucr_env, fake_cuda,
                                                                      tmp_path):
    cid, bundle, data, before = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    apps, children = app_host_pids(before["pid"], data)
    non_cuda = [before["pid"], *children]
    img = tmp_path / "img"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img, "--json", cid],
                                tmp_path, "checkpoint", env=gpucr_env.env)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["ok"] and len(doc["cuda"]) == 2, doc
    assert runc.state(cid) is None
    at = read_count(data)
    assert inventory_plugins(img) == ["cuda_plugin"], "the image holds CUDA state"
    r = run([GPUCR, "inspect", "--json", img], env={**os.environ, **gpucr_env.env})
    assert sorted(p["pid"] for p in json.loads(r.stdout)["manifest"]["cuda_processes"]) == sorted(apps), r.stdout
    assert [c[0] for c in fake_cuda.calls() if c[0] in ("lock", "checkpoint")].count("checkpoint") == 2

    rc, out, err = run_to_files([GPUCR, "restore", "--root", runc.root, "--image-dir", img, "--bundle", bundle,
                                 "--detach", "--json", cid], tmp_path, "restore", env=gpucr_env.env)
    assert rc == 0, err
    doc = json.loads(out)
    after = runc.state(cid)
    assert after["status"] == "running" and after["pid"] != before["pid"]
    new_apps, new_children = app_host_pids(after["pid"], data)
    assert not set(new_apps) & set(apps), "the CUDA processes got new host pids"
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert all(f"pid {p} " in " ".join(doc["cuda"]) for p in new_apps), doc["cuda"]
    assert_apps_advance(data)
    assert_counter_continues(data, at)
    assert not any(p.name.startswith(".gpucr-view-") for p in img.iterdir()), "the image view is gone"
    assert_untouched(fake_cuda, non_cuda + [after["pid"], *new_children])
    assert gpucr_env.journals() == []


def test_containers_cuda_paused_container_leave_running_is_paused_again_with_cuda_running(
        runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path):
    """The CRI-O/containerd flow through the wrapper: pause, checkpoint --leave-running."""
    cid, bundle, data, st = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    apps, children = app_host_pids(st["pid"], data)
    runc("pause", cid)
    assert freezer_state(st["pid"]) == "FROZEN"
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    img = tmp_path / "img"
    r = runc("checkpoint", "--leave-running", "--image-path", img, "--work-path", tmp_path / "work", cid,
             runtime=wrapper, env=gpucr_env.env)
    assert r.stderr == "", r.stderr
    assert runc.state(cid)["status"] == "paused", "runc reports it paused again"
    assert freezer_state(st["pid"]) == "FROZEN"
    assert [fake_cuda.state_of(p) for p in apps] == ["running", "running"], "restored and unlocked while thawed"
    assert_untouched(fake_cuda, [st["pid"], *children])
    counts = [read_kv(s)["counter"] for s in cuda_statuses(data)]
    time.sleep(0.3)
    assert [read_kv(s)["counter"] for s in cuda_statuses(data)] == counts, "a paused container does not run"
    manifest = json.loads(run([GPUCR, "inspect", "--json", img], env={**os.environ, **gpucr_env.env}).stdout)["manifest"]
    assert manifest["container"]["status"] == "paused"
    assert manifest["freezer"]["original_state"] == "FROZEN" and manifest["freezer"]["thawed_by_gpucr"]
    runc("resume", cid)
    assert_apps_advance(data)

    # The image restores paused again, with --restore-frozen, once its CUDA processes run.
    runc("delete", "--force", cid)
    rc, out, err = run_to_files([GPUCR, "restore", "--root", runc.root, "--image-dir", img, "--bundle", bundle,
                                 "--work-dir", tmp_path / "work2", "--detach", "--restore-frozen", "--json", cid],
                                tmp_path, "restore", env=gpucr_env.env)
    assert rc == 0, err
    assert json.loads(out)["paused"] is True
    now = runc.state(cid)
    assert now["status"] == "paused" and freezer_state(now["pid"]) == "FROZEN"
    new_apps, _ = app_host_pids(now["pid"], data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    runc("resume", cid)
    assert_apps_advance(data)
    assert fake_cuda.frozen_calls() == []


def test_containers_cuda_wrapper_checkpoint_and_restore_with_runcs_command_line(runc, busybox_rootfs, gpucr_env,
                                                                               fake_cuda, tmp_path):
    cid, bundle, data, before = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    wrapper = gpucr_env.link_dir / "gpucr-runc"
    img = tmp_path / "img"
    r = runc("checkpoint", "--image-path", img, cid, runtime=wrapper, env=gpucr_env.env)
    assert r.stdout == "" and r.stderr == ""
    assert inventory_plugins(img) == ["cuda_plugin"]
    at = read_count(data)
    # runc's own criu (no GPU plugin) reads the image through gpucr's view: runc gets the view as
    # --image-path and the image dir as --work-path (its restore.log stays with the image).
    rc, out, err = run_to_files(runc.argv("restore", "--detach", "--image-path", img, "--bundle", bundle, cid,
                                          runtime=wrapper), tmp_path, "restore", env=gpucr_env.env)
    assert rc == 0, err
    after = runc.state(cid)
    assert after["status"] == "running"
    assert (img / "restore.log").exists()
    new_apps, _ = app_host_pids(after["pid"], data)
    assert [fake_cuda.state_of(p) for p in new_apps] == ["running", "running"]
    assert_apps_advance(data)
    assert_counter_continues(data, at)
    assert fake_cuda.frozen_calls() == []


def slow_criu(tmp_path, seconds):
    """A `criu` for PATH whose swrk (runc's way of running it) waits `seconds` first; the marker
    file says it started."""
    real = subprocess.run(["which", "criu"], capture_output=True, text=True).stdout.strip()
    d = tmp_path / "slowbin"
    d.mkdir()
    script = d / "criu"
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" = swrk ]; then touch "{tmp_path}/criu-started"; sleep {seconds}; fi\n'
                      f'exec "{real}" "$@"\n')
    script.chmod(0o755)
    return d


def journal_doc(gpucr_env):
    for name in gpucr_env.journals():
        if name.endswith(".json"):
            try:
                return json.loads((gpucr_env.run_dir / "ops" / name).read_text())
            except (OSError, ValueError):
                return None
    return None


def test_containers_cuda_sigkill_of_gpucr_during_runtime_checkpoint_is_finished_by_the_guardian(
        runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path):
    cid, bundle, data, st = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path)
    apps, _ = app_host_pids(st["pid"], data)
    runc("pause", cid)
    slow = slow_criu(tmp_path, 3)
    env = {**os.environ, **gpucr_env.env, "PATH": f"{slow}:{gpucr_env.env['PATH']}"}
    with open(tmp_path / "gpucr.err", "wb") as err:
        p = subprocess.Popen([str(GPUCR), "checkpoint", "--root", str(runc.root), "--image-dir", str(tmp_path / "img"),
                              cid], stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env, start_new_session=True)
    try:
        wait_for(lambda: (tmp_path / "criu-started").exists(), timeout=30, what="runc to start criu")
        doc = journal_doc(gpucr_env)
        assert doc["phase"] == "runtime checkpoint" and doc["container"]["id"] == cid, doc
        assert [fake_cuda.state_of(a) for a in apps] == ["checkpointed"] * 2
        assert freezer_state(st["pid"]) == "THAWED", "thawed for the GPU steps"
        kill_and_wait(p)
    finally:
        kill_and_wait(p)
    # The guardian waits for runc; gpucr's post-dump hook makes criu abandon the dump (gpucr is
    # gone), runc leaves the container as it was, then the guardian restores and unlocks the CUDA
    # processes and pauses the container again.
    wait_for(lambda: "recovered:" in gpucr_env.recovery_log(), timeout=60, what="the guardian to recover")
    log = gpucr_env.recovery_log()
    assert "(phase: runtime checkpoint)" in log and "waiting for criu" in log, log
    assert "abandoning the dump (gpucr is no longer running)" in (tmp_path / "img/dump.log").read_text()
    assert [fake_cuda.state_of(a) for a in apps] == ["running", "running"]
    assert runc.state(cid)["status"] == "paused" and freezer_state(st["pid"]) == "FROZEN"
    assert gpucr_env.journals() == []
    assert fake_cuda.frozen_calls() == []
    runc("resume", cid)
    assert_apps_advance(data)


def hooks_for(gpucr_env, fake_cuda):
    """prestart/poststop hooks running gpucr with the run dir and the fake driver (for NVML)."""
    e = fake_cuda.env()
    env = [f"GPUCR_RUN_DIR={gpucr_env.run_dir}", f"FAKE_CUDA_DIR={e['FAKE_CUDA_DIR']}",
           f"LD_LIBRARY_PATH={e['LD_LIBRARY_PATH']}", f"PATH={e['PATH']}"]
    entry = {"path": str(GPUCR), "env": env}
    return {"prestart": [dict(entry, args=["gpucr", "hook", "prestart"])],
            "poststop": [dict(entry, args=["gpucr", "hook", "poststop"])]}


def test_containers_cuda_prestart_refuses_a_restore_whose_gpus_moved_with_the_exact_device_map(
        runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path):
    cid, bundle, data, st = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path, apps=1,
                                           hooks=hooks_for(gpucr_env, fake_cuda))
    img = tmp_path / "img"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img, cid], tmp_path,
                                "checkpoint", env=gpucr_env.env)
    assert rc == 0, err
    at = read_kv(cuda_statuses(data, 1)[0])["counter"]
    new = fake_cuda.set_gpus(1, host=1)  # "another machine": the same chip under another UUID
    # runc's own restore (no gpucr around it): the prestart hook refuses before any process exists.
    rc, out, err = run_to_files(runc.argv("restore", "--detach", "--image-path", img, "--bundle", bundle, cid),
                                tmp_path, "restore", env=gpucr_env.env)
    log = runc.log.read_text()
    assert rc != 0 and runc.state(cid) is None
    assert f"restore with --device-map auto, which uses --device-map {gpu_uuid(0)}={new[0]}" in log, log
    # gpucr with that map restores it (its prestart hook leaves the check to gpucr): the process
    # now runs on the new GPU.
    rc, out, err = run_to_files([GPUCR, "restore", "--root", runc.root, "--image-dir", img, "--bundle", bundle,
                                 "--detach", "--device-map", f"{gpu_uuid(0)}={new[0]}", cid], tmp_path, "restore2",
                                env=gpucr_env.env)
    assert rc == 0, err
    wait_for(lambda: read_kv(cuda_statuses(data, 1)[0]).get("gpu") == new[0], what="the app on the new GPU")
    assert read_kv(cuda_statuses(data, 1)[0])["counter"] >= at
    assert_apps_advance(data, 1)


def test_containers_cuda_poststop_finishes_what_a_killed_gpucr_and_guardian_left(
        runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path):
    cid, bundle, data, st = cuda_container(runc, busybox_rootfs, gpucr_env, fake_cuda, tmp_path, apps=1,
                                           hooks=hooks_for(gpucr_env, fake_cuda))
    apps, _ = app_host_pids(st["pid"], data, 1)
    runc("pause", cid)
    slow = slow_criu(tmp_path, 2)
    env = {**os.environ, **gpucr_env.env, "PATH": f"{slow}:{gpucr_env.env['PATH']}"}
    p = subprocess.Popen([str(GPUCR), "checkpoint", "--root", str(runc.root), "--image-dir", str(tmp_path / "img"), cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                         start_new_session=True)
    try:
        wait_for(lambda: (tmp_path / "criu-started").exists(), timeout=30, what="runc to start criu")
        os.kill(journal_doc(gpucr_env)["guardian"]["pid"], signal.SIGKILL)
        kill_and_wait(p)
    finally:
        kill_and_wait(p)
    # Nobody finishes the operation: runc ends (the post-dump hook abandoned the dump) and leaves
    # the CUDA process CHECKPOINTED in a thawed container.
    runtime_pid = journal_doc(gpucr_env)["criu"]["pid"]
    wait_for(lambda: not pid_alive(runtime_pid), timeout=30, what="runc to give up the dump")
    assert runc.state(cid)["status"] == "running"
    assert fake_cuda.state_of(apps[0]) == "checkpointed"
    assert len([j for j in gpucr_env.journals() if j.endswith(".json")]) == 1
    # Its poststop hook finishes the journal when the container goes.
    runc("kill", cid, "KILL")
    wait_for(lambda: runc.state(cid)["status"] == "stopped", timeout=20, what="the container to stop")
    runc("delete", cid)
    assert gpucr_env.journals() == []
    assert f"poststop of container {cid}" in gpucr_env.recovery_log()
    assert gpucr_env.containers() == []

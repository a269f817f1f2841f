"""`gpucr hook prestart|poststop` (OCI hooks) on fixture and hostile input, run by runc during a
create and a restore, and `gpucr install/uninstall` of the hooks.d files and wrapper links."""
import json
import os
import pathlib
import subprocess

import pytest

from containers_lib import (GPUCR, busybox_rootfs, gpucr_env, run, run_to_files, runc, unique,  # noqa: F401
                            wait_count_above)

FIXTURES = pathlib.Path(__file__).parent / "fixtures/oci_state"
GPU_DEVICE = ("/dev/nvidia0", 1, 3)  # a "GPU" for the hooks: really /dev/null, present on every host


def hook(stage, stdin, env, timeout=30):
    return subprocess.run([str(GPUCR), "hook", stage], input=stdin, capture_output=True, env={**os.environ, **env},
                          timeout=timeout)


def fixture(name, cid, bundle):
    return (FIXTURES / name).read_bytes().replace(b"@ID@", cid.encode()).replace(b"@BUNDLE@", str(bundle).encode())


def gpu_bundle(tmp_path, devices):
    b = tmp_path / "bundle"
    b.mkdir()
    (b / "config.json").write_text(json.dumps({"linux": {"devices": [
        {"path": p, "type": "c", "major": ma, "minor": mi} for p, ma, mi in devices]}}))
    return b


def test_containers_hooks_prestart_records_gpu_devices_and_poststop_removes_them(gpucr_env, tmp_path):
    cid = unique()
    bundle = gpu_bundle(tmp_path, [GPU_DEVICE, ("/dev/nvidiactl", 195, 255)])
    for name in ("prestart.json", "prestart-unknown-fields.json"):
        r = hook("prestart", fixture(name, cid, bundle), gpucr_env.env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"" and r.stderr == b""
    record = json.loads((gpucr_env.run_dir / "containers" / cid / "devices.json").read_text())
    assert record["id"] == cid and record["bundle"] == str(bundle)
    assert [d["path"] for d in record["devices"]] == ["/dev/nvidia0", "/dev/nvidiactl"]
    assert [d["kind"] for d in record["devices"]] == ["gpu", "control"]
    r = hook("poststop", fixture("poststop.json", cid, bundle), gpucr_env.env)
    assert r.returncode == 0, r.stderr
    assert gpucr_env.containers() == []


def test_containers_hooks_prestart_writes_nothing_for_a_container_without_gpus(gpucr_env, tmp_path):
    cid = unique()
    bundle = gpu_bundle(tmp_path, [("/dev/fuse", 10, 229)])
    r = hook("prestart", fixture("prestart.json", cid, bundle), gpucr_env.env)
    assert r.returncode == 0, r.stderr
    assert not gpucr_env.run_dir.exists()


@pytest.mark.parametrize("name,message", [
    ("bad-id.json", b"invalid container id"),
    ("missing-bundle.json", b'field "bundle" is missing'),
    ("wrong-types.json", b'"pid" is not a pid'),
    ("not-an-object.json", b"not a JSON object"),
    ("truncated.json", b"not valid JSON"),
])
def test_containers_hooks_malformed_state_fails_prestart_with_a_clear_message(name, message, gpucr_env, tmp_path):
    bundle = gpu_bundle(tmp_path, [GPU_DEVICE])
    r = hook("prestart", fixture(name, unique(), bundle), gpucr_env.env)
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith(b"gpucr: error: gpucr hook prestart: ")
    assert message in r.stderr, r.stderr
    assert not gpucr_env.run_dir.exists()


def test_containers_hooks_hostile_input_is_refused(gpucr_env, tmp_path):
    bundle = gpu_bundle(tmp_path, [GPU_DEVICE])
    huge = b'{"ociVersion":"1","id":"x","status":"creating","bundle":"/b","pad":"' + b"A" * (2 << 20) + b'"}'
    for stdin in (b"", b"\x00\xff\xfe garbage", huge, b"[" * 100000):
        r = hook("prestart", stdin, gpucr_env.env)
        assert r.returncode == 3 and b"malformed OCI state on stdin" in r.stderr, r.stderr[:300]
    r = hook("poststop", fixture("bad-id.json", "x", bundle), gpucr_env.env)
    assert r.returncode == 3 and b"invalid container id" in r.stderr
    assert not gpucr_env.run_dir.exists()


def hooked_bundle(runc, rootfs, gpucr_env, cid, data, device):
    hook_entry = {"path": str(GPUCR), "env": [f"GPUCR_RUN_DIR={gpucr_env.run_dir}"]}
    hooks = {"prestart": [dict(hook_entry, args=["gpucr", "hook", "prestart"])],
             "poststop": [dict(hook_entry, args=["gpucr", "hook", "poststop"])]}
    return runc.bundle(rootfs, cid, data, devices=[device], hooks=hooks)


@pytest.mark.parametrize("device,restores", [(GPU_DEVICE, True), (("/dev/nvidia0", 195, 250), False)],
                         ids=["gpu-present", "gpu-missing"])
def test_containers_hooks_runc_runs_prestart_during_restore_which_checks_the_gpus(
        device, restores, runc, busybox_rootfs, gpucr_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    bundle = hooked_bundle(runc, busybox_rootfs, gpucr_env, cid, data, device)
    runc.start(cid, bundle)
    assert (gpucr_env.run_dir / "containers" / cid / "devices.json").exists(), "prestart ran at create"
    wait_count_above(data, 5)
    img = tmp_path / "img"
    rc, out, err = run_to_files([GPUCR, "checkpoint", "--root", runc.root, "--image-dir", img, cid], tmp_path,
                                "checkpoint", env=gpucr_env.env)
    assert rc == 0, err
    assert not (gpucr_env.run_dir / "containers" / cid).exists(), "runc ran poststop after the checkpoint"
    # runc's own restore (no gpucr around it): only the hook can stop it.
    rc, out, err = run_to_files(runc.argv("restore", "--detach", "--image-path", img, "--bundle", bundle, cid),
                                tmp_path, "restore")
    log = runc.log.read_text()
    if restores:
        assert rc == 0, log
        assert runc.state(cid)["status"] == "running"
        assert not (gpucr_env.run_dir / "containers" / cid / "devices.json").exists(), "a restore records nothing"
    else:
        assert rc != 0
        assert runc.state(cid) is None
        assert "needs 1 GPU(s) that this host does not have" in log, log
        assert "device c 195:250" in log


def test_containers_hooks_install_and_uninstall_round_trip(tmp_path, gpucr_env):
    hooks_dir, links = tmp_path / "hooks.d", tmp_path / "links"
    podman_conf, crio_conf = tmp_path / "containers.conf.d/50-gpucr.conf", tmp_path / "crio.conf.d/50-gpucr.conf"
    hooks_dir.mkdir()
    (hooks_dir / "10-someone-else.json").write_text("{}")
    args = ["--hooks-dir", hooks_dir, "--bin-dir", links, "--podman-conf", podman_conf, "--crio-conf", crio_conf]
    env = {**os.environ, **gpucr_env.env}
    r = run([GPUCR, "install", *args], env=env)
    for f in ("90-gpucr-prestart.json", "90-gpucr-poststop.json"):
        doc = json.loads((hooks_dir / f).read_text())
        stage = f.split("-")[2].split(".")[0]
        assert doc["version"] == "1.0.0" and doc["stages"] == [stage]
        assert doc["hook"]["path"] == str(GPUCR.resolve()) and doc["hook"]["args"] == ["gpucr", "hook", stage]
        assert doc["hook"]["env"] == [f"GPUCR_RUN_DIR={gpucr_env.run_dir}"] and doc["when"] == {"always": True}
    assert os.readlink(links / "gpucr-runc") == str(GPUCR.resolve())
    assert (links / "gpucr-crun").is_symlink()
    assert "gpucr-runc" in podman_conf.read_text() and 'runtime_path = "' in crio_conf.read_text()
    assert "BinaryName" in r.stdout and "[engine.runtimes]" in r.stdout and "runtime_path" in r.stdout
    run([GPUCR, "install", *args], env=env)  # again: it replaces its own files
    r = run([GPUCR, "uninstall", *args], env=env)
    assert r.stdout.count("removed ") == 6, r.stdout
    assert sorted(p.name for p in hooks_dir.iterdir()) == ["10-someone-else.json"]
    assert not links.exists() or list(links.iterdir()) == []
    assert not podman_conf.exists() and not crio_conf.exists()


def test_containers_hooks_install_refuses_to_overwrite_foreign_files(tmp_path):
    hooks_dir = tmp_path / "hooks.d"
    hooks_dir.mkdir()
    (hooks_dir / "90-gpucr-prestart.json").write_text('{"hook": {"path": "/bin/true"}}')
    r = run([GPUCR, "install", "--hooks-dir", hooks_dir, "--no-links"], check=False)
    assert r.returncode == 1 and "was not written by gpucr" in r.stderr
    r = run([GPUCR, "uninstall", "--hooks-dir", hooks_dir, "--no-links"])
    assert "left " in r.stdout
    assert (hooks_dir / "90-gpucr-prestart.json").read_text() == '{"hook": {"path": "/bin/true"}}'


def test_containers_hooks_install_print_only_writes_nothing(tmp_path):
    r = run([GPUCR, "install", "--print-only", "--hooks-dir", tmp_path / "h", "--bin-dir", tmp_path / "b"])
    assert "BinaryName" in r.stdout and str(tmp_path / "b" / "gpucr-runc") in r.stdout
    assert not (tmp_path / "h").exists() and not (tmp_path / "b").exists()

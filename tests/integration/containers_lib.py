"""Container test infrastructure: a busybox rootfs, runc bundles, podman and containerd on private
state, the gpucr-runc wrapper, and cleanup of everything they create (containers, processes,
mounts, cgroups, engine state), even when a test fails.

Fixtures are imported by the test modules (`from containers_lib import ...`). Everything lives
under the test's tmp_path; system paths that the engines insist on (containerd's /run/containerd,
podman's /var/lib/containers/cache) are removed afterwards when the test created them.

Fake CUDA (tests/fakes, built by another issue): containers get it through two bind mounts,
FAKE_CUDA_LIB_DIR -> /opt/fake-cuda/lib (libcuda.so.1, on LD_LIBRARY_PATH) and the fake driver's
state dir -> /run/fake-cuda, and run fake_cuda_app next to the counter. The places that will add
them are marked "FAKE-CUDA" below and in the test modules.
"""
import contextlib
import hashlib
import io
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

from conftest import need
from helpers import GPUCR, wait_for

RUNC = shutil.which("runc")
PODMAN = shutil.which("podman")
CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
BUSYBOX = shutil.which("busybox")

# The workload of every test container: a counter written to the bind-mounted /data every 50 ms
# (through a rename, so a checkpoint never leaves a half-written file). After a restore it must
# go on from where it was, not start again from 1.
COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /data/count.tmp; mv /data/count.tmp /data/count; sleep 0.05; done"
APPLETS = ["sh", "sleep", "echo", "cat", "ls", "mkdir", "mv", "true", "false", "ps", "kill", "test", "env"]


def unique(prefix="gpucr-t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run(argv, check=True, timeout=120, **kw):
    """Runs argv with stdio captured (never use it for a command whose children keep running)."""
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {r.returncode}\nstdout:\n{r.stdout}\n"
                             f"stderr:\n{r.stderr}")
    return r


def run_to_files(argv, tmp, name, env=None, timeout=120):
    """Runs argv with stdin from /dev/null and stdout/stderr in files (a restored container may
    inherit them, so no pipe of ours must reach it). Returns (returncode, stdout, stderr)."""
    out, err = pathlib.Path(tmp) / f"{name}.out", pathlib.Path(tmp) / f"{name}.err"
    e = dict(os.environ)
    e.update(env or {})
    with open(out, "wb") as o, open(err, "wb") as x:
        rc = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=o, stderr=x,
                            env=e, timeout=timeout).returncode
    return rc, out.read_text(), err.read_text()


def read_count(data_dir):
    """The counter's value, or None while the file is being rewritten."""
    try:
        text = (pathlib.Path(data_dir) / "count").read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def wait_count_above(data_dir, n, timeout=20):
    return wait_for(lambda: (read_count(data_dir) or 0) > n and read_count(data_dir), timeout=timeout,
                    what=f"the counter in {data_dir} to pass {n}")


def assert_counter_continues(data_dir, at_checkpoint, timeout=20):
    """After a restore the counter goes on from at_checkpoint: it passes it, and the first value seen
    is not a fresh start."""
    first = wait_for(lambda: read_count(data_dir), timeout=timeout, what="a counter value")
    assert first >= at_checkpoint - 1, f"counter restarted: {first} after checkpointing at {at_checkpoint}"
    wait_count_above(data_dir, first + 5, timeout=timeout)


def freezer_state(pid):
    """FROZEN/THAWED/FREEZING of pid's cgroup (v1 freezer, else v2 cgroup.freeze)."""
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if "freezer" in ctrls.split(","):
            return pathlib.Path(f"/sys/fs/cgroup/freezer{path}/freezer.state").read_text().strip()
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if hid == "0":
            for mnt in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                f = pathlib.Path(f"{mnt}{path}/cgroup.freeze")
                if f.exists():
                    return "FROZEN" if f.read_text().strip() == "1" else "THAWED"
    raise AssertionError(f"no freezer cgroup for pid {pid}")


# ---------------------------------------------------------------- cleanup helpers

def remove_cgroup_tree(name):
    """rmdir's /sys/fs/cgroup/*/NAME (and the v2 tree) depth-first; the cgroups must be empty."""
    roots = [p for p in pathlib.Path("/sys/fs/cgroup").iterdir() if p.is_dir()] + [pathlib.Path("/sys/fs/cgroup")]
    for root in roots:
        top = root / name.strip("/")
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)  # tasks still leaving


def unmount_under(prefix):
    """Unmounts every mount point under prefix, deepest first (lazily when busy)."""
    prefix = str(prefix).rstrip("/") + "/"
    points = []
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].encode().decode("unicode_escape")
        if (mp + "/").startswith(prefix):
            points.append(mp)
    for mp in sorted(set(points), key=len, reverse=True):
        if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mp], capture_output=True)


def pids_with_cmdline_containing(text):
    """Pids whose command line contains text (used to find daemons and shims the test started)."""
    out = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            if text.encode() in (p / "cmdline").read_bytes():
                out.append(int(p.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return out


def kill_pids(pids, timeout=10):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pathlib.Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.05)


@contextlib.contextmanager
def remove_if_created(*paths):
    """Removes each path after the block when it did not exist before (engines that write fixed
    system paths: containerd's shim sockets, podman's blob info cache)."""
    before = {p: pathlib.Path(p).exists() for p in paths}
    try:
        yield
    finally:
        for p, existed in before.items():
            if not existed:
                shutil.rmtree(p, ignore_errors=True)


# ---------------------------------------------------------------- rootfs and the wrapper

def make_busybox_rootfs(dest):
    dest = pathlib.Path(dest)
    for d in ("bin", "proc", "dev", "sys", "tmp", "data", "etc", "run"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, dest / "bin/busybox")
    for a in APPLETS:
        (dest / "bin" / a).symlink_to("busybox")
    (dest / "etc/passwd").write_text("root:x:0:0:root:/:/bin/sh\n")
    (dest / "etc/group").write_text("root:x:0:\n")
    return dest


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    need(BUSYBOX is not None and b"statically linked" in run(["file", "-L", BUSYBOX]).stdout.encode(),
         "busybox-static is not installed")
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


class GpucrEnv:
    """gpucr's run dir and the runtime wrapper for one test.

    link_dir/gpucr-runc is a symlink to the gpucr binary (the wrapper as `gpucr install` makes it);
    bin_dir/gpucr-runc is a launcher script that sets GPUCR_RUN_DIR and GPUCR_LOG_FILE and execs the
    link: engines (podman's conmon) don't pass their environment on to the runtime."""

    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.run_dir = self.tmp / "gpucr-run"
        self.log = self.tmp / "gpucr-wrapper.log"
        self.link_dir = self.tmp / "links"
        self.bin_dir = self.tmp / "bin"
        self.link_dir.mkdir()
        self.bin_dir.mkdir()
        (self.link_dir / "gpucr-runc").symlink_to(GPUCR)
        launcher = self.bin_dir / "gpucr-runc"
        launcher.write_text("#!/bin/sh\n"
                            f"export GPUCR_RUN_DIR='{self.run_dir}' GPUCR_LOG_FILE='{self.log}'\n"
                            f"exec '{self.link_dir / 'gpucr-runc'}' \"$@\"\n")
        launcher.chmod(0o755)
        self.wrapper = launcher
        self.env = {"GPUCR_RUN_DIR": str(self.run_dir), "GPUCR_LOG_FILE": str(self.log)}

    def containers(self):
        """Names under RUN_DIR/containers (records and lock files)."""
        d = self.run_dir / "containers"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def log_text(self):
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
def gpucr_env(tmp_path):
    return GpucrEnv(tmp_path)


# ---------------------------------------------------------------- runc

class Runc:
    """runc on a private --root; every container started here is deleted by cleanup()."""

    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.root = self.tmp / "runc-root"
        self.log = self.tmp / "runc.log"
        self.ids = []
        self.cgroup_parent = unique("gpucr-runc")  # every container's cgroups go below it

    def argv(self, *args, runtime=None):
        return [str(runtime or RUNC), "--root", str(self.root), "--log", str(self.log), *map(str, args)]

    def __call__(self, *args, check=True, runtime=None, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return run(self.argv(*args, runtime=runtime), check=check, env=e)

    def bundle(self, rootfs, name, data_dir, devices=(), hooks=None, args=None):
        """A bundle whose container runs COUNTER with data_dir on /data. devices: (path, major,
        minor) char devices; hooks: the config's "hooks" object."""
        b = self.tmp / f"bundle-{name}"
        shutil.copytree(rootfs, b / "rootfs", symlinks=True)
        run([RUNC, "spec", "--bundle", b])
        c = json.loads((b / "config.json").read_text())
        c["process"]["terminal"] = False
        c["process"]["args"] = args or ["sh", "-c", COUNTER]
        # FACTS §1: rlimits above the current ones can't be set without CAP_SYS_RESOURCE.
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
        c["root"]["readonly"] = False
        c["linux"]["cgroupsPath"] = f"/{self.cgroup_parent}/{name}"
        c["mounts"].append({"destination": "/data", "type": "bind", "source": str(data_dir),
                            "options": ["rbind", "rw"]})
        # FAKE-CUDA: bind FAKE_CUDA_LIB_DIR to /opt/fake-cuda/lib and the fake driver's state dir
        # to /run/fake-cuda here, set LD_LIBRARY_PATH, and start fake_cuda_app beside COUNTER.
        c["linux"]["devices"] = [{"path": p, "type": "c", "major": ma, "minor": mi, "fileMode": 0o666,
                                  "uid": 0, "gid": 0} for p, ma, mi in devices]
        if hooks:
            c["hooks"] = hooks
        (b / "config.json").write_text(json.dumps(c, indent=1))
        return b

    def start(self, cid, bundle):
        """runc run -d; the container's stdio is /dev/null (CRIU restores it as it was)."""
        self.ids.append(cid)
        subprocess.run(self.argv("run", "-d", "--bundle", bundle, cid), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)
        return self.state(cid)

    def state(self, cid):
        r = self("state", cid, check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def cleanup(self):
        for cid in self.ids:
            self("delete", "--force", cid, check=False)
        leftover = self("list", "-q", check=False).stdout.split()
        # A failed restore or a racing delete can leave cgroups behind: remove them all.
        kill_cgroup_tree(self.cgroup_parent)
        remove_cgroup_tree(self.cgroup_parent)
        assert not leftover, f"runc containers left behind: {leftover}"


@pytest.fixture
def runc(tmp_path):
    need(RUNC is not None, "runc is not installed")
    need(shutil.which("iptables-restore") is not None, "runc checkpoint needs iptables-restore (package iptables)")
    r = Runc(tmp_path)
    try:
        yield r
    finally:
        r.cleanup()


# ---------------------------------------------------------------- podman

class Podman:
    """podman with all its state under tmp (vfs storage, file locks, cgroupfs under a test cgroup
    parent, no network) and the gpucr-runc launcher as its runtime."""

    def __init__(self, tmp, gpucr_env, hooks_dir):
        t = pathlib.Path(tmp) / "podman"
        self.t = t
        # podman refuses a runroot longer than 50 characters (socket paths live there).
        self.short = pathlib.Path(tempfile.mkdtemp(prefix="gpucr-pm-", dir="/tmp"))
        for d in ("root", "net", "volumes"):
            (t / d).mkdir(parents=True)
        for d in ("runroot", "tmp"):
            (self.short / d).mkdir()
        (t / "containers.conf").write_text(
            "[engine]\n" f'lock_type = "file"\nstatic_dir = "{t}/root/libpod"\ntmp_dir = "{self.short}/tmp"\n'
            f'volume_path = "{t}/volumes"\nevents_logger = "file"\nevents_logfile_path = "{t}/events.log"\n'
            'cgroup_manager = "cgroupfs"\n[network]\n' f'network_config_dir = "{t}/net"\n')
        (t / "storage.conf").write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{t}/root"\nrunroot = "{self.short}/runroot"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(t / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(t / "storage.conf")}
        self.cgroup_parent = unique("gpucr-podman")
        self.base = [PODMAN, "--root", t / "root", "--runroot", self.short / "runroot", "--tmpdir", self.short / "tmp",
                     "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--network-config-dir", t / "net", "--hooks-dir", hooks_dir, "--runtime", gpucr_env.wrapper,
                     "--runtime-flag", f"root={self.short}/runc"]  # runc's state too stays private

    def __call__(self, *args, check=True, timeout=120):
        return run([*self.base, *args], check=check, timeout=timeout, env=self.env)

    def import_rootfs(self, rootfs, name="localhost/gpucr-busybox:test"):
        tar = self.t / "rootfs.tar"
        with tarfile.open(tar, "w") as tf:
            tf.add(rootfs, arcname=".")
        self("import", tar, name)
        return name

    def run_counter(self, name, data_dir, image, extra=()):
        # FACTS §1: podman's default rlimits can't be set without CAP_SYS_RESOURCE.
        # FAKE-CUDA: add -v FAKE_CUDA_LIB_DIR:/opt/fake-cuda/lib -v FAKE_CUDA_STATE:/run/fake-cuda and
        # -e LD_LIBRARY_PATH=/opt/fake-cuda/lib, and start fake_cuda_app beside COUNTER.
        r = self("run", "-d", "--name", name, "--network", "none", "--cgroup-parent", "/" + self.cgroup_parent,
                 "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096", "-v", f"{data_dir}:/data",
                 *extra, image, "sh", "-c", COUNTER)
        return r.stdout.strip()

    def cleanup(self):
        self("rm", "--all", "--force", "--time", "0", check=False)
        self("rmi", "--all", "--force", check=False)
        kill_pids(pids_with_cmdline_containing(str(self.t)))  # conmon, if anything survived
        unmount_under(self.t)
        unmount_under(self.short)
        shutil.rmtree(self.short, ignore_errors=True)
        remove_cgroup_tree(self.cgroup_parent)


@pytest.fixture
def podman(tmp_path, gpucr_env, busybox_rootfs):
    need(PODMAN is not None and shutil.which("conmon") is not None, "podman and conmon are not installed")
    need(RUNC is not None, "runc is not installed (podman runs it through the gpucr-runc wrapper)")
    hooks_dir = tmp_path / "hooks.d"
    run([GPUCR, "install", "--hooks-dir", hooks_dir, "--no-links"], env={**os.environ, **gpucr_env.env})
    # podman import writes its blob info cache here whatever --root says.
    with remove_if_created("/var/lib/containers"):
        p = Podman(tmp_path, gpucr_env, hooks_dir)
        try:
            p.image = p.import_rootfs(busybox_rootfs)
            yield p
        finally:
            p.cleanup()


# ---------------------------------------------------------------- containerd

def oci_archive(rootfs, dest, name):
    """Writes an OCI image layout tar of rootfs (one uncompressed layer) named `name` for
    `ctr images import`; no registry and no other engine needed."""
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w") as tf:
        tf.add(rootfs, arcname=".")
    blobs = {}

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": f"sha256:{digest}", "size": len(data)}

    layer = blob(layer_buf.getvalue())
    config = blob(json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
                              "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
    manifest = blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]}).encode())
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
        "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "test"}}]}
    with tarfile.open(dest, "w") as tf:
        def add(path, data):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        add("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            add(f"blobs/sha256/{digest}", data)
    return dest


def kill_cgroup_tree(name):
    """Thaws and SIGKILLs every process in /sys/fs/cgroup/*/NAME (containers whose runtime or shim
    is gone; a frozen process would not die)."""
    for f in pathlib.Path("/sys/fs/cgroup").glob(f"*/{name.strip('/')}/**/freezer.state"):
        with contextlib.suppress(OSError):
            f.write_text("THAWED")
    for f in pathlib.Path("/sys/fs/cgroup").glob(f"**/{name.strip('/')}/**/cgroup.freeze"):
        with contextlib.suppress(OSError):
            f.write_text("0")
    pids = set()
    for procs in pathlib.Path("/sys/fs/cgroup").glob(f"*/{name.strip('/')}/**/cgroup.procs"):
        with contextlib.suppress(OSError):
            pids.update(int(p) for p in procs.read_text().split())
    kill_pids(sorted(pids))


class Containerd:
    """A containerd daemon of the test's own: config, root, state, sockets, namespace, cgroup
    parent and runc root all private. Containers run with the gpucr-runc launcher as runc."""

    def __init__(self, tmp, gpucr_env):
        self.t = pathlib.Path(tmp) / "containerd"
        self.t.mkdir()
        self.short = pathlib.Path(tempfile.mkdtemp(prefix="gpucr-cd-", dir="/tmp"))  # socket paths are short
        self.sock = self.short / "c.sock"
        self.ns = unique("gpucr-ns")
        self.cgroup_parent = unique("gpucr-ctrd")
        self.wrapper = gpucr_env.wrapper
        self.ids = []
        (self.t / "config.toml").write_text(
            f'version = 2\nroot = "{self.t}/root"\nstate = "{self.short}/state"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",\n'
            '  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",\n'
            '  "io.containerd.snapshotter.v1.aufs"]\n'
            f'[grpc]\n  address = "{self.sock}"\n[ttrpc]\n  address = "{self.sock}.ttrpc"\n'
            f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{self.t}/opt"\n')
        self.daemon = None

    def start(self):
        log = open(self.t / "containerd.log", "wb")
        self.daemon = subprocess.Popen([CONTAINERD, "--config", self.t / "config.toml"], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                       env={**os.environ, **self.env_extra})
        wait_for(lambda: self.ctr("version", check=False).returncode == 0, timeout=30,
                 what="containerd to answer on its socket")

    env_extra = {}

    def ctr(self, *args, check=True, timeout=120):
        return run([CTR, "--address", self.sock, "--namespace", self.ns, *args], check=check, timeout=timeout)

    def ctr_to_files(self, name, *args):
        return run_to_files([CTR, "--address", self.sock, "--namespace", self.ns, *args], self.t, name)

    def import_rootfs(self, rootfs, name="localhost/gpucr-busybox:test"):
        self.ctr("images", "import", "--snapshotter", "native", oci_archive(rootfs, self.t / "image.tar", name))
        return name

    def run_counter(self, cid, data_dir, image):
        # FAKE-CUDA: add --mount entries for FAKE_CUDA_LIB_DIR and the fake driver's state dir,
        # --env LD_LIBRARY_PATH=/opt/fake-cuda/lib, and start fake_cuda_app beside COUNTER.
        self.ids.append(cid)
        self.ctr("run", "-d", "--null-io", "--snapshotter", "native", "--runc-binary", self.wrapper,
                 "--runc-root", self.short / "runc", "--cgroup", f"/{self.cgroup_parent}/{cid}",
                 "--mount", f"type=bind,src={data_dir},dst=/data,options=rbind:rw", image, cid, "sh", "-c", COUNTER)

    def task_pid(self, cid):
        r = self.ctr("task", "ls", check=False)
        for line in r.stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return int(f[1]), f[2]
        return None

    def remove(self, cid):
        self.ctr("task", "kill", "--signal", "SIGKILL", cid, check=False)
        wait_for(lambda: (self.task_pid(cid) or (0, "STOPPED"))[1] == "STOPPED", timeout=20, what=f"{cid} to stop")
        self.ctr("task", "delete", cid, check=False)
        self.ctr("containers", "delete", cid, check=False)

    def cleanup(self):
        if self.daemon and self.daemon.poll() is None:
            for cid in self.ids:
                self.ctr("task", "delete", "--force", cid, check=False, timeout=30)
                self.ctr("containers", "delete", cid, check=False, timeout=30)
            self.daemon.terminate()
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        kill_pids(pids_with_cmdline_containing(str(self.sock)))  # shims
        kill_cgroup_tree(self.cgroup_parent)
        unmount_under(self.short)
        unmount_under(self.t)
        remove_cgroup_tree(self.cgroup_parent)
        shutil.rmtree(self.short, ignore_errors=True)


@pytest.fixture
def containerd(tmp_path, gpucr_env, busybox_rootfs):
    need(CONTAINERD is not None and CTR is not None, "containerd and ctr are not installed")
    need(shutil.which("containerd-shim-runc-v2") is not None, "containerd-shim-runc-v2 is not installed")
    need(RUNC is not None, "runc is not installed")
    # The runc shim puts its sockets in /run/containerd/s whatever the daemon's state dir is.
    with remove_if_created("/run/containerd"):
        c = Containerd(tmp_path, gpucr_env)
        try:
            c.start()
            c.image = c.import_rootfs(busybox_rootfs)
            yield c
        finally:
            c.cleanup()

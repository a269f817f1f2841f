"""Container engines for the tests, each on private state: podman (vfs storage, file locks,
cgroupfs under a test cgroup parent, no network) and a containerd daemon of the test's own, both
running containers through the gpucr-runc launcher (containers_lib.GpucrEnv). Cleanup removes
their containers, daemons, shims, mounts, cgroups and the system paths they insist on."""
import contextlib
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from conftest import need
from containers_lib import (COUNTER, CUDA_ENV, GPUCR, RUNC, cuda_mounts, cuda_workload, kill_cgroup_tree, kill_pids,
                            pids_with_cmdline_containing, remove_cgroup_tree, remove_if_created, run, run_to_files, unique,
                            unmount_under, wait_for)

PODMAN = shutil.which("podman")
CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")


def v2_lacks(controller):
    """True on a pure cgroup v2 mount whose root lacks `controller`: the sid root's, where the
    host's v1 hierarchies hold the controllers (docs/ENGINES.md). A limit an engine sets by default
    then makes the runtime fail to create the container (runc: "openat2 .../pids.max: no such file
    or directory"; crun: "controller `pids` is not available"), so the engines are told to set none
    there: podman --pids-limit 0 (its default is 2048), ctr run --cpu-shares 0 (default 1024)."""
    controllers = pathlib.Path("/sys/fs/cgroup/cgroup.controllers")
    return controllers.exists() and controller not in controllers.read_text().split()


# ---------------------------------------------------------------- podman

class Podman:
    """podman with all its state under tmp (vfs storage, file locks, cgroupfs under a test cgroup
    parent, no network) and gpucr_env's launcher (gpucr-runc or gpucr-crun) as its runtime.
    runtime_root: the runtime's state dir (--root), by default a private one; None leaves the
    runtime's default."""

    def __init__(self, tmp, gpucr_env, hooks_dir, runtime_root="private"):
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
                     "--network-config-dir", t / "net", "--hooks-dir", hooks_dir, "--runtime", gpucr_env.wrapper]
        self.runtime_root = self.short / "runc" if runtime_root == "private" else runtime_root
        if self.runtime_root:  # runc's state too stays private
            self.base += ["--runtime-flag", f"root={self.runtime_root}"]

    def __call__(self, *args, check=True, timeout=120):
        return run([*self.base, *args], check=check, timeout=timeout, env=self.env)

    def import_rootfs(self, rootfs, name="localhost/gpucr-busybox:test"):
        tar = self.t / "rootfs.tar"
        with tarfile.open(tar, "w") as tf:
            tf.add(rootfs, arcname=".")
        self("import", tar, name)
        return name

    def run_counter(self, name, data_dir, image, extra=(), fake_cuda=None, apps=2):
        """Runs COUNTER (with fake_cuda, a FakeCuda: `apps` fake CUDA apps beside it)."""
        # docs/FACTS.md §1: podman's default rlimits can't be set without CAP_SYS_RESOURCE.
        cmd, cuda = COUNTER, []
        if fake_cuda is not None:
            cmd = cuda_workload(apps)
            for src, dst in cuda_mounts(fake_cuda):
                cuda += ["-v", f"{src}:{dst}"]
            for e in CUDA_ENV:
                cuda += ["-e", e]
        limits = ["--pids-limit", "0"] if v2_lacks("pids") else []
        r = self("run", "-d", "--name", name, "--network", "none", "--cgroup-parent", "/" + self.cgroup_parent,
                 "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096", *limits, "-v", f"{data_dir}:/data",
                 *cuda, *extra, image, "sh", "-c", cmd)
        return r.stdout.strip()

    def cleanup(self):
        self("rm", "--all", "--force", "--time", "0", check=False)
        self("rmi", "--all", "--force", check=False)
        kill_pids(pids_with_cmdline_containing(str(self.t)))  # conmon, if anything survived
        unmount_under(self.t)
        unmount_under(self.short)
        shutil.rmtree(self.short, ignore_errors=True)
        remove_cgroup_tree(self.cgroup_parent)


@contextlib.contextmanager
def podman_engine(tmp_path, gpucr_env, rootfs, runtime_root="private"):
    """A Podman running containers through gpucr_env's wrapper, gpucr's hooks installed, the busybox
    image imported; everything it made is removed afterwards."""
    need(PODMAN is not None and shutil.which("conmon") is not None, "podman and conmon are not installed")
    hooks_dir = tmp_path / "hooks.d"
    run([GPUCR, "install", "--hooks-dir", hooks_dir, "--no-links"], env={**os.environ, **gpucr_env.env})
    # podman import writes its blob info cache here whatever --root says.
    with remove_if_created("/var/lib/containers"):
        p = Podman(tmp_path, gpucr_env, hooks_dir, runtime_root)
        try:
            p.image = p.import_rootfs(rootfs)
            yield p
        finally:
            p.cleanup()


@pytest.fixture
def podman(tmp_path, gpucr_env, busybox_rootfs):
    need(RUNC is not None, "runc is not installed (podman runs it through the gpucr-runc wrapper)")
    with podman_engine(tmp_path, gpucr_env, busybox_rootfs) as p:
        yield p


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


def criu_log_errors(text):
    """The Error/Warn lines of each criu log file (*.log) that `text` names, for a failure message:
    a failed checkpoint leaves criu-dump.log in the task's state dir, which cleanup removes."""
    out = []
    for word in text.split():
        p = pathlib.Path(word.strip("'\":,"))
        if p.name.endswith(".log") and p.is_file():
            lines = [ln for ln in p.read_text(errors="replace").splitlines() if "Error" in ln or "Warn" in ln]
            out.append(f"\n--- {p} (Error/Warn lines)\n" + "\n".join(lines[-30:]))
    return "".join(out)


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
        # The daemon makes each checkpoint's image dir and each restore's copy of it in
        # $XDG_RUNTIME_DIR (default /tmp) and leaves the restore's behind (1.6 and 2.1 alike).
        xdg = self.short / "xdg"
        xdg.mkdir()
        self.daemon = subprocess.Popen([CONTAINERD, "--config", self.t / "config.toml"], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                       env={**os.environ, "XDG_RUNTIME_DIR": str(xdg)})
        wait_for(lambda: self.ctr("version", check=False).returncode == 0, timeout=30,
                 what="containerd to answer on its socket")

    def ctr(self, *args, check=True, timeout=120):
        r = run([CTR, "--address", self.sock, "--namespace", self.ns, *args], check=False, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"ctr {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}"
                                 + criu_log_errors(r.stderr))
        return r

    def ctr_to_files(self, name, *args):
        return run_to_files([CTR, "--address", self.sock, "--namespace", self.ns, *args], self.t, name)

    def import_rootfs(self, rootfs, name="localhost/gpucr-busybox:test"):
        # containerd 2's ctr imports through the transfer service, whose unpack platforms name only
        # the default snapshotter ("no unpack platforms defined"); --local (2.x only) imports in
        # the client, as 1.6 always does.
        local = ["--local"] if "--local" in self.ctr("images", "import", "--help").stdout else []
        self.ctr("images", "import", *local, "--snapshotter", "native", oci_archive(rootfs, self.t / "image.tar", name))
        return name

    def run_counter(self, cid, data_dir, image, fake_cuda=None, apps=2):
        """Runs COUNTER (with fake_cuda, a FakeCuda: `apps` fake CUDA apps beside it)."""
        self.ids.append(cid)
        cmd, cuda = COUNTER, []
        if fake_cuda is not None:
            cmd = cuda_workload(apps)
            for src, dst in cuda_mounts(fake_cuda):
                cuda += ["--mount", f"type=bind,src={src},dst={dst},options=rbind:rw"]
            for e in CUDA_ENV:
                cuda += ["--env", e]
        limits = ["--cpu-shares", "0"] if v2_lacks("cpu") else []  # v2_lacks says why
        self.ctr("run", "-d", "--null-io", *limits, "--snapshotter", "native", "--runc-binary", self.wrapper,
                 "--runc-root", self.short / "runc", "--cgroup", f"/{self.cgroup_parent}/{cid}",
                 "--mount", f"type=bind,src={data_dir},dst=/data,options=rbind:rw", *cuda, image, cid, "sh", "-c", cmd)

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
                # a task stuck in its runtime (a hung criu) must not keep the rest from happening
                with contextlib.suppress(subprocess.TimeoutExpired):
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

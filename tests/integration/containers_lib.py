"""Container test infrastructure: a busybox rootfs, runc bundles on a private --root, the
gpucr-runc wrapper, and cleanup of everything they create (containers, processes, mounts,
cgroups), even when a test fails. Podman and containerd: engines_lib.py.

Fixtures are imported by the test modules (`from containers_lib import ...`). Everything lives
under the test's tmp_path; system paths that the engines insist on (containerd's /run/containerd,
podman's /var/lib/containers/cache) are removed afterwards when the test created them.

Fake CUDA (tests/fakes, fakecuda.py) inside containers: three bind mounts, the fake libraries
(FakeCuda.lib) -> /opt/fake-cuda/lib (on LD_LIBRARY_PATH), the fakes' bin dir (fake_cuda_app)
-> /opt/fake-cuda/bin (on PATH) and the test's fake driver state dir -> /run/fake-cuda
(FAKE_CUDA_DIR; the fake identifies a process by the inode of its proc-<token> file, so another
mount path is fine). busybox-static has no dynamic loader and fake_cuda_app and the fake
libcuda/NVML are dynamically linked against glibc; fake_cuda_app can't simply be linked
statically either, since it dlopens libcuda.so.1 as CUDA apps do, and a dlopened glibc library
needs the dynamic loader and libc.so.6 anyway. So the rootfs gets copies of the loader and the
shared libraries `ldd` lists for the fakes (add_fake_cuda_runtime): the host's own glibc, the
one they were built against. The container's workload (cuda_workload) starts fake_cuda_app
processes beside the counter; gpucr (and the gpucr-runc launcher, GpucrEnv.use_fake_cuda)
reaches the same fake driver through FakeCuda.env().
"""
import json
import os
import pathlib
import shutil
import subprocess
import uuid

import pytest

from conftest import need
from helpers import BUILD, GPUCR, read_kv, wait_for
from hostclean import (freezer_state, kill_cgroup_tree, kill_pids, pids_with_cmdline_containing,  # noqa: F401
                       remove_cgroup_tree, remove_if_created, unmount_under)

RUNC = shutil.which("runc")
BUSYBOX = shutil.which("busybox")

# The workload of every test container: a counter written to the bind-mounted /data ten times a
# second (through a rename, so a checkpoint never leaves a half-written file). After a restore it
# must go on from where it was, not start again from 1.
# mv and sleep run in subshells, so the shell forks for them. A plain `sleep` is run through
# vfork by busybox 1.37 and later (the Debian unstable root has 1.38): a cgroup freeze that
# catches the vfork child before its exec leaves the shell in vfork's uninterruptible wait (state
# D), criu can't seize it and the runtime's checkpoint fails after criu's freeze timeout
# ("Unseizable non-zombie ..., state D"; docs/ENGINES.md). That is the user's problem to meet, not
# every test's: test_containers_vfork.py meets it on purpose.
COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /data/count.tmp; (mv /data/count.tmp /data/count); (sleep 0.1); done"
APPLETS = ["sh", "sleep", "echo", "cat", "ls", "mkdir", "mv", "true", "false", "ps", "kill", "test", "env"]

# Fake CUDA inside containers (see the module's docstring).
FAKES = BUILD / "tests/fakes"
CUDA_LIB_IN, CUDA_BIN_IN, CUDA_STATE_IN = "/opt/fake-cuda/lib", "/opt/fake-cuda/bin", "/run/fake-cuda"
CUDA_ENV = [f"LD_LIBRARY_PATH={CUDA_LIB_IN}", f"FAKE_CUDA_DIR={CUDA_STATE_IN}", f"PATH=/bin:{CUDA_BIN_IN}"]


def cuda_mounts(fc):
    """(host path, container path) of the three fake CUDA bind mounts for FakeCuda fc."""
    return [(fc.lib, CUDA_LIB_IN), (FAKES / "bin", CUDA_BIN_IN), (fc.dir, CUDA_STATE_IN)]


def cuda_workload(apps=2, children=(1,)):
    """sh -c text: `apps` fake_cuda_app processes (app i writes /data/app<i+1>; children[i] non-CUDA
    children forked before it loads libcuda), then the counter loop as the container's init."""
    starts = []
    for i in range(apps):
        n = children[i] if i < len(children) else 0
        starts.append(f"fake_cuda_app --mib 1 --status /data/app{i + 1} --children {n} --interval-ms 50 &")
    return " ".join(starts) + " " + COUNTER


def cuda_statuses(data_dir, apps=2):
    return [pathlib.Path(data_dir) / f"app{i + 1}" for i in range(apps)]


def wait_apps_counting(data_dir, apps=2, above=2, timeout=20):
    for st in cuda_statuses(data_dir, apps):
        wait_for(lambda: read_kv(st).get("counter", 0) > above, timeout=timeout, what=f"{st} to count")


def assert_apps_advance(data_dir, apps=2, by=3, timeout=20):
    """Every fake CUDA app of the container counts on, RUNNING, its device memory intact."""
    for st in cuda_statuses(data_dir, apps):
        before = read_kv(st).get("counter", 0)
        wait_for(lambda: read_kv(st).get("counter", 0) >= before + by, timeout=timeout, what=f"{st} to count on")
        s = read_kv(st)
        assert (s["corrupt"], s["err"], s["state"]) == (0, 0, "running"), s


def ns_pids(member):
    """{pid in the namespace: host pid} for every process in the pid namespace of host pid `member`."""
    ns = os.readlink(f"/proc/{member}/ns/pid")
    out = {}
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if os.readlink(p / "ns/pid") != ns:
                continue
            for line in (p / "status").read_text().splitlines():
                if line.startswith("NSpid:"):
                    out[int(line.split()[-1])] = int(p.name)
        except OSError:
            continue
    return out


def app_host_pids(init_pid, data_dir, apps=2):
    """The host pids of the container's fake CUDA apps (their status files name their pids in
    the container) and of their non-CUDA children."""
    pids = ns_pids(init_pid)
    cuda = [pids[read_kv(st)["pid"]] for st in cuda_statuses(data_dir, apps)]
    children = [pids[read_kv(f"{st}.child0")["pid"]] for st in cuda_statuses(data_dir, apps)
                if os.path.exists(f"{st}.child0")]
    return cuda, children


def cuda_container(runc, rootfs, gpucr_env, fake_cuda, tmp_path, apps=2, hooks=None):
    """A running runc container with `apps` fake CUDA processes (app1 with a non-CUDA child) beside
    the counter; gpucr_env reaches the same fake driver. Returns (id, bundle, data dir, state)."""
    gpucr_env.use_fake_cuda(fake_cuda)
    data = tmp_path / "data"
    data.mkdir()
    cid = unique()
    bundle = runc.bundle(rootfs, cid, data, fake_cuda=fake_cuda, apps=apps, hooks=hooks)
    state = runc.start(cid, bundle)
    wait_apps_counting(data, apps)
    wait_count_above(data, 5)
    return cid, bundle, data, state


def inventory_plugins(img):
    data = (pathlib.Path(img) / "inventory.img").read_bytes()
    return [p for p in ("cuda_plugin", "amdgpu_plugin") if p.encode() in data]


def clear_counters(data_dir, apps=0):
    """Removes the counter and the apps' status files of a container that is gone, so that the
    first values seen after its restore are the restored processes' own (first_counts)."""
    for f in (pathlib.Path(data_dir) / "count", *cuda_statuses(data_dir, apps)):
        f.unlink(missing_ok=True)


def first_counts(data_dir, apps=0, timeout=20):
    """(counter, [each app's counter]) once all of them were written again after clear_counters():
    the restored processes' first values (give or take the iteration or two before all appeared)."""
    def all_written():
        values = [read_count(data_dir), *(read_kv(st).get("counter") for st in cuda_statuses(data_dir, apps))]
        return values if None not in values else None
    values = wait_for(all_written, timeout=timeout, what="the restored counters")
    return values[0], values[1:]


def add_fake_cuda_runtime(rootfs):
    """Copies the dynamic loader and the shared libraries the fakes need (per ldd) into rootfs,
    at the paths ldd names, so fake_cuda_app and the fake libraries run inside the container."""
    rootfs = pathlib.Path(rootfs)
    bins = [FAKES / "bin/fake_cuda_app", FAKES / "lib/libcuda.so.1", FAKES / "lib/libnvidia-ml.so.1"]
    if not all(b.exists() for b in bins):
        return  # not built: the CUDA tests say so (fakes_built)
    needed = set()
    for b in bins:
        for line in run(["ldd", b]).stdout.splitlines():
            words = line.split()
            path = words[2] if "=>" in words and len(words) > 2 else words[0] if words else ""
            if path.startswith("/"):
                needed.add(path)
    for path in needed:
        dest = rootfs / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(path), dest)


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
    add_fake_cuda_runtime(dest)
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
    link: engines (podman's conmon) don't pass their environment on to the runtime. runtime="crun"
    makes them gpucr-crun (the wrapper runs crun)."""

    def __init__(self, tmp, runtime="runc"):
        self.tmp = pathlib.Path(tmp)
        self.run_dir = self.tmp / "gpucr-run"
        self.log = self.tmp / "gpucr-wrapper.log"
        self.link_dir = self.tmp / "links"
        self.bin_dir = self.tmp / "bin"
        self.link_dir.mkdir()
        self.bin_dir.mkdir()
        self.link = self.link_dir / f"gpucr-{runtime}"
        self.link.symlink_to(GPUCR)
        self.wrapper = self.bin_dir / f"gpucr-{runtime}"
        self.env = {"GPUCR_RUN_DIR": str(self.run_dir), "GPUCR_LOG_FILE": str(self.log)}
        self._write_launcher()
        self.wrapper.chmod(0o755)

    def _write_launcher(self):
        exports = " ".join(f"{k}='{v}'" for k, v in self.env.items())
        self.wrapper.write_text(f"#!/bin/sh\nexport {exports}\nexec '{self.link}' \"$@\"\n")

    def use_fake_cuda(self, fc, extra=None):
        """gpucr (direct and through the launcher) reaches FakeCuda fc's driver."""
        e = fc.env(extra)
        self.env.update({k: e[k] for k in ("FAKE_CUDA_DIR", "LD_LIBRARY_PATH", "PATH")})
        self._write_launcher()

    def private_dir(self, *parts):
        """RUN_DIR/parts..., every missing level created with mode 0700 as gpucr makes them
        (gpucr refuses a run directory others can open: common/run_dir.hpp)."""
        d = self.run_dir
        for part in ("",) + parts:
            d = d / part if part else d
            d.mkdir(mode=0o700, exist_ok=True)
            d.chmod(0o700)
        return d

    def journals(self):
        d = self.run_dir / "ops"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def recovery_log(self):
        p = self.run_dir / "recovery.log"
        return p.read_text() if p.exists() else ""

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

    def bundle(self, rootfs, name, data_dir, devices=(), hooks=None, args=None, fake_cuda=None, apps=2):
        """A bundle whose container runs COUNTER with data_dir on /data. devices: (path, major,
        minor) char devices; hooks: the config's "hooks" object; fake_cuda: a FakeCuda whose
        driver `apps` fake_cuda_app processes use beside the counter (cuda_workload)."""
        b = self.tmp / f"bundle-{name}"
        shutil.copytree(rootfs, b / "rootfs", symlinks=True)
        run([RUNC, "spec", "--bundle", b])
        c = json.loads((b / "config.json").read_text())
        c["process"]["terminal"] = False
        c["process"]["args"] = args or ["sh", "-c", COUNTER]
        # docs/FACTS.md §1: rlimits above the current ones can't be set without CAP_SYS_RESOURCE.
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
        c["root"]["readonly"] = False
        c["linux"]["cgroupsPath"] = f"/{self.cgroup_parent}/{name}"
        c["mounts"].append({"destination": "/data", "type": "bind", "source": str(data_dir),
                            "options": ["rbind", "rw"]})
        if fake_cuda is not None:
            for src, dst in cuda_mounts(fake_cuda):
                c["mounts"].append({"destination": dst, "type": "bind", "source": str(src), "options": ["rbind", "rw"]})
            c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("PATH=")] + CUDA_ENV
            if args is None:
                c["process"]["args"] = ["sh", "-c", cuda_workload(apps)]
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

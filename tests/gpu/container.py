#!/usr/bin/env python3
"""Device scenario: a runc container running the real CUDA workload (tests/gpu/gpu_workload.cu),
checkpointed and restored by `gpucr checkpoint/restore CONTAINER`.

  1. runc pause (what CRI-O and containerd do), gpucr checkpoint --leave-running: the container
     is paused again afterwards and its CUDA process is RUNNING for the driver; resume, it counts on.
  2. gpucr checkpoint (the container ends), gpucr restore --bundle --detach: the counter continues
     from the checkpoint and every word of device memory checks out.

The rootfs is an empty directory with the host's /usr bound read-only (Ubuntu's merged /usr: the
workload, libcuda and libc come from there) and the NVIDIA device nodes; the workload's status
file is in a bound directory. The container shares the host's network namespace (see make_bundle). Prints PASS/FAIL lines like run.sh; exit status 0 on PASS.

usage: container.py --workload W --images DIR --out DIR [--gib G]
"""
import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import time

NAME = "gpucr-gpu-ctr"


def kv(path):
    try:
        return dict(t.split("=", 1) for t in open(path).read().split())
    except (FileNotFoundError, ValueError):
        return {}


def counter(path):
    return int(kv(path).get("counter", -1))


def wait_counter(path, at_least, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if counter(path) >= at_least:
            return True
        time.sleep(0.1)
    return False


def run(argv, out, name, check=True):
    with open(os.path.join(out, name), "w") as f:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, timeout=300)
    text = open(os.path.join(out, name)).read()
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}:\n{text[-2000:]}")
    return text


def nvidia_devices():
    devs = []
    for n in sorted(os.listdir("/dev")):
        p = "/dev/" + n
        if n.startswith("nvidia") and os.path.exists(p) and stat.S_ISCHR(os.stat(p).st_mode):
            st = os.stat(p)
            devs.append({"path": p, "type": "c", "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                         "fileMode": 0o666, "uid": 0, "gid": 0})
    return devs


def make_bundle(bundle, work, workload, gib):
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(rootfs)
    for d in ("usr", "proc", "dev", "sys", "tmp", "work", "etc"):
        os.makedirs(os.path.join(rootfs, d))
    for link in ("bin", "sbin", "lib", "lib64"):
        if os.path.islink("/" + link):
            os.symlink(os.readlink("/" + link), os.path.join(rootfs, link))
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    spec = json.load(open(os.path.join(bundle, "config.json")))
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/work/gpu_workload", "--gib", str(gib), "--status", "/work/ctr.status"]
    spec["root"] = {"path": "rootfs", "readonly": False}
    # The host's network namespace: criu locks a container's own network with iptables-restore,
    # which the device machine lacks (seen there: "execvp("iptables-restore", ...) failed").
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    # /usr and each mount below it as its own bind: runc declares the binds of config.json
    # external to criu, which can't dump some file systems under /usr (seen on the device:
    # "mnt: FS mnt ./usr/local/nvidia ... unsupported").
    usr = sorted({l.split()[4] for l in open("/proc/self/mountinfo") if l.split()[4].startswith("/usr/")},
                 key=lambda m: m.count("/"))
    spec["mounts"] += [{"destination": m, "type": "bind", "source": m, "options": ["bind", "ro"]}
                       for m in ["/usr"] + usr]
    spec["mounts"].append({"destination": "/work", "type": "bind", "source": work, "options": ["bind", "rw"]})
    spec["process"]["env"] += [f"{v}={os.environ[v]}" for v in ("LD_LIBRARY_PATH",) if v in os.environ]
    devs = nvidia_devices()
    spec["linux"]["devices"] = devs
    spec["linux"].setdefault("resources", {})["devices"] = [{"allow": False, "access": "rwm"}] + [
        {"allow": True, "type": "c", "major": d["major"], "minor": d["minor"], "access": "rwm"} for d in devs]
    json.dump(spec, open(os.path.join(bundle, "config.json"), "w"), indent=1)
    shutil.copy2(workload, os.path.join(work, "gpu_workload"))
    return [d["path"] for d in devs]


def runc_state(root):
    r = subprocess.run(["runc", "--root", root, "state", NAME], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def cuda_state(pid):
    r = subprocess.run(["gpucr", "__cuda-call", "get-state", "--pid", str(pid)], capture_output=True, text=True)
    return json.loads(r.stdout).get("state") if r.returncode == 0 and r.stdout.strip() else None


class Container:
    """The runc container of the scenario, on a private runc root under /tmp/gpucr-gpu-ctr."""

    def __init__(self, a):
        self.a = a
        base = "/tmp/gpucr-gpu-ctr"
        self.root, self.bundle, self.work = base + "/runc-root", base + "/bundle", base + "/work"
        shutil.rmtree(base, ignore_errors=True)
        for d in (self.root, self.bundle, self.work):
            os.makedirs(d)
        self.st = os.path.join(self.work, "ctr.status")
        self.gpucr_rt = ["--runtime", "runc", "--root", self.root]

    def runc(self, *args):
        subprocess.run(["runc", "--root", self.root, *args], check=True)

    def start(self):
        devs = make_bundle(self.bundle, self.work, self.a.workload, self.a.gib)
        # stdio /dev/null, as the CI tests do: criu can't dump an fd on a host file outside the
        # container's mounts (seen: "Can't lookup mount=27 for fd=1 path=/root/out/ctr.runc.log").
        log = os.path.join(self.a.out, "ctr.runc.log")
        subprocess.run(["runc", "--root", self.root, "--log", log, "run", "-d", "--bundle", self.bundle, NAME],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=60)
        if not wait_counter(self.st, 5, 90):
            raise RuntimeError(f"workload in the container did not start: {kv(self.st)}; runc log {log}")
        self.pid = runc_state(self.root)["pid"]
        print(f"container {NAME}: init pid {self.pid} (the CUDA workload), devices {' '.join(devs)}")

    def checkpoint(self, log_name, *extra):
        shutil.rmtree(self.a.images, ignore_errors=True)
        print(run(["gpucr", "checkpoint", *self.gpucr_rt, "--image-dir", self.a.images, *extra, NAME],
                  self.a.out, log_name))

    def paused_leave_running(self):
        """1. paused (as CRI-O/containerd do), --leave-running: paused again, CUDA RUNNING."""
        self.runc("pause", NAME)
        before = counter(self.st)
        self.checkpoint("ctr.pause.ckpt", "--leave-running")
        # gpucr thaws the container for the GPU steps (the counter moves on meanwhile), then
        # pauses it again: from then on the counter stands still.
        status_after = runc_state(self.root)["status"]
        at_end = counter(self.st)
        time.sleep(1)
        still = counter(self.st)
        self.runc("resume", NAME)
        state = cuda_state(self.pid)
        counts = wait_counter(self.st, still + 3, 30)
        ok = status_after == "paused" and still == at_end and state == "running" and counts \
            and kv(self.st).get("corrupt") == "0"
        return (("PASS" if ok else "FAIL") +
                f" container paused + --leave-running: runc status after '{status_after}', counter "
                f"{before} before, {at_end} -> {still} over 1 s after the checkpoint, CUDA state after resume "
                f"{state}, counting on: {counts}")

    def checkpoint_restore(self):
        """2. checkpoint (the container ends), restore from the image: counting on, 0 corrupt."""
        self.checkpoint("ctr.ckpt")
        dumped = counter(self.st)
        gone = runc_state(self.root) is None
        print(run(["gpucr", "restore", *self.gpucr_rt, "--image-dir", self.a.images, "--bundle", self.bundle,
                   "--detach", NAME], self.a.out, "ctr.rst"))
        s = runc_state(self.root)
        rpid = s["pid"] if s else 0
        counts = wait_counter(self.st, dumped + 5, 60)
        state = cuda_state(rpid) if rpid else None
        final = kv(self.st)
        ok = gone and s and s["status"] == "running" and counts and final.get("corrupt") == "0" and state == "running"
        return (("PASS" if ok else "FAIL") +
                f" container checkpoint/restore {self.a.gib}GiB: container gone after checkpoint: {gone}, "
                f"restored init pid {rpid} ({s['status'] if s else 'no container'}), counter {dumped} -> "
                f"{final.get('counter')}, corrupt {final.get('corrupt')} of {final.get('bytes')} bytes, "
                f"CUDA state {state}")

    def remove(self):
        subprocess.run(["runc", "--root", self.root, "delete", "--force", NAME], capture_output=True)
        shutil.rmtree(self.a.images, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gib", type=int, default=2)
    c = Container(ap.parse_args())
    results = []
    try:
        c.start()
        results.append(c.paused_leave_running())
        results.append(c.checkpoint_restore())
    except Exception as e:  # report, clean up, fail
        results.append(f"FAIL container: {e}")
    finally:
        c.remove()
    for r in results:
        print(r)
    return 0 if results and all(r.startswith("PASS") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Private freezer cgroups for the integration tests (cgroup v1 freezer and cgroup v2).

TestCgroup makes a cgroup named gpucr-test-PID-RANDOM under the host's freezer hierarchy,
starts processes inside it, reads and sets its freezer state through the kernel's files, and
destroy() thaws it, kills everything in it and removes it (call it from a fixture's finally).
"""
import os
import pathlib
import signal
import subprocess
import time
import uuid

from helpers import wait_for


def mounts():
    """[(mount_point, fstype, super_options)] from /proc/self/mountinfo."""
    out = []
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        f = line.split(" ")
        dash = f.index("-")
        out.append((f[4].replace("\\040", " "), f[dash + 1], f[dash + 3].split(",")))
    return out


def hierarchy_root(version):
    """Mount point of the v1 freezer hierarchy or of cgroup2; None when not mounted."""
    for point, fstype, opts in mounts():
        if version == "v1" and fstype == "cgroup" and "freezer" in opts:
            return pathlib.Path(point)
        if version == "v2" and fstype == "cgroup2":
            return pathlib.Path(point)
    return None


class TestCgroup:
    __test__ = False  # not a pytest test class

    def __init__(self, version):
        self.version = version
        root = hierarchy_root(version)
        assert root is not None, f"no cgroup {version} freezer hierarchy"
        self.root = root
        self.dir = root / f"gpucr-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir()

    # --- state -----------------------------------------------------------------------------
    def state_files(self):
        """The raw freezer files, for assertions: {'freezer.state': ...} or v2's two files."""
        if self.version == "v1":
            return {"freezer.state": (self.dir / "freezer.state").read_text().strip()}
        events = dict(l.split() for l in (self.dir / "cgroup.events").read_text().splitlines())
        return {"cgroup.freeze": (self.dir / "cgroup.freeze").read_text().strip(), "frozen": events["frozen"]}

    def state(self):
        """THAWED, FREEZING or FROZEN, as the kernel's files say."""
        s = self.state_files()
        if self.version == "v1":
            return s["freezer.state"]
        if s["frozen"] == "1":
            return "FROZEN"
        return "FREEZING" if s["cgroup.freeze"] == "1" else "THAWED"

    def expected_files(self, state):
        if self.version == "v1":
            return {"freezer.state": state}
        return {"cgroup.freeze": "1" if state == "FROZEN" else "0", "frozen": "1" if state == "FROZEN" else "0"}

    def freeze(self):
        self._write("FROZEN", "1")
        wait_for(lambda: self.state() == "FROZEN", 10, what=f"{self.dir} to freeze")

    def thaw(self):
        self._write("THAWED", "0")
        wait_for(lambda: self.state() == "THAWED", 10, what=f"{self.dir} to thaw")

    def _write(self, v1, v2):
        name, value = ("freezer.state", v1) if self.version == "v1" else ("cgroup.freeze", v2)
        (self.dir / name).write_text(value)

    # --- processes -------------------------------------------------------------------------
    def procs(self):
        try:
            return [int(p) for p in (self.dir / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []

    def spawn(self, argv, log=None):
        """Starts argv (own session, stdio on /dev/null) INSIDE this cgroup, from its first instruction."""
        out = open(log, "wb") if log else subprocess.DEVNULL
        script = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
        return subprocess.Popen(["/bin/sh", "-c", script, str(self.dir), *map(str, argv)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def destroy(self):
        """Thaws, kills every process in the cgroup, removes it. Safe to call twice."""
        if not self.dir.exists():
            return
        try:
            self._write("THAWED", "0")
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while self.procs() and time.monotonic() < deadline:
            for pid in self.procs():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for _ in range(100):
            try:
                self.dir.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)  # the last task is still exiting
        raise AssertionError(f"could not remove test cgroup {self.dir} (tasks: {self.procs()})")

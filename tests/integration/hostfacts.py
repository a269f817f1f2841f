"""The test hosts, and the documented facts of each that let a test skip even under
GPUCR_REQUIRE_ALL=1 (docs/ENGINES.md, "Documented host facts", explains each one).

The container tests run on two hosts (docs/ENGINES.md):
  debian-12        the CI machine itself (podman 4.3, containerd 1.6, runc 1.1, criu 4.1 from
                   Debian 13 through scripts/install-criu.sh);
  debian-sid-root  a Debian unstable root entered by tests/hosts/sid-root.sh (podman 5,
                   containerd 2, runc 1.3, crun 1.2x, criu 4.2, checkpointctl), which writes
                   its name to /etc/gpucr-test-host.

A test that cannot run somewhere calls conftest.need(condition, why, fact=ID). The skip is
accepted under GPUCR_REQUIRE_ALL=1 only when FACTS[ID] names the host the test runs on;
anywhere else it fails like any other missing requirement.
"""
import pathlib
from dataclasses import dataclass

MARKER = pathlib.Path("/etc/gpucr-test-host")


@dataclass(frozen=True)
class Fact:
    host: str
    text: str


FACTS = {
    "debian12-no-checkpointctl": Fact(
        "debian-12", "checkpointctl is not packaged for Debian 12 (Debian 13 and later have it)"),
    "debian12-crun-cannot-checkpoint": Fact(
        "debian-12", "Debian 12's crun (1.8.1, not installed by install-deps.sh) is built without CRIU "
                     "support, and crun refuses the CI machine's hybrid cgroups (v1 controllers beside a v2 "
                     "hierarchy at /sys/fs/cgroup/unified: \"cgroups in hybrid mode not supported\")"),
}


def os_release():
    out = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        p = pathlib.Path(path)
        if p.exists():
            for line in p.read_text().splitlines():
                k, _, v = line.partition("=")
                out[k] = v.strip('"')
            break
    return out


def current_host():
    """debian-sid-root inside tests/hosts/sid-root.sh's root, else ID-VERSION_ID (debian-12)."""
    if MARKER.exists():
        return MARKER.read_text().strip()
    r = os_release()
    return f"{r.get('ID', 'unknown')}-{r.get('VERSION_ID', 'unknown')}"


def documented(fact_id):
    """The fact's text when FACTS[fact_id] holds on this host, else None."""
    f = FACTS.get(fact_id)
    return f.text if f is not None and f.host == current_host() else None

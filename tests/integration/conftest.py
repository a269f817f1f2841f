"""Shared fixtures for gpucr's integration tests (real gpucr binary, real criu, real processes).

Tests that need something this machine lacks call need(...): it skips locally and FAILS when
GPUCR_REQUIRE_ALL=1 (set by .ci/run), so nothing silently stops running in CI, unless the reason
is a documented fact of the host the tests run on (hostfacts.py, docs/ENGINES.md).
"""
import os
import pathlib
import shutil
import subprocess

import pytest

from helpers import GPUCR, BUILD, Gpucr
from hostfacts import current_host, documented

REQUIRE_ALL = os.environ.get("GPUCR_REQUIRE_ALL") == "1"


def need(condition, why, fact=None):
    """Skips (fails under GPUCR_REQUIRE_ALL=1) unless condition holds. fact: the id of a
    documented fact of a test host (hostfacts.FACTS) that explains why; on that host the skip is
    accepted under GPUCR_REQUIRE_ALL=1 too."""
    if condition:
        return
    text = documented(fact) if fact else None
    if text:
        pytest.skip(f"{why} (documented fact {fact} of host {current_host()}: {text})")
    if REQUIRE_ALL:
        pytest.fail(f"requirement missing on host {current_host()} (GPUCR_REQUIRE_ALL=1): {why}")
    pytest.skip(why)


@pytest.fixture(scope="session", autouse=True)
def _built():
    need(GPUCR.exists(), f"gpucr is not built at {GPUCR} (run scripts/build.sh)")
    need(os.geteuid() == 0, "integration tests need root")
    need(shutil.which("criu") is not None, "criu is not in PATH (scripts/install-criu.sh)")


@pytest.fixture
def gpucr(tmp_path):
    return Gpucr(tmp_path)


@pytest.fixture
def trees(tmp_path):
    """Starts tree_workload process trees; kills every process of them at the end, even on failure."""
    from trees import Trees
    t = Trees(tmp_path)
    yield t
    t.cleanup()

"""Fixtures for the tests that run against a real NetBox on loopback (lab/netbox/netboxctl.py).

Each test module gets an empty NetBox: the database is restored from the committed schema dump
(`netboxctl.py up --fresh`, about ten seconds, with a new admin token), so modules cannot see each
other's objects. NetBox is left running; `make test` stops it at the end. NETBOX_STATE,
NETBOX_PORT, NETBOX_PG_PORT and NETBOX_REDIS_PORT move the instance (so two worktrees can each have one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NETBOXCTL = ROOT / "lab" / "netbox" / "netboxctl.py"


def netboxctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(NETBOXCTL), *args], capture_output=True, text=True, check=False)


def netbox_env() -> dict[str, str]:
    out = netboxctl("env")
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    env = {}
    for line in out.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


@pytest.fixture(scope="module")
def netbox_instance() -> dict[str, str]:
    """An empty NetBox (restored from the schema dump) for this test module: {'url', 'token'}."""
    up = netboxctl("up", "--fresh")
    if up.returncode != 0:
        pytest.fail(f"netboxctl up --fresh failed:\n{up.stdout}\n{up.stderr}")
    env = netbox_env()
    return {"url": env["NETBOX_API"], "token": env["NETBOX_TOKEN"]}


@pytest.fixture(scope="module")
def nb(netbox_instance):
    """A pynetbox API object for the session's NetBox."""
    import pynetbox

    return pynetbox.api(netbox_instance["url"], token=netbox_instance["token"])


@pytest.fixture
def netbox_cli_env(netbox_instance) -> dict[str, str]:
    """os.environ plus NETBOX_API/NETBOX_TOKEN, for running the tools and ansible as subprocesses."""
    env = dict(os.environ)
    env["NETBOX_API"] = netbox_instance["url"]
    env["NETBOX_TOKEN"] = netbox_instance["token"]
    return env

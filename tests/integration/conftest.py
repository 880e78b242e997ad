"""Integration tests run against the converged lab (scripts/test.sh stage `lab`).

Hosts are reached over SSH with .lab/ssh/config, which lab/labctl.py writes on `up`.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
from labctl import group_members  # noqa: E402

SSH_CONFIG = ROOT / ".lab" / "ssh" / "config"
BIN = ROOT / ".venv" / "bin"


def lab_inventory() -> dict:
    res = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", "inventories/lab", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout)


@pytest.fixture(scope="session")
def inventory() -> dict:
    if not SSH_CONFIG.exists():
        pytest.fail("the lab is not up: run `make lab-up` (scripts/test.sh does) before the integration tests")
    return lab_inventory()


@pytest.fixture(scope="session")
def lab_hosts(inventory) -> dict[str, testinfra.host.Host]:
    return {
        name: testinfra.get_host(f"ssh://{name}", ssh_config=str(SSH_CONFIG), sudo=True)
        for name in group_members(inventory, "linux")
    }


@pytest.fixture(scope="session")
def vault_value():
    """Decrypt one lab vault variable with the lab's throwaway password (never production's)."""

    def read(name: str) -> str:
        data = yaml.safe_load(
            (ROOT / "inventories/lab/group_vars/all/vault.yml")
            .read_text()
            .replace("!vault |", "|")  # keep the ciphertext as a plain string for ansible-vault
        )
        res = subprocess.run(
            [str(BIN / "ansible-vault"), "decrypt", "--vault-id", "lab@inventories/lab/vault-password.txt"],
            cwd=ROOT,
            input=data[name],
            capture_output=True,
            text=True,
            check=True,
        )
        return res.stdout

    return read


def wait_for(check, timeout: float = 60, interval: float = 1.0):
    """Call check() until it returns something true or the timeout passes; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(interval)

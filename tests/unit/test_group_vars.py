"""The top-level group_vars/ is loaded for every inventory, below the inventory's own group_vars/.

plugins/vars/org_group_vars.py does the loading; these tests ask Ansible itself (ansible-inventory
and an ad-hoc debug that connects to nothing) what a host's variables are.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
ORG = yaml.safe_load((ROOT / "group_vars" / "all" / "org.yml").read_text())


def host_vars(inventory: Path | str, host: str, **env: str) -> dict:
    res = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(inventory), "--host", host],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return json.loads(res.stdout)


@pytest.fixture
def foreign_inventory(tmp_path: Path) -> Path:
    """An inventory that lives outside the repository and has no group_vars of its own."""
    inv = tmp_path / "inventory.ini"
    inv.write_text("[linux]\nyabanci01 ansible_host=192.0.2.10\n")
    return inv


@pytest.mark.parametrize(
    ("inventory", "host"),
    [
        ("inventories/lab", "app01"),
        ("inventories/lab", "pardus01"),
        ("inventories/production", None),
    ],
    ids=["lab-server", "lab-desktop", "production"],
)
def test_org_group_vars_reach_hosts_of_the_repository_inventories(inventory: str, host: str | None) -> None:
    if host is None:  # first host of the production estate, whatever its name
        res = subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", inventory, "--list"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        host = sorted(json.loads(res.stdout)["_meta"]["hostvars"])[0]
    got = host_vars(ROOT / inventory, host)
    assert got["org_name"] == ORG["org_name"]
    assert got["common_admin_group"] == ORG["common_admin_group"]


def test_org_group_vars_reach_an_inventory_outside_the_repository(foreign_inventory: Path) -> None:
    got = host_vars(foreign_inventory, "yabanci01")
    assert got["org_name"] == ORG["org_name"]
    assert got["common_timezone"] == ORG["common_timezone"]


def test_org_group_vars_are_absent_when_the_plugin_is_disabled(foreign_inventory: Path) -> None:
    """The control case: it is the vars plugin, not something else, that brings them in."""
    got = host_vars(foreign_inventory, "yabanci01", ANSIBLE_VARS_ENABLED="host_group_vars")
    assert "org_name" not in got


def test_inventory_group_vars_override_org_group_vars(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("common_timezone: UTC\n")
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    linux:\n      hosts:\n        yerel01:\n")
    got = host_vars(tmp_path, "yerel01")
    assert got["common_timezone"] == "UTC"
    assert got["org_name"] == ORG["org_name"]


def test_playbook_runs_see_org_group_vars(foreign_inventory: Path) -> None:
    """Not only the inventory listing: a real run templating the variable sees it (debug connects nowhere)."""
    res = subprocess.run(
        [
            str(BIN / "ansible"),
            "-i",
            str(foreign_inventory),
            "yabanci01",
            "-m",
            "ansible.builtin.debug",
            "-a",
            "var=org_name",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
        check=True,
    )
    assert ORG["org_name"] in res.stdout

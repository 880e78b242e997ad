"""Helpers of the switch role's offline tests (tests/unit/test_switch_*.py).

``run_ios_module`` runs a real cisco.ios module (its ``main()``: argument spec, config class and
templates) in this process with state ``rendered`` or ``parsed``; those states never need a
switch. Only the modules' up-front probe of the device (``_is_l2_device`` of ios_vlans, which
asks the connection before looking at the state) is replaced, by "not a layer-2 device", so
that the state alone decides, as the module means it to for rendered and parsed.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
from pathlib import Path

import yaml
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "switch"
INVENTORY = FIXTURES / "inventory.yml"


def run_ios_module(name: str, args: dict) -> dict:
    """Run cisco.ios module ``name`` with ``args``; return its result (rendered or parsed)."""
    module = importlib.import_module(f"ansible_collections.cisco.ios.plugins.modules.{name}")
    if hasattr(module, "_is_l2_device"):
        module._is_l2_device = lambda _module: False
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        module.main()
    result = json.loads(out.getvalue())
    assert not result.get("failed"), result
    return result


def fixture_inventory() -> dict:
    return yaml.safe_load(INVENTORY.read_text())


def fixture_plan() -> dict:
    return fixture_inventory()["all"]["vars"]["ipplan"]


# The role's defaults that the fixture inventory does not set (roles/switch/defaults/main.yml).
ROLE_DEFAULTS = {
    "switch_site": "merkez",
    "switch_parking_vlan": 999,
    "switch_parking_vlan_name": "PARK",
    "switch_unused_description": "KULLANILMIYOR",
    "switch_aaa": {},
    "switch_snmp_communities": [],
    "switch_snmpv3_group": "bim-ro",
    "switch_syslog_hosts": ["10.10.10.11"],
    "switch_ports": [],
}
MODEL_PORTS = {
    "C9200L-24P-4X": ["GigabitEthernet1/0/1-24", "TenGigabitEthernet1/1/1-4"],
    "CBS350-24P-4G": ["GigabitEthernet1/0/1-28"],
}


def fixture_inputs(host: str) -> dict:
    """The role's inputs for a host of the fixture inventory, as roles/switch/vars/main.yml builds them."""
    switches = fixture_inventory()["all"]["children"]["switches"]
    values = dict(ROLE_DEFAULTS)
    values.update(switches["vars"])
    for group in switches["children"].values():
        if host in group["hosts"]:
            values.update(group["vars"])
            values.update(group["hosts"][host])
    values["switch_hostname"] = host
    values["switch_all_ports"] = MODEL_PORTS[values["switch_model"]]
    return {key: value for key, value in values.items() if key.startswith("switch_") and key != "switch_model"}


def run_playbook(playbook: Path, inventory: Path, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """ansible-playbook from the repository root (its ansible.cfg), with a ledger of its own."""
    env = dict(os.environ)
    env.update(
        BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"),
        BELEDIYE_LEDGER_SYSLOG="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="false",
    )
    binary = ROOT / ".venv" / "bin" / "ansible-playbook"
    return subprocess.run(
        [str(binary), "-i", str(inventory), str(playbook), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

"""The lab's DHCP runs on its gateway: fw01 serves the clients LAN (inventories/lab).

The lab inventory is read as Ansible resolves it (ansible-inventory --list), then given to the same
filters the roles use: the dhcp role's Kea configuration (roles/dhcp/filter_plugins/dhcp_kea.py)
and the firewall role's nftables ruleset (plugins/filter/firewall.py). A DHCP server moved off the
LAN it serves, a router option that is not the gateway, or a policy on fw01 that drops the
desktops' requests fails here, before a lab host is built.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import ipplan
import pytest
import yaml
from firewall import firewall_nftables

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "dhcp" / "filter_plugins"))
sys.path.insert(0, str(ROOT / "lab"))

import dhcp_kea  # noqa: E402  (the role's own filter directory, put on the path above)
from labctl import SEGMENTS, group_members  # noqa: E402

GATEWAY = "fw01"
# What roles/dhcp/vars/main.yml gives the filter as __dhcp_system (paths only; nothing is read).
SYSTEM = {
    "hooks_dir": "/usr/lib/x86_64-linux-gnu/kea/hooks",
    "lease_file": "/var/lib/kea/kea-leases4.csv",
    "control_socket": "/run/kea/kea4-ctrl-socket",
    "lease_log_script": "/usr/local/lib/belediye/kea-lease-log",
}


@pytest.fixture(scope="module")
def lab() -> dict:
    res = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", "inventories/lab", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def gateway(lab) -> dict:
    return lab["_meta"]["hostvars"][GATEWAY]


@pytest.fixture(scope="module")
def kea_inputs(gateway) -> dict:
    """The dhcp role's inputs on fw01: the role's defaults, overridden by the inventory's values."""
    defaults = yaml.safe_load((ROOT / "roles" / "dhcp" / "defaults" / "main.yml").read_text())
    inputs = {key: gateway.get(key, value) for key, value in defaults.items()}
    inputs["dhcp_ha_this_server"] = GATEWAY  # the default is "{{ inventory_hostname }}"
    for key in ("dhcp_authoritative", "dhcp_lease_log_enabled", "dhcp_apparmor_enabled"):
        inputs[key] = bool(inputs[key])
    return inputs


def test_the_gateway_fw01_is_the_labs_only_dhcp_server(lab):
    assert group_members(lab, "dhcp_servers") == [GATEWAY]
    assert GATEWAY in group_members(lab, "nftables_firewalls")
    assert "dhcp01" not in lab["_meta"]["hostvars"]


def test_every_served_vlan_is_on_a_lab_segment_where_fw01_is_the_vlans_gateway(gateway):
    served = gateway["dhcp_served_vlans"]
    assert served, "fw01 serves no VLAN"
    for entry in served:
        vlan = gateway["ipplan"]["sites"][entry["site"]]["vlans"][entry["vlan"]]
        [segment] = [s for s in SEGMENTS if s.interface == entry["interface"]]
        address = ipaddress.ip_interface(gateway[f"lab_{segment.key}_lan"])
        assert str(address.network) == vlan["subnet"], entry
        assert str(address.ip) == vlan["gateway"], entry


def test_kea_on_fw01_listens_on_eth1_and_hands_out_fw01_as_the_router(gateway, kea_inputs):
    plan = {"domain": gateway["ipplan"]["domain"], "vlans": ipplan.ipplan_networks(gateway["ipplan"])}
    assert dhcp_kea.dhcp_problems(kea_inputs, plan, GATEWAY) == []
    config = dhcp_kea.dhcp_kea_config(kea_inputs, plan, SYSTEM)["Dhcp4"]
    assert config["interfaces-config"]["interfaces"] == ["eth1"]
    [subnet] = [s for s in config["subnet4"] if s["subnet"] == "10.231.8.0/24"]
    assert subnet["interface"] == "eth1"
    routers = [
        o["data"] for o in subnet.get("option-data", []) + config.get("option-data", []) if o["name"] == "routers"
    ]
    assert routers == ["10.231.8.1"]


def test_fw01s_ruleset_admits_dhcp_requests_from_any_source_on_the_clients_lan(gateway):
    ruleset = firewall_nftables(gateway["firewall_policy"], gateway["ipplan"], 0)
    input_chain = ruleset.split("chain input {", 1)[1].split("}", 1)[0]
    dhcp = [line.strip() for line in input_chain.splitlines() if "udp dport 67 " in line]
    # A client asks from 0.0.0.0 before it has an address: the rule may not match a source.
    assert dhcp == ['iifname "eth1" udp dport 67 ct state new counter accept comment "istemci-dhcp"']


def test_etc_hosts_of_the_lab_names_exactly_the_lab_hosts(lab, gateway):
    entries = gateway["common_hosts_entries"]
    named = {entry["names"][-1]: entry["ip"] for entry in entries}
    hostvars = lab["_meta"]["hostvars"]
    assert named == {name: hostvars[name]["ansible_host"] for name in group_members(lab, "linux")}

"""Input checks of role switch: bad data is refused before any change, with a message that names
the host, the variable and the problem. Each row changes one thing in sound inputs."""

from __future__ import annotations

import copy

import ipplan
import pytest
import switch
import yaml
from ansible.errors import AnsibleFilterError
from switchtools import FIXTURES, INVENTORY, ROOT, fixture_inputs, fixture_plan, run_playbook

NETWORKS = ipplan.ipplan_networks(fixture_plan())
HOST = "sw-test-ios"


def good() -> dict:
    return fixture_inputs(HOST)


def test_sound_inputs_have_no_problems():
    assert switch.switch_problems(good(), NETWORKS, HOST) == []
    assert switch.switch_problems(fixture_inputs("sw-test-cbs"), NETWORKS, "sw-test-cbs") == []


def _port(**values) -> dict:
    return {"name": "GigabitEthernet1/0/5", "mode": "access", "vlan": "kullanici", **values}


# (id, change to the inputs, expected part of a message)
BAD_ROWS = [
    (
        "port-listed-twice",
        lambda i: i["switch_ports"].append(_port(name="GigabitEthernet1/0/1", vlan="yazici")),
        "switch_ports[5] (GigabitEthernet1/0/1): port 'GigabitEthernet1/0/1' is listed twice (also switch_ports[0])",
    ),
    (
        "port-access-and-trunk",
        lambda i: i["switch_ports"].append({"name": "GigabitEthernet1/0/1", "mode": "trunk", "vlans": ["yonetim"]}),
        "port 'GigabitEthernet1/0/1' is listed twice",
    ),
    (
        "access-port-with-trunk-vlans",
        lambda i: i["switch_ports"].append(_port(vlans=["yazici"])),
        "an access port is in one VLAN: 'vlans' is for trunks (a port in two VLANs)",
    ),
    (
        "access-vlan-not-in-plan",
        lambda i: i["switch_ports"].append(_port(vlan="misafir")),
        "access VLAN 'misafir' is not in the site's plan",
    ),
    (
        "trunk-vlan-not-in-plan",
        lambda i: i["switch_ports"].append({"name": "GigabitEthernet1/0/5", "mode": "trunk", "vlans": ["dmz"]}),
        "trunk VLAN 'dmz' is not in the site's plan",
    ),
    (
        "native-vlan-not-on-trunk",
        lambda i: i["switch_ports"].append(
            {"name": "GigabitEthernet1/0/5", "mode": "trunk", "vlans": ["kullanici"], "native_vlan": "yonetim"}
        ),
        "native_vlan 'yonetim' is not allowed on the trunk (vlans)",
    ),
    (
        "abbreviated-port-name",
        lambda i: i["switch_ports"].append(_port(name="Gi1/0/5")),
        "'Gi1/0/5' is not a valid ios port name",
    ),
    (
        "port-not-on-this-model",
        lambda i: i["switch_ports"].append(_port(name="GigabitEthernet1/0/48")),
        "'GigabitEthernet1/0/48' is not a port of this switch (switch_all_ports)",
    ),
    (
        "unknown-mode",
        lambda i: i["switch_ports"].append(_port(mode="hybrid")),
        "mode must be access or trunk, got 'hybrid'",
    ),
    (
        "port-security-out-of-range",
        lambda i: i["switch_ports"].append(_port(port_security=0)),
        "port_security (maximum MAC addresses) must be 1..64",
    ),
    (
        "duplicate-user",
        lambda i: i["switch_local_users"].append({"name": "ansible", "password": "stubOther000"}),
        "switch_local_users: user 'ansible' is listed twice",
    ),
    (
        "short-user-password",
        lambda i: i["switch_local_users"].append({"name": "kisa", "password": "x"}),
        "switch_local_users 'kisa': password must be a vault secret of 8+ characters",
    ),
    (
        "snmp-community-given",
        lambda i: i.update(switch_snmp_communities=["public"]),
        "switch_snmp_communities is set: SNMP communities (v1/v2c) are refused",
    ),
    (
        "short-snmp-key",
        lambda i: i.update(switch_snmpv3_priv_key="kisa"),
        "switch_snmpv3_priv_key must be a vault secret of 8+ letters and digits",
    ),
    (
        "parking-vlan-in-plan",
        lambda i: i.update(switch_parking_vlan=20),
        "switch_parking_vlan 20 is also a VLAN of the plan at site 'merkez'",
    ),
    ("unknown-site", lambda i: i.update(switch_site="yok"), "switch_site 'yok' is not a site of the IP plan"),
    ("no-ntp", lambda i: i.update(switch_ntp_servers=[]), "switch_ntp_servers must be a non-empty list"),
    ("banner-with-delimiter", lambda i: i.update(switch_banner="a ^ b"), "switch_banner must not contain '^' or '#'"),
    (
        "aaa-server-without-key",
        lambda i: i.update(switch_aaa={"tacacs_servers": [{"name": "TAC1", "address": "10.10.10.40"}]}),
        "switch_aaa.tacacs_servers[0] needs name, address and key",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [row[1:] for row in BAD_ROWS], ids=[row[0] for row in BAD_ROWS])
def test_bad_input_is_refused_with_host_variable_and_problem(change, expected):
    inputs = copy.deepcopy(good())
    change(inputs)
    problems = switch.switch_problems(inputs, NETWORKS, HOST)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith(f"host {HOST}: switch_") for problem in problems), problems
    with pytest.raises(AnsibleFilterError, match="the inputs have problems"):
        switch.switch_desired(inputs, NETWORKS)


def test_problems_never_quote_a_secret():
    inputs = copy.deepcopy(good())
    inputs["switch_local_users"].append({"name": "ansible", "password": "sizmasin"})
    inputs["switch_snmpv3_auth_key"] = "gizli-anahtar!"
    text = " ".join(switch.switch_problems(inputs, NETWORKS, HOST))
    assert "sizmasin" not in text
    assert "gizli-anahtar!" not in text


def test_expand_ports():
    assert switch.switch_expand_ports(["GigabitEthernet1/0/1-3", "TenGigabitEthernet1/1/1"]) == [
        "GigabitEthernet1/0/1",
        "GigabitEthernet1/0/2",
        "GigabitEthernet1/0/3",
        "TenGigabitEthernet1/1/1",
    ]
    with pytest.raises(AnsibleFilterError, match="ends before it starts"):
        switch.switch_expand_ports(["GigabitEthernet1/0/5-1"])


def test_role_assert_refuses_an_overlapping_plan_before_any_change(tmp_path):
    inventory = yaml.safe_load(INVENTORY.read_text())
    vlans = inventory["all"]["vars"]["ipplan"]["sites"]["merkez"]["vlans"]
    vlans["kamera"]["subnet"] = "10.10.40.0/24"  # the same subnet as yazici
    vlans["kamera"]["gateway"] = "10.10.40.254"
    bad = tmp_path / "inventory.yml"
    bad.write_text(yaml.safe_dump(inventory))
    result = run_playbook(FIXTURES / "assert.yml", bad, "--limit", HOST, tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"host {HOST}: the switch carries VLANs of the IP plan (variable ipplan)" in result.stdout
    assert "overlaps subnet 10.10.40.0/24" in result.stdout


def test_role_assert_names_host_and_variable_for_a_bad_port(tmp_path):
    inventory = yaml.safe_load(INVENTORY.read_text())
    host = inventory["all"]["children"]["switches"]["children"]["ios_switches"]["hosts"][HOST]
    host["switch_ports"].append({"name": "GigabitEthernet1/0/9", "mode": "access", "vlan": "misafir"})
    bad = tmp_path / "inventory.yml"
    bad.write_text(yaml.safe_dump(inventory))
    result = run_playbook(FIXTURES / "assert.yml", bad, "--limit", HOST, tmp_path=tmp_path)
    assert result.returncode != 0
    assert (
        f"host {HOST}: switch_ports[5] (GigabitEthernet1/0/9): access VLAN 'misafir' is not in the site's plan"
        in result.stdout
    )
    assert "stubSnmpAuthKey0" not in result.stdout


@pytest.mark.slow(seconds=17)
def test_production_switch_data_passes_the_checks(tmp_path):
    result = run_playbook(
        FIXTURES / "assert.yml",
        ROOT / "inventories" / "production",
        "-e",
        f"@{ROOT / 'tests' / 'fixtures' / 'production-vault-stub.yml'}",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sw-merkez-core01" in result.stdout
    assert "sw-kultur-acc01" in result.stdout

"""Rendering: the switch filters' module configs through the real cisco.ios modules (state rendered),
and the CBS350 renderer. One row per port combination; every expected line can be checked
against the row's inputs and the plan of the fixture inventory (kullanici 20, yazici 40,
kamera 60, yonetim 99, sunucu 10; parking VLAN 999)."""

from __future__ import annotations

import ipplan
import pytest
import switch
from switchtools import fixture_inputs, fixture_plan, run_ios_module

NETWORKS = ipplan.ipplan_networks(fixture_plan())
PLAN_IDS = {item["vlan"]: item["id"] for item in NETWORKS if item["site"] == "merkez"}


def desired_for(ports: list[dict], all_ports: list[str], platform: str = "ios") -> dict:
    inputs = fixture_inputs("sw-test-ios" if platform == "ios" else "sw-test-cbs")
    inputs.update(switch_ports=ports, switch_all_ports=all_ports)
    return switch.switch_desired(inputs, NETWORKS)


# (id, port data or None for an unused port, port name,
#  l2 commands, interface commands, ios_config lines, CBS lines of the interface block)
PORT_ROWS = [
    (
        "access-without-port-security",
        {"name": "GigabitEthernet1/0/2", "mode": "access", "vlan": "yazici", "description": "yazici-1"},
        "GigabitEthernet1/0/2",
        ["switchport access vlan 40", "switchport mode access"],
        ["description yazici-1", "no shutdown"],
        ["spanning-tree portfast", "spanning-tree bpduguard enable"],
        [
            "switchport mode access",
            "switchport access vlan 40",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
            "no shutdown",
        ],
    ),
    (
        "access-with-port-security-3",
        {
            "name": "GigabitEthernet1/0/5",
            "mode": "access",
            "vlan": "kullanici",
            "port_security": 3,
            "description": "pc-5",
        },
        "GigabitEthernet1/0/5",
        ["switchport access vlan 20", "switchport mode access"],
        ["description pc-5", "no shutdown"],
        [
            "switchport port-security maximum 3",
            "switchport port-security violation restrict",
            "switchport port-security",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
        ],
        [
            "switchport mode access",
            "switchport access vlan 20",
            "port security mode max-addresses",
            "port security max 3",
            "port security discard trap 60",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
            "no shutdown",
        ],
    ),
    (
        # One MAC is IOS's default maximum, which IOS never shows: sending it would change the port
        # on every run. CBS has no such default, so it is written there.
        "access-with-port-security-1",
        {
            "name": "GigabitEthernet1/0/6",
            "mode": "access",
            "vlan": "kullanici",
            "port_security": 1,
            "description": "pc-6",
        },
        "GigabitEthernet1/0/6",
        ["switchport access vlan 20", "switchport mode access"],
        ["description pc-6", "no shutdown"],
        [
            "switchport port-security violation restrict",
            "switchport port-security",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
        ],
        [
            "switchport mode access",
            "switchport access vlan 20",
            "port security mode max-addresses",
            "port security max 1",
            "port security discard trap 60",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
            "no shutdown",
        ],
    ),
    (
        "access-shut-by-data",
        {
            "name": "GigabitEthernet1/0/7",
            "mode": "access",
            "vlan": "kamera",
            "shutdown": True,
            "description": "kamera-7",
        },
        "GigabitEthernet1/0/7",
        ["switchport access vlan 60", "switchport mode access"],
        ["description kamera-7", "shutdown"],
        ["spanning-tree portfast", "spanning-tree bpduguard enable"],
        [
            "switchport mode access",
            "switchport access vlan 60",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
            "shutdown",
        ],
    ),
    (
        "trunk-all-plan-vlans-native-yonetim",
        {
            "name": "TenGigabitEthernet1/1/1",
            "mode": "trunk",
            "vlans": "all",
            "native_vlan": "yonetim",
            "description": "uplink",
        },
        "TenGigabitEthernet1/1/1",
        ["switchport mode trunk", "switchport trunk native vlan 99", "switchport trunk allowed vlan 10,20,40,60,99"],
        ["description uplink", "no shutdown"],
        [],
        [
            "switchport mode trunk",
            "switchport trunk allowed vlan add 10,20,40,60,99",
            "switchport trunk native vlan 99",
            "no shutdown",
        ],
    ),
    (
        "trunk-specific-vlans-no-native",
        {"name": "TenGigabitEthernet1/1/2", "mode": "trunk", "vlans": ["yonetim", "kullanici"], "description": "ap-1"},
        "TenGigabitEthernet1/1/2",
        ["switchport mode trunk", "switchport trunk allowed vlan 20,99"],
        ["description ap-1", "no shutdown"],
        [],
        ["switchport mode trunk", "switchport trunk allowed vlan add 20,99", "no shutdown"],
    ),
    (
        "unused-port-parked-and-shut",
        None,
        "GigabitEthernet1/0/24",
        ["switchport access vlan 999", "switchport mode access"],
        ["description KULLANILMIYOR", "shutdown"],
        ["spanning-tree portfast", "spanning-tree bpduguard enable"],
        [
            'description "KULLANILMIYOR"',
            "switchport mode access",
            "switchport access vlan 999",
            "spanning-tree portfast",
            "spanning-tree bpduguard enable",
            "shutdown",
        ],
    ),
]


@pytest.mark.parametrize(
    ("port", "name", "l2", "interfaces", "lines", "cbs"),
    [row[1:] for row in PORT_ROWS],
    ids=[row[0] for row in PORT_ROWS],
)
def test_ios_port_renders_the_expected_commands(port, name, l2, interfaces, lines, cbs):
    del cbs
    config = switch.switch_ios_config(desired_for([port] if port else [], [name]))
    rendered_l2 = run_ios_module("ios_l2_interfaces", {"config": config["l2_interfaces"], "state": "rendered"})
    assert rendered_l2["rendered"] == [f"interface {name}", *l2]
    rendered_if = run_ios_module("ios_interfaces", {"config": config["interfaces"], "state": "rendered"})
    assert rendered_if["rendered"] == [f"interface {name}", *interfaces]
    port_blocks = [block for block in config["ios_config"] if block["kind"] == "port"]
    assert port_blocks == (
        [{"name": name, "parents": [f"interface {name}"], "lines": lines, "kind": "port"}] if lines else []
    )


@pytest.mark.parametrize(
    ("port", "name", "l2", "interfaces", "lines", "cbs"),
    [row[1:] for row in PORT_ROWS],
    ids=[row[0] for row in PORT_ROWS],
)
def test_cbs_port_renders_the_expected_interface_block(port, name, l2, interfaces, lines, cbs):
    del l2, interfaces, lines
    # A CBS350-24P-4G has no TenGigabitEthernet ports: its uplinks are GigabitEthernet1/0/25-28.
    name = name.replace("TenGigabitEthernet1/1/", "GigabitEthernet1/0/2")
    if port:
        port = {**port, "name": name}
    rendered = switch.cbs_render(desired_for([port] if port else [], [name], platform="cbs"))
    start = rendered.index(f"interface {name}")
    end = rendered.index("exit", start)
    description = [f'description "{port["description"]}"'] if port else []
    assert rendered[start + 1 : end] == description + cbs


def test_vlans_of_the_site_and_the_parking_vlan_are_rendered():
    config = switch.switch_ios_config(desired_for([], []))
    rendered = run_ios_module("ios_vlans", {"config": config["vlans"], "state": "rendered"})["rendered"]
    expected = []
    for key, vlan_id in sorted(PLAN_IDS.items(), key=lambda item: item[1]):
        expected += [f"vlan {vlan_id}", f"name {key}"]
    assert rendered == [*expected, "vlan 999", "name PARK"]


def test_snmp_is_v3_authpriv_only_and_keys_are_masked():
    config = switch.switch_ios_config(desired_for([], []))
    rendered = run_ios_module("ios_snmp_server", {"config": config["snmp_server"], "state": "rendered"})["rendered"]
    assert rendered == [
        "snmp-server group bim-ro v3 priv",
        "snmp-server user bim-snmp bim-ro v3 auth sha ******** priv aes 128 ********",
    ]
    assert not any("community" in line for line in rendered)


def test_ntp_and_syslog_go_to_the_servers_of_the_data():
    desired = desired_for([], [])
    config = switch.switch_ios_config(desired)
    ntp = run_ios_module("ios_ntp_global", {"config": config["ntp_global"], "state": "rendered"})["rendered"]
    assert (
        ntp
        == [f"ntp server {server}" for server in desired["ntp_servers"]]
        == ["ntp server 10.10.99.2", "ntp server 10.10.99.3"]
    )
    logging = run_ios_module("ios_logging_global", {"config": config["logging_global"], "state": "rendered"})[
        "rendered"
    ]
    assert logging == ["logging trap informational", "logging host 10.10.10.11"]


@pytest.mark.parametrize(
    ("aaa", "methods"),
    [
        ({}, "local"),
        (
            {"tacacs_servers": [{"name": "TAC1", "address": "10.10.10.40", "key": "stubTacacsKey0"}]},
            "group BIM-TACACS local",
        ),
        (
            {"radius_servers": [{"name": "RAD1", "address": "10.10.10.41", "key": "stubRadiusKey0"}]},
            "group BIM-RADIUS local",
        ),
    ],
    ids=["local-only", "tacacs-then-local", "radius-then-local"],
)
def test_ios_management_lines_are_ssh_only_with_aaa(aaa, methods):
    inputs = fixture_inputs("sw-test-ios")
    inputs.update(switch_ports=[], switch_all_ports=[], switch_aaa=aaa)
    blocks = switch.switch_ios_config(switch.switch_desired(inputs, NETWORKS))["ios_config"]
    base = next(block for block in blocks if block["kind"] == "base")
    assert base["lines"] == ["ip ssh version 2", "no ip http server", "no ip http secure-server", "aaa new-model"]
    vtys = [block for block in blocks if block["parents"] and block["parents"][0].startswith("line vty")]
    assert [block["lines"] for block in vtys] == [["login authentication default", "transport input ssh"]] * 2
    auth = next(block for block in blocks if block["name"].startswith("AAA"))
    assert auth["lines"][0] == f"aaa authentication login default {methods}"
    secrets = [block for block in blocks if block["kind"] == "secret"]
    servers = aaa.get("tacacs_servers", []) + aaa.get("radius_servers", [])
    assert [block["lines"] for block in secrets] == [
        [f"address ipv4 {s['address']}", f"key {s['key']}"] for s in servers
    ]


def test_cbs_management_lines_are_ssh_only_snmpv3_and_banner():
    desired = desired_for([], [], platform="cbs")
    rendered = switch.cbs_render(desired)
    for line in (
        "no ip telnet server",
        "ip ssh server",
        "no ip http server",
        "no ip http secure-server",
        "snmp-server group bim-ro v3 priv",
        "sntp server 10.10.99.2 poll",
        "logging host 10.10.10.11",
        "username ansible password stubSwitchAdmin0 privilege 15",
    ):
        assert line in rendered
    assert f"banner login ^{desired['banner']}^" in rendered
    assert not any(line.startswith("snmp-server community") for line in rendered)
    assert rendered[:4] == ["hostname sw-test-cbs", "vlan database", "vlan 10,20,40,60,99,999", "exit"]

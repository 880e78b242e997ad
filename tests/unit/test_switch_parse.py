"""Parsing: the saved running configurations of tests/unit/fixtures/switch read by the real cisco.ios
modules (state parsed) and by the role's own parsers (ios_parse, cbs_parse). The expected values
are those written in the fixtures; the own IOS parser must agree with cisco.ios port by port."""

from __future__ import annotations

import pytest
import switch
from switchtools import FIXTURES, run_ios_module

IOS_TEXT = (FIXTURES / "sw-test-ios.cfg").read_text()
CBS_TEXT = (FIXTURES / "sw-test-cbs.cfg").read_text()


def parsed(module: str):
    return run_ios_module(module, {"running_config": IOS_TEXT, "state": "parsed"})["parsed"]


def test_ios_vlans_reads_show_vlan_not_the_running_config():
    # cisco.ios.ios_vlans parses "show vlan" output, not "show running-config": on the running
    # configuration it finds nothing, which is why the drift report reads VLANs with ios_parse.
    assert parsed("ios_vlans") == {}
    assert switch.ios_parse(IOS_TEXT)["vlans"] == {
        10: "sunucu",
        20: "kullanici",
        40: "yazici",
        99: "yonetim",
        999: "PARK",
    }


# (port, what cisco.ios.ios_l2_interfaces reads from the fixture)
L2_ROWS = [
    ("GigabitEthernet1/0/1", {"mode": "access", "access": {"vlan": 20}}),
    ("GigabitEthernet1/0/2", {"mode": "access", "access": {"vlan": 20}}),
    ("GigabitEthernet1/0/3", {"mode": "access", "access": {"vlan": 999}}),
    ("GigabitEthernet1/0/24", {}),
    (
        "TenGigabitEthernet1/1/1",
        {"mode": "trunk", "trunk": {"native_vlan": 99, "allowed_vlans": ["10", "20", "40", "60", "99"]}},
    ),
    ("TenGigabitEthernet1/1/2", {"mode": "trunk", "trunk": {"allowed_vlans": ["20", "99"]}}),
]


@pytest.mark.parametrize(("name", "expected"), L2_ROWS, ids=[row[0] for row in L2_ROWS])
def test_ios_l2_interfaces_parsed(name, expected):
    ports = {item["name"]: {k: v for k, v in item.items() if k != "name"} for item in parsed("ios_l2_interfaces")}
    assert ports[name] == expected


@pytest.mark.parametrize(
    ("name", "enabled", "description"),
    [
        ("GigabitEthernet1/0/1", True, "pc-1"),
        ("GigabitEthernet1/0/5", False, "KULLANILMIYOR"),
        ("GigabitEthernet1/0/24", True, None),
        ("TenGigabitEthernet1/1/1", True, "uplink"),
    ],
)
def test_ios_interfaces_parsed(name, enabled, description):
    ports = {item["name"]: item for item in parsed("ios_interfaces")}
    assert ports[name]["enabled"] is enabled
    assert ports[name].get("description") == description


def test_ios_snmp_ntp_logging_parsed():
    snmp = parsed("ios_snmp_server")
    assert snmp["communities"] == [{"name": "public", "ro": True}]
    assert snmp["groups"] == [{"group": "bim-ro", "version": "v3", "version_option": "priv"}]
    assert parsed("ios_ntp_global")["servers"] == [{"server": "10.10.99.2"}, {"server": "10.10.99.3"}]
    logging = parsed("ios_logging_global")
    assert logging["hosts"] == [{"host": "10.10.10.11"}]
    assert logging["trap"] == "informational"


def test_own_ios_parser_agrees_with_cisco_ios_on_every_port():
    mine = switch.ios_parse(IOS_TEXT)["ports"]
    l2 = {item["name"]: item for item in parsed("ios_l2_interfaces")}
    interfaces = {item["name"]: item for item in parsed("ios_interfaces")}
    compared = 0
    for name, item in l2.items():
        if name not in mine:
            continue
        compared += 1
        port = mine[name]
        assert port["mode"] == item.get("mode"), name
        if item.get("mode") == "access":
            assert port["access_vlan"] == item["access"]["vlan"], name
        if item.get("mode") == "trunk":
            assert port["allowed_vlans"] == [int(vlan) for vlan in item["trunk"]["allowed_vlans"]], name
            assert port["native_vlan"] == item["trunk"].get("native_vlan", 1), name
        assert port["shutdown"] is (not interfaces[name]["enabled"]), name
        assert port["description"] == interfaces[name].get("description", ""), name
    assert compared == 1 + 24 + 4 + 4  # Gi0/0 (management), Gi1/0/1-24, Gi1/1/1-4, Te1/1/1-4


def test_own_ios_parser_reads_what_cisco_ios_has_no_resource_for():
    state = switch.ios_parse(IOS_TEXT)
    assert state["users"] == ["ansible", "bim-acil", "eski-admin"]
    assert state["vty_transport"] == {"vty 0 4": "ssh", "vty 5 15": "telnet ssh"}
    assert state["telnet"] is True
    assert state["http"] is False
    assert state["https"] is False
    assert state["banner"] == "YETKISIZ ERISIM YASAKTIR. Tum baglantilar kayit altina alinir."
    port = state["ports"]["GigabitEthernet1/0/1"]
    assert (port["port_security"], port["portfast"], port["bpduguard"]) == (2, True, True)
    assert state["ports"]["GigabitEthernet1/0/2"]["port_security"] is None


def test_cbs_parser_reads_the_cbs350_fixture():
    state = switch.cbs_parse(CBS_TEXT)
    assert state["vlans"] == {10: "sunucu", 20: "kullanici", 40: "yazici", 99: "yonetim", 999: "PARK"}
    assert state["users"] == ["ansible", "bim-acil", "cisco"]
    assert state["snmp_communities"] == ["public"]
    assert state["snmp_groups"] == ["bim-ro v3 priv"]
    assert state["ntp_servers"] == ["10.10.99.2", "10.10.99.3"]
    assert state["syslog_hosts"] == ["10.10.10.11"]
    assert state["telnet"] is True  # no "no ip telnet server" in the fixture
    assert state["banner"] == "YETKISIZ ERISIM YASAKTIR. Tum baglantilar kayit altina alinir."
    assert len(state["ports"]) == 28
    assert state["ports"]["GigabitEthernet1/0/1"] | {} == {
        "name": "GigabitEthernet1/0/1",
        "mode": "access",
        "access_vlan": 20,
        "allowed_vlans": [],
        "native_vlan": 1,
        "description": "pc-1",
        "shutdown": False,
        "port_security": 2,
        "portfast": True,
        "bpduguard": True,
    }
    uplink = state["ports"]["GigabitEthernet1/0/25"]
    assert (uplink["mode"], uplink["allowed_vlans"], uplink["native_vlan"]) == ("trunk", [20, 40, 60, 99], 99)
    assert state["ports"]["GigabitEthernet1/0/3"]["shutdown"] is True


@pytest.mark.parametrize("parser", [switch.ios_parse, switch.cbs_parse])
def test_parsers_refuse_what_is_not_text(parser):
    with pytest.raises(Exception, match="expected the running configuration as text"):
        parser(None)

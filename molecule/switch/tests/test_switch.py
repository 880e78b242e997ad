"""Verifier of the switch scenario: the fake IOS switch's running-config, read over SSH with paramiko
(host key checked against the scenario's known_hosts), against the scenario's data in molecule.yml;
and the run ledger of the scenario (check, converge, idempotence), enabled in molecule.yml."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import fakectl  # noqa: E402 - the scenario's helper lives next to molecule.yml

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
SCENARIO = yaml.safe_load((HERE.parent / "molecule.yml").read_text(encoding="utf-8"))
DATA = SCENARIO["provisioner"]["inventory"]["group_vars"]["switches"]
SITE = DATA["ipplan"]["sites"][DATA["switch_site"]]
PARKING = 999  # the role's default switch_parking_vlan, not overridden by the scenario


def config_lines(text):
    """The configuration lines, without the header IOS prints before them and without blank lines."""
    return [
        line.rstrip()
        for line in text.replace("\r\n", "\n").split("\n")
        if line.strip() and not line.startswith(("Building configuration", "Current configuration"))
    ]


def blocks(text):
    """{top-level line: [its indented lines]} of a running-config."""
    result, current = {}, None
    for line in config_lines(text):
        if line.startswith(" "):
            if current is not None:
                result[current].append(line.strip())
        else:
            current = line
            result.setdefault(current, [])
    return result


def expand(ranges):
    ports = []
    for item in ranges:
        match = re.fullmatch(r"(.*/)(\d+)-(\d+)", item)
        if match:
            ports += [f"{match.group(1)}{n}" for n in range(int(match.group(2)), int(match.group(3)) + 1)]
        else:
            ports.append(item)
    return ports


@pytest.fixture(scope="module")
def running():
    if not (EPHEMERAL / "port").is_file():
        pytest.fail(f"the scenario's switch is not running (no {EPHEMERAL / 'port'}); run it through molecule")
    return fakectl.running_config(EPHEMERAL)


@pytest.fixture(scope="module")
def config(running):
    return blocks(running)


def test_the_check_run_sent_no_configuration():
    initial = config_lines((EPHEMERAL / "running-initial.cfg").read_text(encoding="utf-8"))
    after = config_lines((EPHEMERAL / "running-after-check.cfg").read_text(encoding="utf-8"))
    assert after == initial
    # The fresh switch lacks the site's VLANs: the plan was not empty.
    assert not any(line.startswith("vlan ") for line in initial)


def ledger_runs():
    lines = (EPHEMERAL / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    runs = [json.loads(line) for line in lines]
    return [run for run in runs if any(book.endswith("converge.yml") for book in run["playbooks"])]


def test_the_ledger_shows_a_plan_then_an_apply_then_nothing_to_do():
    runs = ledger_runs()
    assert [run["mode"] for run in runs] == ["check", "apply", "apply"], [r["mode"] for r in runs]
    check, converge, idempotence = runs
    host = SCENARIO["platforms"][0]["name"]
    role_changes = [c for c in check["changes"] if c["host"] == host and c["play"] == "Switches follow their data"]
    assert role_changes, "the check run on the fresh switch planned no change"
    assert converge["hosts"][host]["changed"] > 0
    assert idempotence["hosts"][host]["changed"] == 0, idempotence["changes"]
    assert all(run["status"] == "ok" for run in runs)


def test_the_site_vlans_and_the_parking_vlan_exist(config):
    for key, vlan in SITE["vlans"].items():
        assert f"vlan {vlan['id']}" in config, key
    assert f"vlan {PARKING}" in config
    assert "name PARK" in config[f"vlan {PARKING}"]


def vlan_id(key):
    return SITE["vlans"][key]["id"]


@pytest.mark.parametrize("port", [p for p in DATA["switch_ports"] if p["mode"] == "access"], ids=lambda p: p["name"])
def test_access_ports_are_in_their_vlan_with_port_security_and_bpdu_guard(config, port):
    lines = config[f"interface {port['name']}"]
    assert "switchport mode access" in lines
    assert f"switchport access vlan {vlan_id(port['vlan'])}" in lines
    assert f"description {port['description']}" in lines
    assert "switchport port-security" in lines
    maximum = [line for line in lines if line.startswith("switchport port-security maximum ")]
    # IOS shows the maximum only when it is not the default, 1.
    assert maximum == (
        [] if port["port_security"] == 1 else [f"switchport port-security maximum {port['port_security']}"]
    )
    assert "switchport port-security violation restrict" in lines
    assert "spanning-tree portfast" in lines
    assert "spanning-tree bpduguard enable" in lines
    assert "shutdown" not in lines


@pytest.mark.parametrize("port", [p for p in DATA["switch_ports"] if p["mode"] == "trunk"], ids=lambda p: p["name"])
def test_the_trunk_carries_only_its_vlans(config, port):
    lines = config[f"interface {port['name']}"]
    assert "switchport mode trunk" in lines
    allowed = next(line for line in lines if line.startswith("switchport trunk allowed vlan "))
    ids = set()
    for part in allowed.rsplit(None, 1)[1].split(","):
        low, _, high = part.partition("-")
        ids |= set(range(int(low), int(high or low) + 1))
    assert ids == {vlan_id(key) for key in port["vlans"]}
    native = vlan_id(port["native_vlan"])
    assert native == 1 or f"switchport trunk native vlan {native}" in lines
    assert "shutdown" not in lines


def test_unused_ports_are_shut_in_the_parking_vlan(config):
    used = {p["name"] for p in DATA["switch_ports"]}
    unused = [name for name in expand(DATA["switch_all_ports"]) if name not in used]
    assert unused
    for name in unused:
        lines = config[f"interface {name}"]
        assert "shutdown" in lines, name
        assert "switchport mode access" in lines, name
        assert f"switchport access vlan {PARKING}" in lines, name
        assert "description KULLANILMIYOR" in lines, name


def test_vty_lines_take_ssh_only_and_the_web_server_is_off(config):
    vty = [line for line in config if line.startswith("line vty ")]
    assert vty
    for line in vty:
        assert "transport input ssh" in config[line], line
        assert not any("telnet" in sub for sub in config[line]), line
    assert "no ip http server" in config
    assert "no ip http secure-server" in config
    assert "ip ssh version 2" in config


def test_the_login_banner_carries_the_legal_warning(running):
    text = running.replace("\r\n", "\n")
    match = re.search(r"^banner login \^C\n(.*?)\^C", text, re.S | re.M)
    assert match, "no login banner"
    assert "UYARI" in match.group(1)
    assert "WARNING: Authorised personnel only." in match.group(1)


def test_snmp_is_v3_only(config):
    assert not [line for line in config if line.startswith("snmp-server community")]
    group = DATA["switch_snmpv3_group"]
    assert f"snmp-server group {group} v3 priv" in config
    users = fakectl.run(EPHEMERAL, ["show snmp user"])
    assert f"User name: {DATA['switch_snmpv3_user']}" in users


def test_ntp_and_logging_hosts(config):
    for server in DATA["switch_ntp_servers"]:
        ipaddress.ip_address(server)
        assert f"ntp server {server}" in config
    for host in DATA["switch_syslog_hosts"]:
        assert f"logging host {host}" in config


def test_the_local_user_exists_and_no_secret_is_left_in_the_repository(config):
    # ios_user sends the privilege and the secret as two commands; real IOS shows one line, the fake two.
    user = " ".join(line for line in config if line.startswith("username bimadmin "))
    assert " privilege 15" in user
    assert " secret " in user
    for name in fakectl.PRIVATE:
        assert not (HERE.parent / name).exists()

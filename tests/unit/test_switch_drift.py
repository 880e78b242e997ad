"""Drift: a parsed running configuration compared with the desired state, and the drift playbook
run offline on the saved configurations of tests/unit/fixtures/switch (no switch is contacted:
the fixture inventory points at a closed loopback port, so a task that connected would fail)."""

from __future__ import annotations

import ipplan
import switch
from switchtools import FIXTURES, INVENTORY, ROOT, fixture_inputs, fixture_plan, run_ios_module, run_playbook

NETWORKS = ipplan.ipplan_networks(fixture_plan())

# What differs in each fixture from the data of tests/unit/fixtures/switch/inventory.yml; every
# line points at something written in the fixture's .cfg file.
IOS_DRIFT = [
    "VLAN 60 (kamera) is missing",  # no "vlan 60"
    "port GigabitEthernet1/0/2: access VLAN is 20, expected 40",  # yazici-1 in VLAN 20
    "port GigabitEthernet1/0/24: mode is dynamic (not set), expected access",  # unused port left as is
    "port GigabitEthernet1/0/24: access VLAN is 1, expected 999",
    "port GigabitEthernet1/0/24: spanning-tree portfast and bpduguard are not both on",
    "port GigabitEthernet1/0/24: is up, expected shut down",
    "port GigabitEthernet1/0/24: description is '', expected 'KULLANILMIYOR'",
    "local user 'eski-admin' exists but is not in switch_local_users",  # username eski-admin
    "SNMP community 'pu***' is configured (SNMPv3 only)",  # snmp-server community public RO
    "telnet is enabled (vty transport or telnet server)",  # line vty 5 15: telnet ssh
    "line vty 5 15: transport input is 'telnet ssh', expected 'ssh'",
]
CBS_DRIFT = [
    "VLAN 60 (kamera) is missing",  # vlan database: 10,20,40,99,999
    "port GigabitEthernet1/0/2: access VLAN is 20, expected 40",
    "local user 'cisco' exists but is not in switch_local_users",  # the factory user is still there
    "SNMP community 'pu***' is configured (SNMPv3 only)",
    "telnet is enabled (vty transport or telnet server)",  # no "no ip telnet server"
]


def desired(host: str) -> dict:
    return switch.switch_desired(fixture_inputs(host), NETWORKS)


def test_ios_fixture_drift_is_listed():
    actual = switch.ios_parse((FIXTURES / "sw-test-ios.cfg").read_text())
    assert switch.switch_drift(desired("sw-test-ios"), actual) == IOS_DRIFT


def test_cbs_fixture_drift_is_listed():
    actual = switch.cbs_parse((FIXTURES / "sw-test-cbs.cfg").read_text())
    assert switch.switch_drift(desired("sw-test-cbs"), actual) == CBS_DRIFT


def test_drift_never_quotes_a_secret():
    for host, parse in (("sw-test-ios", switch.ios_parse), ("sw-test-cbs", switch.cbs_parse)):
        want = desired(host)
        report = " ".join(switch.switch_drift(want, parse("")))
        for secret in ("stubSwitchAdmin0", "stubBreakGlass0", "stubSnmpAuthKey0", "stubSnmpPrivKey0", "public"):
            assert secret not in report


def test_cbs_rendered_configuration_has_no_drift():
    want = desired("sw-test-cbs")
    assert switch.switch_drift(want, switch.cbs_parse("\n".join(switch.cbs_render(want)))) == []


def _ios_running_config(want: dict) -> str:
    """An IOS running configuration made of what the cisco.ios modules render for the desired state
    (as a switch would print it after applying them): no secrets, blocks indented."""
    config = switch.switch_ios_config(want)
    lines: list[str] = []
    vlans = run_ios_module("ios_vlans", {"config": config["vlans"], "state": "rendered"})["rendered"]
    for line in vlans:
        lines.append(line if line.startswith("vlan ") else f" {line}")
    per_port: dict[str, list[str]] = {}
    for module in ("ios_interfaces", "ios_l2_interfaces"):
        current = None
        for line in run_ios_module(module, {"config": config[module[4:]], "state": "rendered"})["rendered"]:
            if line.startswith("interface "):
                current = per_port.setdefault(line, [])
            elif line != "no shutdown":  # IOS does not print the default
                current.append(line)
    for block in config["ios_config"]:
        if block["kind"] == "port":
            per_port[block["parents"][0]].extend(block["lines"])
        elif block["parents"]:
            lines += block["parents"] + [f" {line}" for line in block["lines"]]
        else:
            lines += block["lines"]
    for header, body in per_port.items():
        lines += [header, *(f" {line}" for line in body), "!"]
    lines += [f"username {user['name']} privilege {user['privilege']} secret 9 $9$x$y" for user in want["users"]]
    snmp = dict(config["snmp_server"])
    snmp.pop("users")  # IOS keeps SNMPv3 users out of the running configuration
    lines += run_ios_module("ios_snmp_server", {"config": snmp, "state": "rendered"})["rendered"]
    lines += run_ios_module("ios_ntp_global", {"config": config["ntp_global"], "state": "rendered"})["rendered"]
    lines += run_ios_module("ios_logging_global", {"config": config["logging_global"], "state": "rendered"})["rendered"]
    lines += ["banner login ^C", want["banner"], "^C", "end"]
    return "\n".join(lines) + "\n"


def test_ios_rendered_configuration_has_no_drift():
    want = desired("sw-test-ios")
    assert switch.switch_drift(want, switch.ios_parse(_ios_running_config(want))) == []


def test_drift_playbook_writes_reports_offline(tmp_path):
    reports = tmp_path / "reports"
    result = run_playbook(
        ROOT / "playbooks" / "switch-drift.yml",
        INVENTORY,
        "-e",
        f"switch_drift_running_config_dir={FIXTURES}",
        "-e",
        f"switch_drift_report_dir={reports}",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for host, expected in (("sw-test-ios", IOS_DRIFT), ("sw-test-cbs", CBS_DRIFT)):
        text = (reports / f"switch-drift-{host}.md").read_text()
        assert f"- Differences: {len(expected)}" in text
        for line in expected:
            assert line in text
        assert "stubSwitchAdmin0" not in text
        assert "stubSnmpAuthKey0" not in text
    # The secrets of the desired state never reach the output either.
    assert "stubSnmpPrivKey0" not in result.stdout


def test_drift_playbook_can_fail_on_drift(tmp_path):
    result = run_playbook(
        ROOT / "playbooks" / "switch-drift.yml",
        INVENTORY,
        "--limit",
        "sw-test-cbs",
        "-e",
        f"switch_drift_running_config_dir={FIXTURES}",
        "-e",
        f"switch_drift_report_dir={tmp_path}",
        "-e",
        "switch_drift_fail=true",
        tmp_path=tmp_path,
    )
    assert result.returncode != 0
    assert "host sw-test-cbs: 5 difference(s) from the data" in result.stdout

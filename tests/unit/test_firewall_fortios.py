"""FortiOS payloads of the firewall policy (plugins/filter/firewall.py: firewall_fortios).

Every payload is checked against the argument spec of the fortinet.fortios module it is meant for
(the spec the module builds from its own versioned schema), then against the policy it came from.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from firewall import firewall_fortios
from test_firewall_policy import IPPLAN, sound_policy

fortios_utils = pytest.importorskip("ansible_collections.fortinet.fortios.plugins.module_utils.fortios.fortios")

PAYLOAD_MODULES = {
    "addresses": "fortios_firewall_address",
    "addrgrps": "fortios_firewall_addrgrp",
    "services": "fortios_firewall_service_custom",
    "service_groups": "fortios_firewall_service_group",
    "ippools": "fortios_firewall_ippool",
    "policies": "fortios_firewall_policy",
    "local_in_policies": "fortios_firewall_local_in_policy",
    "log_setting": "fortios_log_setting",
}
TYPES = {"str": str, "int": int, "list": list, "dict": dict}


def module_options(module: str) -> dict:
    mod = importlib.import_module(f"ansible_collections.fortinet.fortios.plugins.modules.{module}")
    return fortios_utils.schema_to_module_spec(mod.versioned_schema)["options"]


def spec_problems(payload: dict, options: dict, where: str) -> list[str]:
    problems = []
    for key, value in payload.items():
        spec = options.get(key)
        if spec is None:
            problems.append(f"{where}: {key} is not an option of the module")
            continue
        if not isinstance(value, TYPES[spec["type"]]):
            problems.append(f"{where}: {key} should be {spec['type']}, is {type(value).__name__}")
        if "choices" in spec and value not in spec["choices"]:
            problems.append(f"{where}: {key} {value!r} is not one of {spec['choices']}")
        if spec["type"] == "list" and spec.get("elements") == "dict":
            for item in value:
                problems += spec_problems(item, spec.get("options", {}), f"{where}.{key}")
    return problems


def with_nat_pool() -> dict:
    policy = sound_policy()
    policy["zones"]["sunucu"] = {"interfaces": ["port5", "port6"]}
    policy["addresses"]["sunucu_agi"] = {"network": "10.10.10.0/24", "comment": "sunucular"}
    policy["rules"].append(
        {
            "name": "sunucu-web",
            "from": "sunucu",
            "to": "dis",
            "source": "sunucu_agi",
            "service": "web",
            "action": "accept",
            "ips_sensor": "default",
            "log_level": "utm",
        }
    )
    policy["nat"].append(
        {"name": "sunucu-cikis", "from": "sunucu", "to": "dis", "source": "sunucu_agi", "translate": "havuz"}
    )
    return policy


@pytest.mark.parametrize("kind", sorted(PAYLOAD_MODULES))
def test_every_payload_fits_its_modules_argument_spec(kind):
    payloads = firewall_fortios(with_nat_pool(), IPPLAN)[kind]
    items = payloads if isinstance(payloads, list) else [payloads]
    assert items, f"the test policy should give at least one {kind} payload"
    options = module_options(PAYLOAD_MODULES[kind])
    problems = []
    for index, item in enumerate(items):
        problems += spec_problems(item, options, f"{kind}[{index}]")
    assert problems == []


def test_address_objects_map_to_addresses_and_groups():
    policy = with_nat_pool()
    out = firewall_fortios(policy, IPPLAN)
    by_name = {item["name"]: item for item in out["addresses"]}
    assert by_name["log01"]["subnet"] == f"{policy['addresses']['log01']['address']} 255.255.255.255"
    assert by_name["sunucu_agi"]["subnet"] == "10.10.10.0 255.255.255.0"
    assert by_name["sunucu_agi"]["comment"] == "belediye-iac: sunucular"
    # a VLAN object takes its subnet from the plan
    assert by_name["misafir_agi"]["subnet"] == "10.40.48.0 255.255.252.0"
    low, high = policy["addresses"]["havuz"]["range"].split("-")
    assert (by_name["havuz"]["type"], by_name["havuz"]["start_ip"], by_name["havuz"]["end_ip"]) == (
        "iprange",
        low,
        high,
    )
    groups = {item["name"]: item for item in out["addrgrps"]}
    assert groups["dns_sunuculari"]["member"] == [{"name": m} for m in policy["addresses"]["dns_sunuculari"]["members"]]
    assert set(by_name) | set(groups) == set(policy["addresses"])


def test_services_map_to_port_ranges_and_icmp():
    out = firewall_fortios(sound_policy(), IPPLAN)
    by_name = {item["name"]: item for item in out["services"]}
    assert by_name["https"]["tcp_portrange"] == "443"
    assert by_name["yuksek"]["tcp_portrange"] == "8000-8080"
    assert by_name["dns"]["udp_portrange"] == "53"
    assert "tcp_portrange" not in by_name["dns"]
    assert (by_name["ping"]["protocol"], by_name["ping"]["icmptype"]) == ("ICMP", 8)
    assert [g["name"] for g in out["service_groups"]] == ["web"]
    assert out["service_groups"][0]["member"] == [{"name": "http"}, {"name": "https"}]


def test_rules_map_to_policies_in_order_with_stable_ids():
    policy = with_nat_pool()
    out = firewall_fortios(policy, IPPLAN)
    forward = [(pos, rule) for pos, rule in enumerate(policy["rules"], start=1) if rule["to"] != "self"]
    assert [(p["policyid"], p["name"]) for p in out["policies"]] == [(pos * 10, r["name"]) for pos, r in forward]
    by_name = {p["name"]: p for p in out["policies"]}
    web = by_name["misafir-web"]
    zones = policy["zones"]
    assert web["srcintf"] == [{"name": i} for i in zones["misafir"]["interfaces"]]
    assert web["dstintf"] == [{"name": i} for i in zones["dis"]["interfaces"]]
    assert web["srcaddr"] == [{"name": "misafir_agi"}]
    assert web["dstaddr"] == [{"name": "all"}]
    assert web["service"] == [{"name": "web"}]
    assert (web["action"], web["schedule"], web["logtraffic"]) == ("accept", "always", "all")
    # web filter profile on the policy switches the security profiles on
    assert (web["utm_status"], web["webfilter_profile"]) == ("enable", "misafir-web")
    # a zone with two interfaces lists both
    assert by_name["sunucu-web"]["srcintf"] == [{"name": "port5"}, {"name": "port6"}]
    assert (by_name["sunucu-web"]["ips_sensor"], by_name["sunucu-web"]["logtraffic"]) == ("default", "utm")
    # reject is deny with a deny packet; no NAT or profiles on a deny policy
    reject = by_name["yonetim-log"]
    assert (reject["action"], reject["send_deny_packet"], reject["logtraffic"]) == ("deny", "enable", "disable")
    assert "nat" not in reject
    assert "utm_status" not in reject


def test_nat_rules_become_nat_on_the_policies_they_cover():
    out = firewall_fortios(with_nat_pool(), IPPLAN)
    by_name = {p["name"]: p for p in out["policies"]}
    # masquerade: the egress interface's address, no pool
    assert (by_name["misafir-web"]["nat"], by_name["misafir-dns"]["nat"]) == ("enable", "enable")
    assert "ippool" not in by_name["misafir-web"]
    # an address/range translation becomes an IP pool named after the object
    assert (by_name["sunucu-web"]["nat"], by_name["sunucu-web"]["ippool"]) == ("enable", "enable")
    assert by_name["sunucu-web"]["poolname"] == [{"name": "havuz"}]
    assert out["ippools"] == [
        {
            "name": "havuz",
            "type": "overload",
            "startip": "192.0.2.10",
            "endip": "192.0.2.12",
            "comments": "belediye-iac",
        }
    ]


def test_rules_to_self_become_local_in_policies_per_interface():
    policy = sound_policy()
    policy["zones"]["yonetim"]["interfaces"] = ["port2", "port3"]
    out = firewall_fortios(policy, IPPLAN)
    assert "yonetim-ssh" not in [p["name"] for p in out["policies"]]
    assert [(p["policyid"], p["intf"]) for p in out["local_in_policies"]] == [(10, "port2"), (11, "port3")]
    assert all(
        p["srcaddr"] == [{"name": "yonetim_agi"}] and p["service"] == [{"name": "ssh"}]
        for p in out["local_in_policies"]
    )


def test_a_rule_to_self_and_a_zone_gives_a_policy_and_local_in_policies():
    policy = sound_policy()
    policy["rules"].append(
        {
            "name": "misafir-ping",
            "from": "misafir",
            "to": ["self", "dis"],
            "source": "misafir_agi",
            "service": "ping",
            "action": "accept",
        }
    )
    out = firewall_fortios(policy, IPPLAN)
    position = len(policy["rules"])
    ping = [p for p in out["policies"] if p["name"] == "misafir-ping"]
    assert len(ping) == 1
    assert ping[0]["policyid"] == position * 10
    assert ping[0]["dstintf"] == [{"name": i} for i in policy["zones"]["dis"]["interfaces"]]
    # misafir-cikis (misafir -> dis, misafir_agi, masquerade) covers the part through the firewall
    assert ping[0]["nat"] == "enable"
    local = [p for p in out["local_in_policies"] if p["comments"].startswith("misafir-ping")]
    assert [(p["policyid"], p["intf"]) for p in local] == [
        (position * 10, i) for i in policy["zones"]["misafir"]["interfaces"]
    ]


@pytest.mark.parametrize(("log_unmatched", "expected"), [(True, "enable"), (False, "disable")])
def test_unmatched_logging_is_the_implicit_deny_log(log_unmatched, expected):
    policy = sound_policy()
    policy["log_unmatched"] = log_unmatched
    assert firewall_fortios(policy, IPPLAN)["log_setting"]["fwpolicy_implicit_log"] == expected


def test_the_offline_run_writes_the_payloads_the_filter_builds(tmp_path):
    """playbooks/firewalls.yml with firewall_fortios_offline: no FortiGate is contacted (the host's
    address is loopback and nothing listens there); the report holds the filter's payloads."""
    root = Path(__file__).resolve().parents[2]
    policy = with_nat_pool()
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "firewalls": {
                            "children": {"fortios_firewalls": {"hosts": {"fw-test": {"ansible_host": "127.0.0.1"}}}}
                        }
                    }
                }
            }
        )
    )
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "fortios_firewalls.yml").write_text(
        yaml.safe_dump(
            {
                "firewall_platform": "fortios",
                "ansible_connection": "ansible.netcommon.httpapi",
                "ansible_network_os": "fortinet.fortios.fortios",
                "firewall_fortios_offline": True,
                "firewall_fortios_report_dir": str(tmp_path / "report"),
                "firewall_policy": policy,
                "ipplan": IPPLAN,
            }
        )
    )
    result = subprocess.run(
        [str(root / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), "playbooks/firewalls.yml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CACHE_PLUGIN": "memory"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report" / "fw-test.json").read_text())
    assert report["host"] == "fw-test"
    assert report["vdom"] == "root"
    assert report["payloads"] == firewall_fortios(policy, IPPLAN)

"""Checks of the vendor-neutral firewall policy (plugins/filter/firewall.py: firewall_policy_check).

Each row of PROBLEMS changes one thing in a sound policy and names the message that must come back.
"""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from firewall import firewall_fortios, firewall_nftables, firewall_policy_check, firewall_self_verdict

IPPLAN = {
    "domain": "test.bel.tr",
    "sites": {
        "kultur": {
            "supernet": "10.40.0.0/16",
            "vlans": {
                "misafir": {"id": 48, "subnet": "10.40.48.0/22", "gateway": "10.40.48.1"},
                "yonetim": {"id": 99, "subnet": "10.40.99.0/24", "gateway": "10.40.99.1"},
            },
        }
    },
}


def sound_policy() -> dict:
    return {
        "zones": {
            "misafir": {"interfaces": ["eth1"], "vlans": ["kultur/misafir"]},
            "yonetim": {"interfaces": ["eth2"]},
            "dis": {"interfaces": ["eth0"]},
        },
        "addresses": {
            "misafir_agi": {"vlan": "kultur/misafir"},
            "yonetim_agi": {"network": "10.40.99.0/24"},
            "log01": {"address": "10.10.10.21"},
            "dc01": {"address": "10.10.10.5"},
            "dc02": {"address": "10.10.10.6"},
            "dns_sunuculari": {"members": ["dc01", "dc02"]},
            "havuz": {"range": "192.0.2.10-192.0.2.12"},
        },
        "services": {
            "http": {"protocol": "tcp", "ports": [80]},
            "https": {"protocol": "tcp", "ports": [443]},
            "web": {"members": ["http", "https"]},
            "dns": {"protocol": "udp", "ports": [53]},
            "ssh": {"protocol": "tcp", "ports": [22]},
            "yuksek": {"protocol": "tcp", "ports": ["8000-8080"]},
            "ping": {"protocol": "icmp"},
        },
        "rules": [
            {
                "name": "yonetim-ssh",
                "from": "yonetim",
                "to": "self",
                "source": "yonetim_agi",
                "service": "ssh",
                "action": "accept",
            },
            {
                "name": "misafir-dns",
                "from": "misafir",
                "to": "dis",
                "source": "misafir_agi",
                "destination": "dns_sunuculari",
                "service": "dns",
                "action": "accept",
                "log": True,
            },
            {
                "name": "misafir-web",
                "from": "misafir",
                "to": "dis",
                "source": "misafir_agi",
                "service": "web",
                "action": "accept",
                "log": True,
                "web_filter": "misafir-web",
            },
            {
                "name": "yonetim-log",
                "from": "yonetim",
                "to": "dis",
                "destination": "log01",
                "service": ["ping", "yuksek"],
                "action": "reject",
            },
        ],
        "nat": [
            {
                "name": "misafir-cikis",
                "from": "misafir",
                "to": "dis",
                "source": "misafir_agi",
                "translate": "masquerade",
            },
        ],
        "default_action": "drop",
        "log_unmatched": True,
    }


def test_the_sound_policy_has_no_problems():
    assert firewall_policy_check(sound_policy(), IPPLAN) == []
    assert firewall_policy_check(sound_policy(), IPPLAN, "fortios") == []


def _set(path: str, value):
    """A change to the sound policy: `path` is a dotted path (list items by index)."""

    def change(policy):
        *parents, last = path.split(".")
        node = policy
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is DELETE:
            del node[last]
        else:
            node[last] = value

    return change


DELETE = object()


def _append_rule(**rule):
    return lambda policy: policy["rules"].append(rule)


def _append_nat(**nat):
    return lambda policy: policy["nat"].append(nat)


PROBLEMS = [
    ("unknown key at the top", _set("rulez", []), "the policy: unknown key 'rulez'"),
    ("unknown zone in a rule", _set("rules.1.from", "misafr"), "rules[1] (misafir-dns): from: unknown zone 'misafr'"),
    ("unknown zone in nat", _set("nat.0.to", "internet"), "nat[0] (misafir-cikis): to: unknown zone 'internet'"),
    (
        "unknown address object",
        _set("rules.3.destination", "log02"),
        "rules[3] (yonetim-log): destination: unknown address object 'log02'",
    ),
    (
        "unknown service object",
        _set("rules.2.service", ["web", "ftp"]),
        "rules[2] (misafir-web): service: unknown service object 'ftp'",
    ),
    (
        "missing object inside a group",
        _set("addresses.dns_sunuculari.members", ["dc01", "dc03"]),
        "address 'dns_sunuculari': members: unknown address object 'dc03'",
    ),
    (
        "missing service inside a group",
        _set("services.web.members", ["http", "htps"]),
        "service 'web': members: unknown service object 'htps'",
    ),
    (
        "address group cycle",
        lambda p: p["addresses"].update(a_grp={"members": ["b_grp"]}, b_grp={"members": ["a_grp"]}),
        "address 'a_grp': members form a cycle (a_grp -> b_grp -> a_grp)",
    ),
    (
        "service group cycle",
        _set("services.web.members", ["http", "web"]),
        "service 'web': members form a cycle (web -> web)",
    ),
    ("bad port", _set("services.https.ports", [443, 70000]), "service 'https': ports: 70000 is not a port"),
    ("reversed port range", _set("services.yuksek.ports", ["8080-8000"]), "service 'yuksek': ports: '8080-8000'"),
    ("bad protocol", _set("services.dns.protocol", "sctp"), "service 'dns': protocol 'sctp' is not one of"),
    ("icmp with ports", _set("services.ping.ports", [1]), "service 'ping': icmp has no ports"),
    ("bad address", _set("addresses.log01.address", "10.10.10.300"), "address 'log01': address '10.10.10.300'"),
    (
        "network with host bits",
        _set("addresses.yonetim_agi.network", "10.40.99.5/24"),
        "address 'yonetim_agi': network '10.40.99.5/24' is not a network address",
    ),
    (
        "two kinds in one object",
        _set("addresses.log01.network", "10.10.10.0/24"),
        "address 'log01': give exactly one of",
    ),
    ("IPv6 object", _set("addresses.log01.address", "2001:db8::1"), "is IPv6; the policy handles IPv4 only"),
    (
        "interface in two zones",
        _set("zones.yonetim.interfaces", ["eth2", "eth1"]),
        "zone 'yonetim': interfaces: eth1 is already in zone 'misafir'",
    ),
    (
        "VLAN unknown to the plan",
        _set("addresses.misafir_agi.vlan", "kultur/misafr"),
        "address 'misafir_agi': vlan: VLAN kultur/misafr is not in the IP plan",
    ),
    (
        "zone VLAN unknown to the plan",
        _set("zones.misafir.vlans", ["kultur/yok"]),
        "zone 'misafir': vlans: VLAN kultur/yok is not in the IP plan",
    ),
    ("duplicate rule name", _set("rules.3.name", "misafir-dns"), "name 'misafir-dns' is already used by rules[1]"),
    ("bad rule name", _set("rules.3.name", "Yonetim_Log"), "rules[3] (Yonetim_Log): name must be 1-30 characters"),
    ("bad action", _set("rules.3.action", "allow"), "rules[3] (yonetim-log): action 'allow' is not one of"),
    (
        "web filter on a non-accept rule",
        _set("rules.3.web_filter", "x"),
        "rules[3] (yonetim-log): web_filter is for accept rules only",
    ),
    (
        "ips sensor on a non-accept rule",
        _set("rules.3.ips_sensor", "default"),
        "rules[3] (yonetim-log): ips_sensor is for accept rules only",
    ),
    ("bad log level", _set("rules.2.log_level", "some"), "log_level 'some' is not one of"),
    ("default other than drop", _set("default_action", "accept"), "default_action 'accept': the only default is drop"),
    ("self in nat", _set("nat.0.to", "self"), "nat[0] (misafir-cikis): to: 'self' cannot be used in nat"),
    ("self in the from of a rule", _set("rules.0.from", "self"), "rules[0] (yonetim-ssh): from: 'self' (the firewall"),
    (
        "nat to a network object",
        _set("nat.0.translate", "yonetim_agi"),
        "translate 'yonetim_agi' must be an address object of kind address or range",
    ),
    (
        "shadowed rule",
        _append_rule(
            name="misafir-https",
            **{"from": "misafir", "to": "dis"},
            source="misafir_agi",
            service="https",
            action="drop",
        ),
        "rule 'misafir-https' is shadowed by rule 'misafir-web' (position 3)",
    ),
    (
        "shadowed by an any-rule",
        lambda p: p["rules"].insert(
            0, {"name": "hepsi", "from": ["misafir", "yonetim"], "to": "dis", "action": "drop"}
        ),
        "rule 'misafir-dns' is shadowed by rule 'hepsi' (position 1)",
    ),
    (
        "overlapping nat with another translation",
        _append_nat(name="misafir-havuz", **{"from": "misafir", "to": "dis"}, source="misafir_agi", translate="havuz"),
        "nat 'misafir-havuz' overlaps nat 'misafir-cikis' (position 1) with another translation",
    ),
    (
        "duplicate nat",
        _append_nat(
            name="misafir-tekrar", **{"from": "misafir", "to": "dis"}, translate="masquerade", source="misafir_agi"
        ),
        "nat 'misafir-tekrar' duplicates nat 'misafir-cikis' (position 1)",
    ),
]


@pytest.mark.parametrize(("name", "change", "expected"), PROBLEMS, ids=[row[0] for row in PROBLEMS])
def test_a_problem_is_named(name, change, expected):
    policy = sound_policy()
    change(policy)
    problems = firewall_policy_check(policy, IPPLAN)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("firewall_policy: ") for problem in problems)
    # A policy with a problem is never rendered.
    with pytest.raises(AnsibleFilterError):
        firewall_nftables(policy, IPPLAN)
    with pytest.raises(AnsibleFilterError):
        firewall_fortios(policy, IPPLAN)


LOOK_ALIKES = [
    # (name, change): a later rule that resembles an earlier one but matches something it does not.
    (
        "another port",
        _append_rule(
            name="misafir-yuksek",
            **{"from": "misafir", "to": "dis"},
            source="misafir_agi",
            service=["https", "yuksek"],
            action="drop",
        ),
    ),
    (
        "a wider source",
        _append_rule(name="hepsi-web", **{"from": "misafir", "to": "dis"}, service="web", action="drop"),
    ),
    (
        "another zone",
        _append_rule(
            name="yonetim-web", **{"from": ["misafir", "yonetim"], "to": "dis"}, service="web", action="accept"
        ),
    ),
    (
        "the firewall itself",
        _append_rule(
            name="misafir-ping",
            **{"from": "misafir", "to": "self"},
            source="misafir_agi",
            service="ping",
            action="accept",
        ),
    ),
    (
        "another udp port",
        lambda p: (
            p["services"].update(ntp={"protocol": "udp", "ports": [123]}),
            p["rules"].append(
                {
                    "name": "misafir-ntp",
                    "from": "misafir",
                    "to": "dis",
                    "source": "misafir_agi",
                    "destination": "dns_sunuculari",
                    "service": ["dns", "ntp"],
                    "action": "drop",
                }
            ),
        ),
    ),
    ("nat from another zone", _append_nat(name="yonetim-cikis", **{"from": "yonetim", "to": "dis"}, translate="havuz")),
    (
        "nat of a disjoint source",
        lambda p: p["nat"].append(
            {"name": "yonetim-havuz", "from": "misafir", "to": "dis", "source": "yonetim_agi", "translate": "havuz"}
        ),
    ),
]


@pytest.mark.parametrize(("name", "change"), LOOK_ALIKES, ids=[row[0] for row in LOOK_ALIKES])
def test_a_look_alike_that_matches_more_is_accepted(name, change):
    policy = sound_policy()
    change(policy)
    assert firewall_policy_check(policy, IPPLAN) == []


def test_a_vlan_object_needs_the_plan():
    problems = firewall_policy_check(sound_policy())
    assert (
        "firewall_policy: address 'misafir_agi': vlan: VLAN kultur/misafir needs the IP plan "
        "(variable ipplan), which was not given"
    ) in problems


def test_a_vlan_object_resolves_to_its_subnet_in_the_plan():
    text = firewall_nftables(sound_policy(), IPPLAN)
    assert "set obj_misafir_agi {" in text
    assert "elements = { 10.40.48.0/22 }" in text
    plan = copy.deepcopy(IPPLAN)
    plan["sites"]["kultur"]["vlans"]["misafir"]["subnet"] = "10.40.52.0/22"
    assert "elements = { 10.40.52.0/22 }" in firewall_nftables(sound_policy(), plan)


def test_fortios_refuses_more_interfaces_than_local_in_ids_for_a_rule_to_self():
    policy = sound_policy()
    policy["zones"]["yonetim"]["interfaces"] = [f"port{n}" for n in range(2, 13)]  # 11 interfaces
    assert firewall_policy_check(policy, IPPLAN) == []
    problems = firewall_policy_check(policy, IPPLAN, "fortios")
    assert any("rule 'yonetim-ssh': FortiOS gets one local-in policy per interface" in p for p in problems)


def test_fortios_refuses_nat_that_covers_a_rule_only_in_part():
    policy = sound_policy()
    # NAT only for one host of the guest network; the rule for the whole network would need two policies.
    policy["addresses"]["tek"] = {"address": "10.40.48.20"}
    policy["nat"][0]["source"] = "tek"
    assert firewall_policy_check(policy, IPPLAN) == []
    problems = firewall_policy_check(policy, IPPLAN, "fortios")
    assert any("rule 'misafir-dns': nat 'misafir-cikis' covers only part of its traffic" in p for p in problems)


def run_assert(tmp_path, variables: dict) -> subprocess.CompletedProcess:
    """roles/firewall/tasks/assert.yml, as playbooks/validate.yml runs it: no facts, no connection."""
    root = Path(__file__).resolve().parents[2]
    playbook = tmp_path / "assert.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Firewall inputs",
                    "hosts": "fw-test",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Check",
                            "ansible.builtin.include_role": {"name": "firewall", "tasks_from": "assert.yml"},
                        }
                    ],
                }
            ]
        )
    )
    inventory = tmp_path / "hosts.yml"
    # A port where nothing answers: the check must not need a connection at all.
    inventory.write_text(
        yaml.safe_dump({"all": {"hosts": {"fw-test": {"ansible_host": "127.0.0.1", "ansible_port": 1}}}})
    )
    extra = tmp_path / "vars.yml"
    extra.write_text(yaml.safe_dump({"ipplan": IPPLAN, "firewall_platform": "nftables", **variables}))
    result = subprocess.run(
        [str(root / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(playbook), "-e", f"@{extra}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CACHE_PLUGIN": "memory"},
    )
    assert "UNREACHABLE" not in result.stdout
    return result


def test_the_roles_input_check_names_the_host_without_connecting(tmp_path):
    policy = sound_policy()
    policy["rules"].append(
        {
            "name": "misafir-https",
            "from": "misafir",
            "to": "dis",
            "source": "misafir_agi",
            "service": "https",
            "action": "drop",
        }
    )
    result = run_assert(tmp_path, {"firewall_policy": policy})
    assert result.returncode != 0
    assert (
        "host fw-test: firewall_policy: rule 'misafir-https' is shadowed by rule 'misafir-web' (position 3)"
    ) in " ".join(result.stdout.split())


REJECT_SSH_FROM_LOG01 = {
    "name": "log01-ssh-yok",
    "from": "yonetim",
    "to": "self",
    "source": "log01",
    "service": "ssh",
    "action": "reject",
}


@pytest.mark.parametrize(
    ("source", "port", "zone", "first", "expected"),
    [
        ("10.40.99.5", 22, None, None, {"rule": "yonetim-ssh", "action": "accept"}),
        ("10.40.99.5", 22, "yonetim", None, {"rule": "yonetim-ssh", "action": "accept"}),
        # The same address arriving in another zone: no rule to self from there.
        ("10.40.99.5", 22, "misafir", None, {"rule": None, "action": "drop"}),
        ("10.40.99.5", 2222, None, None, {"rule": None, "action": "drop"}),
        ("10.10.10.5", 22, None, None, {"rule": None, "action": "drop"}),
        # First match wins: an earlier reject decides, whatever comes after it.
        ("10.10.10.21", 22, None, REJECT_SSH_FROM_LOG01, {"rule": "log01-ssh-yok", "action": "reject"}),
    ],
)
def test_the_rule_that_decides_ssh_to_the_firewall_itself_is_found(source, port, zone, first, expected):
    policy = sound_policy()
    if first:
        policy["addresses"]["yonetim_agi"] = {"network": "10.40.99.0/24"}
        policy["rules"].insert(0, dict(first))
        policy["rules"][1]["source"] = ["yonetim_agi", "log01"]
    assert firewall_self_verdict(policy, IPPLAN, source, port, zone) == expected


def test_a_policy_that_drops_a_management_sources_ssh_is_refused_by_the_input_check(tmp_path):
    result = run_assert(
        tmp_path,
        {
            "firewall_policy": sound_policy(),
            "firewall_management_sources": ["10.40.99.7", "10.10.10.5"],
            # The SSH port of the check is Ansible's own; the inventory's port 1 would make every
            # source a lockout. (Nothing connects: a connection would show as UNREACHABLE.)
            "ansible_port": 22,
        },
    )
    assert result.returncode != 0
    assert (
        "host fw-test: firewall_policy would drop new SSH connections to the firewall from "
        "firewall_management_sources 10.10.10.5:"
    ) in " ".join(result.stdout.split())

"""Rendering of the firewall policy as an nftables ruleset (plugins/filter/firewall.py: firewall_nftables).

The expected lines are built from the policy in the same test; where nft(8) is on this machine the
rendered text is also checked by nft itself (`nft -c -f`, in a network namespace of its own so the
machine's ruleset is never touched).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from firewall import firewall_nftables
from test_firewall_policy import IPPLAN, sound_policy

NFT = shutil.which("nft")
UNSHARE = shutil.which("unshare")


def _nft_check(text: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "ruleset.nft"
    path.write_text(text)
    # A private network namespace: nft -c talks to the kernel, but never to this machine's ruleset.
    return subprocess.run(
        [UNSHARE, "--net", NFT, "-c", "-f", str(path)], capture_output=True, text=True, check=False, timeout=30
    )


def _nft_usable(tmp_path) -> str | None:
    if not NFT or not UNSHARE:
        return "nft or unshare is not installed on this machine"
    probe = _nft_check("table inet probe {}\n", tmp_path)
    if probe.returncode != 0:
        return f"nft -c cannot run here (needs root and nf_tables): {probe.stderr.strip()}"
    return None


def test_only_our_own_tables_are_replaced():
    text = firewall_nftables(sound_policy(), IPPLAN)
    assert "flush ruleset" not in text
    lines = text.splitlines()
    for table in ("inet belediye", "ip belediye_nat"):
        # created if missing, deleted, then declared anew: the idiom of an atomic replace
        create, delete = lines.index(f"table {table} {{}}"), lines.index(f"delete table {table}")
        declare = lines.index(f"table {table} {{")
        assert create < delete < declare


def test_chains_drop_by_default_and_accept_return_traffic():
    text = firewall_nftables(sound_policy(), IPPLAN)
    for chain in ("input", "forward"):
        body = text.split(f"chain {chain} {{")[1].split("}")[0]
        assert f"type filter hook {chain} priority filter; policy drop;" in body
        assert body.index("ct state established,related accept") < body.index("ct state invalid drop")
    assert 'iifname "lo" accept' in text.split("chain input {")[1].split("}")[0]
    assert "type filter hook output priority filter; policy accept;" in text


def test_each_rule_becomes_lines_in_its_chain_in_order():
    policy = sound_policy()
    text = firewall_nftables(policy, IPPLAN, 7)
    forward = text.split("chain forward {")[1].split("\n\t}")[0]
    input_chain = text.split("chain input {")[1].split("\n\t}")[0]
    # The rule to self (yonetim-ssh: zone yonetim = eth2, source yonetim_agi, ssh = tcp 22) is in input.
    assert (
        'iifname "eth2" ip saddr @obj_yonetim_agi tcp dport 22 ct state new counter accept comment "yonetim-ssh"'
    ) in input_chain
    # Forward rules keep the policy's order.
    positions = [forward.index(f'comment "{rule["name"]}"') for rule in policy["rules"][1:]]
    assert positions == sorted(positions)
    # misafir-web: zone misafir (eth1) -> dis (eth0), service web = http 80 + https 443, logged.
    assert (
        'iifname "eth1" oifname "eth0" ip saddr @obj_misafir_agi tcp dport { 80, 443 } ct state new counter '
        'log group 7 prefix "fw misafir-web " accept comment "misafir-web"'
    ) in forward
    # yonetim-log has two protocols (tcp 8000-8080 and icmp), so two lines; reject answers.
    yonetim_log = [line.strip() for line in forward.splitlines() if 'comment "yonetim-log"' in line]
    assert len(yonetim_log) == 2
    assert any("tcp dport 8000-8080" in line for line in yonetim_log)
    assert any("icmp type echo-request" in line for line in yonetim_log)
    assert all("reject with icmpx type admin-prohibited" in line and "log " not in line for line in yonetim_log)


def test_a_rule_to_self_and_a_zone_has_lines_in_both_chains():
    policy = sound_policy()
    # misafir may ping the gateway itself and hosts beyond it (zone dis = eth0).
    policy["rules"].append(
        {"name": "misafir-ping", "from": "misafir", "to": ["self", "dis"], "service": "ping", "action": "accept"}
    )
    text = firewall_nftables(policy, IPPLAN)
    input_chain = text.split("chain input {")[1].split("\n\t}")[0]
    forward = text.split("chain forward {")[1].split("\n\t}")[0]
    assert 'iifname "eth1" icmp type echo-request ct state new counter accept comment "misafir-ping"' in input_chain
    assert (
        'iifname "eth1" oifname "eth0" icmp type echo-request ct state new counter accept comment "misafir-ping"'
    ) in forward


def test_address_objects_become_named_sets_with_their_addresses():
    policy = sound_policy()
    text = firewall_nftables(policy, IPPLAN)
    # dns_sunuculari is a group of dc01 and dc02: its set holds both addresses.
    members = [policy["addresses"][name]["address"] for name in policy["addresses"]["dns_sunuculari"]["members"]]
    dns_set = text.split("set obj_dns_sunuculari {")[1].split("}")[0]
    assert f"elements = {{ {', '.join(sorted(members))} " in dns_set + "}"
    assert "flags interval" in dns_set


def test_a_rule_with_several_sources_gets_a_set_of_its_own():
    policy = sound_policy()
    policy["rules"][3]["source"] = ["misafir_agi", "yonetim_agi"]
    text = firewall_nftables(policy, IPPLAN)
    assert "set rule_yonetim_log_src {" in text
    assert "elements = { 10.40.48.0/22, 10.40.99.0/24 }" in text
    assert "ip saddr @rule_yonetim_log_src" in text


def test_nat_becomes_postrouting_lines():
    policy = sound_policy()
    policy["nat"].append({"name": "yonetim-cikis", "from": "yonetim", "to": "dis", "translate": "havuz"})
    text = firewall_nftables(policy, IPPLAN)
    post = text.split("chain postrouting {")[1]
    assert 'iifname "eth1" oifname "eth0" ip saddr { 10.40.48.0/22 } counter masquerade comment "misafir-cikis"' in post
    # havuz is the range 192.0.2.10-192.0.2.12; no source means any.
    assert 'iifname "eth2" oifname "eth0" counter snat to 192.0.2.10-192.0.2.12 comment "yonetim-cikis"' in post


@pytest.mark.parametrize(("log_unmatched", "expected"), [(True, 2), (False, 0)])
def test_unmatched_drops_are_logged_at_a_limited_rate_only_when_asked(log_unmatched, expected):
    policy = sound_policy()
    policy["log_unmatched"] = log_unmatched
    text = firewall_nftables(policy, IPPLAN, 3)
    assert text.count('log group 3 prefix "fw drop ') == expected
    assert all("limit rate" in line for line in text.splitlines() if "fw drop" in line)


def test_the_output_is_the_same_for_the_same_policy_in_another_order():
    policy = sound_policy()
    shuffled = sound_policy()
    shuffled["addresses"] = dict(reversed(list(shuffled["addresses"].items())))
    shuffled["zones"] = dict(reversed(list(shuffled["zones"].items())))
    assert firewall_nftables(policy, IPPLAN) == firewall_nftables(shuffled, IPPLAN)


@pytest.mark.parametrize("group", [-1, 65536, "x", True])
def test_a_bad_log_group_is_refused(group):
    with pytest.raises(AnsibleFilterError, match="log_group"):
        firewall_nftables(sound_policy(), IPPLAN, group)


def test_nft_parses_the_rendered_ruleset(tmp_path):
    reason = _nft_usable(tmp_path)
    if reason:
        pytest.skip(reason)
    policy = sound_policy()
    policy["rules"][3]["source"] = ["misafir_agi", "yonetim_agi"]
    policy["nat"].append({"name": "yonetim-cikis", "from": "yonetim", "to": "dis", "translate": "havuz"})
    result = _nft_check(firewall_nftables(policy, IPPLAN, 2), tmp_path)
    assert result.returncode == 0, result.stderr


def test_nft_refuses_a_broken_ruleset(tmp_path):
    """The proof that the check above can fail: a ruleset with one bad word is refused."""
    reason = _nft_usable(tmp_path)
    if reason:
        pytest.skip(reason)
    text = firewall_nftables(sound_policy(), IPPLAN).replace("policy drop;", "policy dorp;", 1)
    result = _nft_check(text, tmp_path)
    assert result.returncode != 0

"""roles/firewall/files/belediye-blocklist: the forced-command wrapper through which the web hosts'
fail2ban fills a firewall's blocklist. Its checks are what stands between a stolen web host key
and the firewall, so each refusal has a row."""

import importlib.machinery
import importlib.util
import ipaddress
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "roles" / "firewall" / "files" / "belediye-blocklist"


def load_wrapper():
    loader = importlib.machinery.SourceFileLoader("belediye_blocklist", str(WRAPPER))
    spec = importlib.util.spec_from_loader("belediye_blocklist", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


wrapper = load_wrapper()
ALLOW = [ipaddress.ip_network(n) for n in ("10.231.0.1/32", "10.231.8.0/24", "2001:db8:1::/48")]
MAX = 3600


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("ban 10.231.0.13 600", ("ban", "10.231.0.13", 600)),
        ("ban 203.0.113.9 3600", ("ban", "203.0.113.9", 3600)),
        ("  ban   10.231.0.13   1 ", ("ban", "10.231.0.13", 1)),
        ("unban 10.231.0.13", ("unban", "10.231.0.13", 0)),
        ("ban 2001:db8:2::5 60", ("ban", "2001:db8:2::5", 60)),
    ],
)
def test_sound_requests_are_parsed(request_text, expected):
    action, address, seconds = wrapper.parse_request(request_text, ALLOW, MAX)
    assert (action, str(address), seconds) == expected


@pytest.mark.parametrize(
    ("request_text", "why"),
    [
        ("", "unknown request"),
        ("rm -rf /", "unknown request"),
        ("ban 10.231.0.13", "ban takes an address and seconds"),
        ("unban 10.231.0.13 600", "unban takes an address"),
        ("ban 10.231.0.13 600; nft flush ruleset", "ban takes an address and seconds"),
        ("ban 10.231.0.0/24 600", "is not an IP address"),
        ("ban app01 600", "is not an IP address"),
        ("ban 10.231.0.1 600", "allow-list (10.231.0.1/32)"),
        ("ban 10.231.8.77 600", "allow-list (10.231.8.0/24)"),
        ("unban 10.231.8.77", "allow-list"),
        ("ban 2001:db8:1::9 600", "allow-list (2001:db8:1::/48)"),
        ("ban 127.0.0.1 600", "special address"),
        ("ban 0.0.0.0 600", "special address"),
        ("ban 224.0.0.1 600", "special address"),
        ("ban 169.254.1.1 600", "special address"),
        ("ban 255.255.255.255 600", "special address"),
        ("ban ::1 600", "special address"),
        ("ban 10.231.0.13 0", "outside 1 to 3600"),
        ("ban 10.231.0.13 3601", "outside 1 to 3600"),
        ("ban 10.231.0.13 -5", "not a whole number"),
        ("ban 10.231.0.13 1e3", "not a whole number"),
        ("ban " + "1" * 300, "too long"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(request_text, why):
    with pytest.raises(wrapper.Refused, match=None) as caught:
        wrapper.parse_request(request_text, ALLOW, MAX)
    assert why in str(caught.value)


@pytest.mark.parametrize(
    ("action", "address", "seconds", "expected"),
    [
        ("ban", "10.231.0.13", 600, "add element inet t banned4 { 10.231.0.13 timeout 600s }"),
        ("unban", "10.231.0.13", 0, "delete element inet t banned4 { 10.231.0.13 }"),
        ("ban", "2001:db8:2::5", 60, "add element inet t banned6 { 2001:db8:2::5 timeout 60s }"),
    ],
)
def test_nft_commands(action, address, seconds, expected):
    assert wrapper.nft_command(action, ipaddress.ip_address(address), seconds, "t") == ["nft", expected]


def test_config_is_read(tmp_path):
    path = tmp_path / "blocklist.json"
    path.write_text(json.dumps({"allow": ["10.231.0.12/32"], "max_timeout": 60, "table": "belediye_blocklist"}))
    config = wrapper.load_config(str(path))
    assert config == {
        "allow": [ipaddress.ip_network("10.231.0.12/32")],
        "max_timeout": 60,
        "table": "belediye_blocklist",
    }


def test_the_role_template_gives_the_wrapper_what_it_reads():
    template = (ROOT / "roles" / "firewall" / "templates" / "blocklist.json.j2").read_text()
    assert all(key in template for key in ("'allow'", "'max_timeout'", "'table'"))

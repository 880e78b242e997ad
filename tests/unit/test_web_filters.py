"""roles/web_server/filter_plugins/web_server.py and plugins/filter/allowlist.py: the web server's
site checks and defaults, and the netaddr-backed allow-list check of fail2ban and the firewall."""

import sys
from pathlib import Path

import pytest
from allowlist import allowlist_cidrs, allowlist_problems
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "web_server" / "filter_plugins"))

import web_server  # noqa: E402 - a role's filter plugins are not a package

WWW = {
    "name": "www",
    "server_names": ["www.ornek.bel.tr", "ornek.bel.tr"],
    "default_server": True,
    "sections": [{"path": "/en/", "language": "en"}],
}
COCUK = {"name": "cocuk", "server_names": ["cocuk.ornek.bel.tr"], "php": True}


def test_sound_sites_have_no_problems():
    assert web_server.web_server_site_problems([WWW, COCUK, {"name": "ip", "server_names": ["10.231.0.14"]}]) == []


@pytest.mark.parametrize(
    ("name", "sites", "expected"),
    [
        ("not a list", {"name": "www"}, "web_server_sites must be a list"),
        ("site not a mapping", ["www"], "web_server_sites[0] must be a mapping"),
        ("unknown key", [{**COCUK, "tls_crt": "x"}], "unknown keys ['tls_crt']"),
        ("bad name", [{**COCUK, "name": "Çocuk"}], "name must be lower-case"),
        ("duplicate name", [COCUK, {**COCUK, "server_names": ["x.ornek.bel.tr"]}], "name cocuk is already used"),
        ("no server names", [{"name": "a", "server_names": []}], "server_names must be a non-empty list"),
        ("bad server name", [{"name": "a", "server_names": ["www_ornek"]}], "neither a lower-case DNS name"),
        ("bad address", [{"name": "a", "server_names": ["10.231.0.300"]}], "neither a lower-case DNS name"),
        ("name served twice", [WWW, {"name": "b", "server_names": ["ornek.bel.tr"]}], "already served by"),
        ("two defaults", [WWW, {**COCUK, "default_server": True}], "only one site may be the default"),
        ("default not bool", [{**COCUK, "default_server": "yes"}], "default_server must be true or false"),
        ("root too wide", [{**COCUK, "root": "/srv"}], "root must be a dedicated absolute directory"),
        ("root relative", [{**COCUK, "root": "srv/www"}], "root must be a dedicated absolute directory"),
        ("tls source", [{**COCUK, "tls_source": "letsencrypt"}], "tls_source must be one of"),
        ("section path", [{**WWW, "sections": [{"path": "/en", "language": "en"}]}], "must be a sub-path"),
        ("section root", [{**WWW, "sections": [{"path": "/", "language": "en"}]}], "must be a sub-path"),
        ("section twice", [{**WWW, "sections": [{"path": "/en/", "language": "en"}] * 2}], "listed twice"),
        ("section language", [{**WWW, "sections": [{"path": "/en/", "language": "English"}]}], "language tag"),
        ("csp quote", [{**COCUK, "content_security_policy": 'default-src "self"'}], "without double quotes"),
    ],
)
def test_bad_sites_are_named_with_host_variable_and_problem(name, sites, expected):
    problems = web_server.web_server_site_problems(sites, "web01")
    assert problems, name
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("web01: web_server_sites") for p in problems)


def test_normalised_sites_are_sorted_and_complete():
    sites = web_server.web_server_normalise_sites([WWW, {**COCUK, "tls_source": "acme"}], "/srv/www/", "files", "csp")
    assert [s["name"] for s in sites] == ["cocuk", "www"]
    cocuk, www = sites
    assert cocuk["root"] == "/srv/www/cocuk"
    assert cocuk["php"] is True
    assert cocuk["default_server"] is False
    assert cocuk["cert_file"] == "/etc/letsencrypt/live/cocuk.ornek.bel.tr/fullchain.pem"
    assert www["cert_file"] == "/etc/belediye/web-tls/server.crt"
    assert www["sections"] == [{"path": "/en/", "language": "en", "description": ""}]
    assert www["content_security_policy"] == "csp"


def test_normalising_unsound_sites_raises():
    with pytest.raises(AnsibleFilterError, match="server_names"):
        web_server.web_server_normalise_sites([{"name": "a"}], "/srv/www", "files", "")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("10.10.0.0/16", None),
        ("10.231.0.12", None),
        ("2001:db8::/32", None),
        ("10.10.3.1/16", "has host bits set: the network is 10.10.0.0/16"),
        ("0.0.0.0/0", "is wider than /8"),
        ("2000::/3", "is wider than /16"),
        ("10.1", "is not a network in CIDR form"),
        ("ornek.bel.tr", "is not a network in CIDR form"),
        (" 10.0.0.0/8", "is not a network in CIDR form"),
        (42, "is not a network in CIDR form"),
    ],
)
def test_allowlist_entries(entry, expected):
    problems = allowlist_problems([entry], "fail2ban_allowlist", "web01")
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith("web01: fail2ban_allowlist[0]")
        assert expected in problems[0]


def test_allowlist_must_be_a_list():
    assert allowlist_problems("10.0.0.0/8", "firewall_blocklist_allowlist") == [
        "firewall_blocklist_allowlist must be a list of networks in CIDR form, not '10.0.0.0/8'"
    ]


def test_allowlist_cidrs_are_canonical_ordered_and_unique():
    assert allowlist_cidrs(["10.231.0.12", "10.0.0.0/8", "10.231.0.12/32", "2001:db8::/32"]) == [
        "10.231.0.12/32",
        "10.0.0.0/8",
        "2001:db8::/32",
    ]
    with pytest.raises(AnsibleFilterError, match="bad"):
        allowlist_cidrs(["bad"])

"""roles/log_server/filter_plugins/log_server.py: the log server's input checks and derived values."""

import copy
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from pkitools import pem, throwaway_pki, tls_task_problems

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "log_server"
sys.path.insert(0, str(ROLE / "filter_plugins"))

import log_server  # noqa: E402 - a role's filter plugins are not a package

RULES = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__log_server_retention_rules"]
DEFAULT_CLASSES = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["log_server_classes"]


def classes(**changes) -> list[dict]:
    """The default classes with the fields of one class changed: classes(web={"retention_days": 100})."""
    out = copy.deepcopy(DEFAULT_CLASSES)
    for name, fields in changes.items():
        entry = next(c for c in out if c["name"] == name)
        entry.update(fields)
        for key in [k for k, v in fields.items() if v is None]:
            del entry[key]
    return out


# --- log_server_class_problems -----------------------------------------------------------------


def test_default_classes_are_sound():
    assert log_server.log_server_class_problems(DEFAULT_CLASSES, RULES, "log01") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            classes(web={"retention_days": 100}), "retention_days 100 is outside 365..730", id="web-too-short"
        ),
        pytest.param(
            classes(web={"retention_days": 1000}), "retention_days 1000 is outside 365..730", id="web-too-long"
        ),
        pytest.param(classes(dhcp={"retention_days": 365}), "retention_days 365 is outside 730..3650", id="dhcp-short"),
        pytest.param(classes(traffic={"retention_days": 0}), "must be a positive whole number", id="retention-zero"),
        pytest.param(classes(dhcp={"retention_days": "730"}), "must be a positive whole number", id="retention-text"),
        pytest.param(classes(dhcp={"retention_days": True}), "must be a positive whole number", id="retention-bool"),
        pytest.param(classes(dhcp={"name": "DHCP"}), "name 'DHCP' must be lower-case", id="name-upper-case"),
        pytest.param(classes(dhcp={"name": "../etc"}), "name '../etc' must be lower-case", id="name-path"),
        pytest.param(classes(dhcp={"name": "1dhcp"}), "starting with a letter", id="name-digit-first"),
        pytest.param(classes(web={"name": "dhcp"}), "class 'dhcp' is defined twice", id="name-twice"),
        pytest.param(classes(dhcp={"name": None}), "name None", id="name-missing"),
        pytest.param(classes(dhcp={"programnames": ["kea lease"]}), "'kea lease', which is not", id="program-space"),
        pytest.param(classes(dhcp={"programnames": ['kea"x']}), "which is not a program name", id="program-quote"),
        pytest.param(classes(dhcp={"programnames": "kea-lease"}), "must be a list", id="program-not-list"),
        pytest.param(classes(traffic={"msg_prefixes": ["BGYS.NAT"]}), "'BGYS.NAT', which is not", id="prefix-regex"),
        pytest.param(classes(traffic={"msg_prefixes": ["(a|b)"]}), "which is not a prefix", id="prefix-group"),
        pytest.param(
            classes(web={"programnames": ["kea-lease"]}),
            "program name 'kea-lease' is already in class 'dhcp'",
            id="program-in-two-classes",
        ),
        pytest.param(
            classes(dhcp={"programnames": [], "msg_prefixes": []}), "matches nothing", id="class-matches-nothing"
        ),
        pytest.param(classes(dhcp={"retention": 730}), "unknown keys retention", id="unknown-key"),
        pytest.param(classes(dhcp={"description": "a\nb"}), "description must be one line", id="description-lines"),
        pytest.param([], "must be a non-empty list", id="no-classes"),
        pytest.param({"dhcp": {}}, "must be a non-empty list", id="not-a-list"),
        pytest.param(["dhcp"], "must be a mapping", id="entry-not-a-mapping"),
    ],
)
def test_bad_classes_are_refused_with_host_variable_and_problem(value, expected):
    problems = log_server.log_server_class_problems(value, RULES, "log01")
    text = "; ".join(problems)
    assert expected in text
    assert all(p.startswith("log01: log_server_classes") for p in problems)


def test_a_class_of_its_own_name_has_the_general_limits():
    extra = classes() + [{"name": "wifi", "retention_days": 3650, "programnames": ["hostapd"]}]
    assert log_server.log_server_class_problems(extra, RULES) == []
    extra[-1]["retention_days"] = 3651
    assert "outside 1..3650" in log_server.log_server_class_problems(extra, RULES)[0]


def test_tool_classes_are_the_log5651_classes_object():
    assert log_server.log_server_tool_classes(DEFAULT_CLASSES) == {
        "dhcp": {"retention_days": 730},
        "web": {"retention_days": 730},
        "traffic": {"retention_days": 730},
    }
    with pytest.raises(AnsibleFilterError, match="malformed"):
        log_server.log_server_tool_classes([{"name": "x"}])


# --- networks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["10.20.0.0/16", "192.168.1.0/24"], [], id="networks"),
        pytest.param(["10.20.30.40/32"], [], id="one-address"),
        pytest.param(["10.20.0.5/16"], ["host bits set (the network is 10.20.0.0/16)"], id="host-bits"),
        pytest.param(["10.20.0.0"], ["not a network in CIDR notation"], id="no-prefix"),
        pytest.param(["10.20.0.0/33"], ["not a valid network"], id="prefix-too-long"),
        pytest.param(["10.300.0.0/16"], ["not a valid network"], id="octet-too-big"),
        pytest.param(["2001:db8::/32"], ["not IPv4"], id="ipv6"),
        pytest.param([24], ["not a network in CIDR notation"], id="not-a-string"),
        pytest.param("10.0.0.0/8", ["must be a list"], id="not-a-list"),
    ],
)
def test_plain_sources_are_ipv4_networks(value, expected):
    problems = log_server.log_server_cidr_problems(value, "log_server_plain_sources", "log01")
    assert len(problems) == len(expected)
    for problem, text in zip(problems, expected, strict=True):
        assert problem.startswith("log01: log_server_plain_sources")
        assert text in problem


@pytest.mark.parametrize(
    ("cidrs", "ranges"),
    [
        pytest.param(["127.0.0.0/8"], [[2130706432, 2147483647]], id="loopback"),
        pytest.param(["10.0.0.1/32"], [[167772161, 167772161]], id="one-address"),
        pytest.param(["10.0.1.0/24", "10.0.0.0/24"], [[167772160, 167772671]], id="adjacent-merged-and-sorted"),
        pytest.param(["10.0.0.0/8", "10.1.0.0/16"], [[167772160, 184549375]], id="contained-merged"),
        pytest.param([], [], id="none"),
    ],
)
def test_plain_sources_become_ip42num_ranges(cidrs, ranges):
    assert log_server.log_server_ipv4_ranges(cidrs) == ranges


def test_ranges_refuse_a_bad_network():
    with pytest.raises(AnsibleFilterError, match="10.0.0.1/8"):
        log_server.log_server_ipv4_ranges(["10.0.0.1/8"])


# --- numbers and paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(6514, None, id="in-range"),
        pytest.param("6514", None, id="digits-as-text"),
        pytest.param(0, "must be from 1 to 65535, got 0", id="too-small"),
        pytest.param(70000, "must be from 1 to 65535, got 70000", id="too-big"),
        pytest.param("altı", "must be a whole number, got 'altı'", id="word"),
        pytest.param(True, "must be a whole number", id="bool"),
        pytest.param(6514.5, "must be a whole number", id="float"),
    ],
)
def test_numbers_are_checked_against_their_range(value, expected):
    rows = [{"key": "log_server_tls_port", "value": value, "min": 1, "max": 65535}]
    problems = log_server.log_server_range_problems(rows, "log01")
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith(f"log01: log_server_tls_port {expected}")


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        pytest.param({"a": "/srv/log5651", "b": "/var/log/remote"}, None, id="apart"),
        pytest.param({"a": "/srv/log5651", "b": "/srv/log5651-general"}, None, id="same-prefix-not-nested"),
        pytest.param(
            {"a": "/var/log/remote/5651", "b": "/var/log/remote"}, "a (/var/log/remote/5651) lies inside b", id="nested"
        ),
        pytest.param({"a": "/srv/x", "b": "/srv/x"}, "lies inside", id="same"),
        pytest.param({"a": "srv/log5651"}, "must be an absolute path", id="relative"),
        pytest.param({"a": "/"}, "must be an absolute path", id="root"),
        pytest.param({"a": "/srv/log5651/"}, "without a trailing", id="trailing-slash"),
        pytest.param({"a": "/srv/../etc"}, "'.' or '..'", id="dot-dot"),
        pytest.param({"a": "/srv/log 5651"}, "must be an absolute path", id="space"),
        pytest.param({"a": "/srv/%x%"}, "must be an absolute path", id="rsyslog-property"),
        pytest.param({"a": 5651}, "must be an absolute path", id="number"),
    ],
)
def test_log_trees_are_safe_separate_paths(paths, expected):
    problems = log_server.log_server_path_problems(paths, "log01")
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
        assert all(p.startswith("log01: ") for p in problems)


# --- PEM and certificates ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> dict:
    material = throwaway_pki("log01")
    key = serialization.load_pem_private_key(material["key"].encode(), password=None)
    return {**material, "with_chain": material["cert"] + material["ca"], "encrypted_key": pem(key, password=b"parola")}


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        pytest.param("certificate", "cert", None, id="certificate"),
        pytest.param("certificate", "with_chain", None, id="certificate-with-chain"),
        pytest.param("certificates", "ca", None, id="ca-bundle"),
        pytest.param("private_key", "key", None, id="key"),
        pytest.param("certificate", "", "is empty", id="empty"),
        pytest.param("certificate", "key", "PEM blocks of type PRIVATE KEY", id="key-for-certificate"),
        pytest.param("private_key", "cert", "PEM blocks of type CERTIFICATE", id="certificate-for-key"),
        pytest.param("private_key", "encrypted_key", "is an encrypted key", id="encrypted-key"),
        pytest.param("certificate", "just text", "is not PEM", id="not-pem"),
        pytest.param(
            "certificate",
            "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n",
            "is not base64",
            id="body-not-base64",
        ),
        pytest.param(
            "certificate",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "is not PEM",
            id="markers-do-not-match",
        ),
    ],
)
def test_pem_shape(pki, kind, value, expected):
    text = pki.get(value, value)
    problems = log_server.log_server_pem_problems(text, kind, "log_server_tls_x", "log01")
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
        assert all(p.startswith("log01: log_server_tls_x") for p in problems)


def test_pem_problems_never_quote_a_key(pki):
    broken = pki["key"].replace("-----END PRIVATE KEY-----", "-----END CERTIFICATE-----")
    body = pki["key"].splitlines()[1]
    for kind in ("certificate", "private_key"):
        assert body not in " ".join(log_server.log_server_pem_problems(broken, kind, "k"))


def test_the_tls_check_names_the_roles_variables(pki):
    """The shapes are log_server_pem_problems' task; the fit is pki_tls_problems (test_pki_filter.py)."""
    assert tls_task_problems("log_server", "log01", pki) == []
    assert tls_task_problems("log_server", "log01", {**pki, "ca": ""}) == [
        "log01: log_server_tls_ca_cert is empty or not PEM"
    ]
    assert tls_task_problems("log_server", "log01", {**pki, "key": pki["spare_key"]}) == [
        "log01: log_server_tls_key does not belong to log_server_tls_cert (CN=log01)"
    ]


def test_every_filter_is_registered():
    names = set(log_server.FilterModule().filters())
    assert names == {n for n in dir(log_server) if n.startswith("log_server_")}

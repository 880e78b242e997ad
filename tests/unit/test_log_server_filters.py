"""roles/log_server/filter_plugins/log_server.py: the log server's input checks and derived values."""

import copy
import datetime
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "log_server"
sys.path.insert(0, str(ROLE / "filter_plugins"))

import log_server  # noqa: E402 - a role's filter plugins are not a package

RULES = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__log_server_retention_rules"]
DEFAULT_CLASSES = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["log_server_classes"]
NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


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


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: str, issuer_key, days=(-1, 30), ca=False) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=days[0]))
        .not_valid_after(NOW + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(obj) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def pki() -> dict:
    keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in ("ca", "sub", "other", "server", "spare")}
    ca = _cert("Test CA", keys["ca"], "Test CA", keys["ca"], ca=True)
    sub = _cert("Test sub CA", keys["sub"], "Test CA", keys["ca"], ca=True)
    other = _cert("Other CA", keys["other"], "Other CA", keys["other"], ca=True)
    # A certificate that claims the CA's name but is signed by another key.
    forged = _cert("log01", keys["server"], "Test CA", keys["other"])
    return {
        "ca": _pem(ca),
        "other_ca": _pem(other),
        "key": _pem(keys["server"]),
        "spare_key": _pem(keys["spare"]),
        "cert": _pem(_cert("log01", keys["server"], "Test CA", keys["ca"])),
        "expired": _pem(_cert("log01", keys["server"], "Test CA", keys["ca"], days=(-60, -1))),
        "future": _pem(_cert("log01", keys["server"], "Test CA", keys["ca"], days=(2, 30))),
        "from_sub": _pem(_cert("log01", keys["server"], "Test sub CA", keys["sub"])) + _pem(sub),
        "from_sub_alone": _pem(_cert("log01", keys["server"], "Test sub CA", keys["sub"])),
        "forged": _pem(forged),
        "encrypted_key": keys["server"]
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"parola"),
        )
        .decode(),
    }


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        pytest.param("certificate", "cert", None, id="certificate"),
        pytest.param("certificate", "from_sub", None, id="certificate-with-chain"),
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


@pytest.mark.parametrize(
    ("cert", "key", "ca", "expected"),
    [
        pytest.param("cert", "key", "ca", None, id="sound"),
        pytest.param("from_sub", "key", "ca", None, id="through-an-intermediate-given-with-the-certificate"),
        pytest.param("from_sub_alone", "key", "ca", "was not issued by", id="intermediate-missing"),
        pytest.param("cert", "spare_key", "ca", "does not belong to log_server_tls_cert", id="key-does-not-fit"),
        pytest.param("expired", "key", "ca", "expired on 2026-11-29", id="expired"),
        pytest.param("future", "key", "ca", "is not valid before 2026-12-02", id="not-yet-valid"),
        pytest.param(
            "cert", "key", "other_ca", "was not issued by a certificate of log_server_tls_ca_cert", id="other-ca"
        ),
        pytest.param("forged", "key", "ca", "was not issued by", id="forged-issuer-name"),
    ],
)
def test_certificate_key_and_ca_fit_together(pki, cert, key, ca, expected):
    problems = log_server.log_server_tls_problems(pki[cert], pki[key], pki[ca], "log01", NOW)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
        assert all(p.startswith("log01: log_server_tls_") for p in problems)
        assert not any(pki["key"].splitlines()[1] in p for p in problems)


def test_tls_check_takes_the_time_as_text(pki):
    assert log_server.log_server_tls_problems(pki["cert"], pki["key"], pki["ca"], now="2026-11-30T12:00:00+00:00") == []
    assert log_server.log_server_tls_problems(pki["cert"], pki["key"], pki["ca"], now="2027-06-01T00:00:00") != []


def test_every_filter_is_registered():
    names = set(log_server.FilterModule().filters())
    assert names == {n for n in dir(log_server) if n.startswith("log_server_")}

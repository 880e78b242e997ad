"""plugins/filter/pki.py: the shared check of a certificate, its key and the CA bundle.

The roles' own tests (backup_target, log_server, mail_server) only show that their tasks call this
filter with their variable names; every behaviour of the check is tested here, once.
"""

import configparser
import datetime
import re

import pki
import pytest
from ansible.errors import AnsibleFilterError
from pkitools import NOW, ROOT, make_cert, new_key, pem

NAMES = {"cert": "svc_tls_cert", "key": "svc_tls_key", "ca": "svc_tls_ca_cert"}
NOT_ISSUED = "svc01: svc_tls_cert (CN=svc01) was not issued by a certificate of svc_tls_ca_cert (its issuer is {})"


@pytest.fixture(scope="module")
def material() -> dict:
    keys = {n: new_key() for n in ("ca", "sub", "sub2", "stray", "other", "server", "spare")}
    ca = make_cert("Test CA", keys["ca"], "Test CA", keys["ca"], ca=True)
    sub = make_cert("Test sub CA", keys["sub"], "Test CA", keys["ca"], ca=True)
    sub2 = make_cert("Test sub2 CA", keys["sub2"], "Test sub CA", keys["sub"], ca=True)
    # An intermediate the CA did issue, but not the one that issued the server's certificate.
    stray = make_cert("Stray CA", keys["stray"], "Test CA", keys["ca"], ca=True)
    other = make_cert("Other CA", keys["other"], "Other CA", keys["other"], ca=True)
    server = keys["server"]
    from_sub = pem(make_cert("svc01", server, "Test sub CA", keys["sub"]))
    return {
        "ca": pem(ca),
        "other_ca": pem(other),
        "ca_and_sub": pem(ca) + pem(sub),
        "key": pem(server),
        "spare_key": pem(keys["spare"]),
        "encrypted_key": pem(server, password=b"parola"),
        "cert": pem(make_cert("svc01", server, "Test CA", keys["ca"])),
        "expired": pem(make_cert("svc01", server, "Test CA", keys["ca"], days=(-60, -1))),
        "future": pem(make_cert("svc01", server, "Test CA", keys["ca"], days=(2, 30))),
        "from_sub": from_sub + pem(sub),
        "from_sub_alone": from_sub,
        "from_sub_with_stray": from_sub + pem(stray),
        "from_sub2": pem(make_cert("svc01", server, "Test sub2 CA", keys["sub2"])) + pem(sub) + pem(sub2),
        # Claims the CA's name as issuer, but another key signed it.
        "forged": pem(make_cert("svc01", server, "Test CA", keys["other"])),
        "garbled_cert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    }


def check(material: dict, cert="cert", key="key", ca="ca", host="svc01", now=NOW) -> list[str]:
    return pki.tls_problems(material.get(cert, cert), material.get(key, key), material.get(ca, ca), NAMES, host, now)


def key_lines(material: dict) -> list[str]:
    return [line for k in ("key", "spare_key") for line in material[k].splitlines() if "-----" not in line]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, [], id="sound"),
        pytest.param({"cert": "from_sub"}, [], id="through-an-intermediate-given-with-the-certificate"),
        pytest.param({"cert": "from_sub2"}, [], id="through-two-intermediates-in-any-order"),
        pytest.param({"cert": "from_sub_alone", "ca": "ca_and_sub"}, [], id="intermediate-in-the-ca-bundle"),
        pytest.param(
            {"cert": "", "key": "just text"},
            ["svc01: svc_tls_cert is empty or not PEM", "svc01: svc_tls_key is empty or not PEM"],
            id="empty-and-not-pem",
        ),
        pytest.param({"ca": None}, ["svc01: svc_tls_ca_cert is empty or not PEM"], id="ca-not-a-string"),
        pytest.param(
            {"cert": "garbled_cert"},
            ["svc01: svc_tls_cert cannot be read as an X.509 certificate"],
            id="cert-unreadable",
        ),
        pytest.param(
            {"cert": "key"}, ["svc01: svc_tls_cert cannot be read as an X.509 certificate"], id="key-given-as-cert"
        ),
        pytest.param(
            {"ca": "garbled_cert"}, ["svc01: svc_tls_ca_cert cannot be read as X.509 certificates"], id="ca-unreadable"
        ),
        pytest.param(
            {"key": "cert"}, ["svc01: svc_tls_key cannot be read as an unencrypted private key"], id="cert-given-as-key"
        ),
        pytest.param(
            {"key": "encrypted_key"},
            ["svc01: svc_tls_key cannot be read as an unencrypted private key"],
            id="encrypted-key",
        ),
        pytest.param(
            {"key": "spare_key"}, ["svc01: svc_tls_key does not belong to svc_tls_cert (CN=svc01)"], id="key-of-another"
        ),
        pytest.param(
            {"cert": "future"}, ["svc01: svc_tls_cert (CN=svc01) is not valid before 2026-12-02"], id="not-yet-valid"
        ),
        pytest.param({"cert": "expired"}, ["svc01: svc_tls_cert (CN=svc01) expired on 2026-11-29"], id="expired"),
        pytest.param({"ca": "other_ca"}, [NOT_ISSUED.format("CN=Test CA")], id="other-ca"),
        pytest.param({"cert": "forged"}, [NOT_ISSUED.format("CN=Test CA")], id="forged-issuer-name"),
        pytest.param({"cert": "from_sub_alone"}, [NOT_ISSUED.format("CN=Test sub CA")], id="intermediate-missing"),
        pytest.param(
            {"cert": "from_sub_with_stray"}, [NOT_ISSUED.format("CN=Test sub CA")], id="unrelated-intermediate"
        ),
        pytest.param(
            {"cert": "expired", "key": "spare_key", "ca": "other_ca"},
            [
                "svc01: svc_tls_key does not belong to svc_tls_cert (CN=svc01)",
                "svc01: svc_tls_cert (CN=svc01) expired on 2026-11-29",
                NOT_ISSUED.format("CN=Test CA"),
            ],
            id="every-fit-problem-at-once",
        ),
    ],
)
def test_problems(material, changes, expected):
    assert check(material, **changes) == expected


@pytest.mark.parametrize(
    "changes",
    [{"key": "spare_key"}, {"key": "encrypted_key"}, {"key": "cert"}, {"cert": "key"}, {"ca": "key"}, {"cert": ""}],
    ids=["key-of-another", "encrypted-key", "cert-as-key", "key-as-cert", "key-as-ca", "empty-cert"],
)
def test_no_message_quotes_a_key(material, changes):
    problems = check(material, **changes)
    assert problems
    text = "\n".join(problems)
    assert "PRIVATE KEY" not in text
    for line in key_lines(material):
        assert line not in text


def test_without_a_host_the_messages_start_with_the_variable(material):
    assert check(material, key="spare_key", host="") == ["svc_tls_key does not belong to svc_tls_cert (CN=svc01)"]


def test_windows_line_ends_are_accepted(material):
    crlf = {k: v.replace("\n", "\r\n") for k, v in material.items()}
    assert check(crlf) == []


@pytest.mark.parametrize(
    ("now", "sound"),
    [
        ("2026-11-30T12:00:00+00:00", True),
        ("2026-11-30T12:00:00", True),  # naive: UTC
        ("2027-06-01T00:00:00", False),
        (datetime.datetime(2026, 11, 30, 12, 0), True),  # noqa: DTZ001 - a naive datetime is taken as UTC
        (datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC), False),
    ],
)
def test_the_time_may_be_given_as_text_or_datetime(material, now, sound):
    assert (check(material, now=now) == []) is sound


def test_without_a_time_the_check_uses_the_current_time(material):
    # The test certificates are valid around NOW (2026-11-30); today they are either not yet valid or expired.
    today = datetime.datetime.now(datetime.UTC)
    problems = check(material, now=None)
    if NOW - datetime.timedelta(days=1) < today < NOW + datetime.timedelta(days=30):
        assert problems == []
    else:
        assert len(problems) == 1
        assert "is not valid before" in problems[0] or "expired on" in problems[0]


def test_a_bad_time_is_an_error(material):
    with pytest.raises(AnsibleFilterError, match="now must be a datetime or an ISO 8601 time"):
        check(material, now="yesterday")


@pytest.mark.parametrize("names", [None, {"cert": "a", "key": "b"}, {"cert": "a", "key": "b", "ca": 3}])
def test_names_must_give_every_variable(material, names):
    with pytest.raises(AnsibleFilterError, match="names must map cert, key and ca"):
        pki.tls_problems(material["cert"], material["key"], material["ca"], names)


def test_the_filter_is_registered_and_ansible_finds_it():
    assert pki.FilterModule().filters() == {"pki_tls_problems": pki.tls_problems}
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    assert cfg["defaults"]["filter_plugins"] == "plugins/filter"
    molecule = (ROOT / ".config" / "molecule" / "config.yml").read_text(encoding="utf-8")
    assert "filter_plugins: ${MOLECULE_PROJECT_DIRECTORY}/plugins/filter" in molecule


def test_no_role_keeps_its_own_copy_of_the_check():
    for plugin in ROOT.glob("roles/*/filter_plugins/*.py"):
        text = plugin.read_text(encoding="utf-8")
        assert not re.search(r"def \w*tls_problems", text), plugin
        assert "load_pem_private_key" not in text, plugin
    for tasks in ROOT.glob("roles/*/tasks/*.yml"):
        for line in tasks.read_text(encoding="utf-8").splitlines():
            if "tls_problems(" in line:
                assert "pki_tls_problems(" in line, f"{tasks}: {line.strip()}"

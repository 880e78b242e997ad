"""roles/mail_server/filter_plugins/mail_server.py: the mail server's input checks and derived values."""

import base64
import copy
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import get_encrypted_password
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from passlib.hash import sha512_crypt
from pkitools import throwaway_pki, tls_task_problems

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "mail_server"
sys.path.insert(0, str(ROLE / "filter_plugins"))

import mail_server  # noqa: E402 - a role's filter plugins are not a package

D = "ornek.bel.tr"
KEY = "vault-salt-key-0123456789"

GOOD = {
    "mail_server_domains": [D, "zabita.ornek.bel.tr"],
    "mail_server_hostname": "posta.ornek.bel.tr",
    "mail_server_mynetworks": ["10.20.30.0/24", "2001:db8:10::/48"],
    "mail_server_default_quota": "2G",
    "mail_server_mailboxes": [
        {
            "address": f"ayse.yilmaz@{D}",
            "name": "Ayşe Yılmaz",
            "password": "Gizli.Parola.1",
            "directorate": "fen_isleri",
        },
        {"address": f"ali.kaya@{D}", "password": "Gizli.Parola.2", "quota": "500m", "directorate": "fen_isleri"},
        {"address": "memur@zabita.ornek.bel.tr", "password": "Gizli.Parola.3", "quota": "1G"},
        {"address": f"eski@{D}", "directorate": "fen_isleri", "state": "absent"},
    ],
    "mail_server_aliases": [{"address": f"destek@{D}", "to": [f"ayse.yilmaz@{D}", "x@baska.example"]}],
    "mail_server_lists": [
        {"address": f"fen-isleri@{D}", "directorate": "fen_isleri", "members": ["muhtar@baska.example"]},
    ],
    "mail_server_password_salt_key": KEY,
}


def inputs(**changes) -> dict:
    """The good inputs with some variables replaced: inputs(mail_server_domains=[])."""
    out = copy.deepcopy(GOOD)
    out.update(copy.deepcopy(changes))
    return out


def box(index: int, **fields) -> list:
    """The good mailboxes with fields of one changed (None removes a field)."""
    boxes = copy.deepcopy(GOOD["mail_server_mailboxes"])
    boxes[index].update(fields)
    for key in [k for k, v in fields.items() if v is None]:
        del boxes[index][key]
    return boxes


# --- mail_server_problems ------------------------------------------------------------------------


def test_good_inputs_have_no_problems():
    assert mail_server.mail_server_problems(GOOD, "mail01") == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"mail_server_domains": []}, "must be a non-empty list of mail domains", id="no-domains"),
        pytest.param({"mail_server_domains": "ornek.bel.tr"}, "must be a non-empty list", id="domains-string"),
        pytest.param({"mail_server_domains": ["Ornek.bel.tr"]}, "not a lower-case DNS name", id="domain-upper"),
        pytest.param({"mail_server_domains": ["localhost"]}, "'localhost', which is not", id="domain-no-dot"),
        pytest.param({"mail_server_domains": [D, D]}, f"lists {D} twice", id="domain-twice"),
        pytest.param({"mail_server_hostname": "posta"}, "mail_server_hostname must be empty or", id="hostname-short"),
        pytest.param({"mail_server_mynetworks": ["10.20.30.1/24"]}, "has host bits set", id="net-host-bits"),
        pytest.param({"mail_server_mynetworks": ["10.20.30.0"]}, "not a network in CIDR", id="net-no-prefix"),
        pytest.param({"mail_server_mynetworks": ["10.300.0.0/16"]}, "is not a valid network", id="net-invalid"),
        pytest.param({"mail_server_mynetworks": ["0.0.0.0/0"]}, "an open relay", id="net-everything"),
        pytest.param({"mail_server_mynetworks": ["10.0.0.0/7"]}, "wider than /8", id="net-too-wide"),
        pytest.param({"mail_server_mynetworks": ["::/0"]}, "wider than /16", id="net6-everything"),
        pytest.param({"mail_server_mynetworks": "10.0.0.0/8"}, "must be a list of networks", id="net-string"),
        pytest.param({"mail_server_default_quota": "2 GB"}, "default_quota must be a size", id="default-quota"),
        pytest.param(
            {"mail_server_mailboxes": box(0, address="ayse@baska.example")},
            "is not in a served domain",
            id="mailbox-other-domain",
        ),
        pytest.param(
            {"mail_server_mailboxes": box(0, address=f"Ayse@{D}")}, "must be written in lower case", id="mailbox-upper"
        ),
        pytest.param(
            {"mail_server_mailboxes": box(0, address=f"ayşe@{D}")}, "local part that is not ASCII", id="mailbox-turkish"
        ),
        pytest.param({"mail_server_mailboxes": box(0, address=f"a..b@{D}")}, "double dot", id="mailbox-double-dot"),
        pytest.param({"mail_server_mailboxes": box(0, address="ayse")}, "local@domain", id="mailbox-no-at"),
        pytest.param(
            {"mail_server_mailboxes": box(1, address=f"ayse.yilmaz@{D}")},
            "already defined as a mailbox",
            id="mailbox-twice",
        ),
        pytest.param({"mail_server_mailboxes": box(0, quota="2GB")}, "quota must be a size", id="quota-unit"),
        pytest.param({"mail_server_mailboxes": box(0, quota="0")}, "quota must be a size", id="quota-zero"),
        pytest.param({"mail_server_mailboxes": box(0, quota=2)}, "quota must be a size", id="quota-number"),
        pytest.param({"mail_server_mailboxes": box(0, password=None)}, "password must be a string", id="no-password"),
        pytest.param({"mail_server_mailboxes": box(0, password="kisa")}, "at least 12 characters", id="short-password"),  # noqa: S106
        pytest.param({"mail_server_mailboxes": box(0, state="disabled")}, "present or absent", id="bad-state"),
        pytest.param(
            {"mail_server_mailboxes": box(0, directorate="Fen İşleri")}, "directorate must be", id="bad-directorate"
        ),
        pytest.param({"mail_server_mailboxes": box(0, name="a\nb")}, "name must be one line", id="name-lines"),
        pytest.param({"mail_server_mailboxes": box(0, passwd="x")}, "unknown keys passwd", id="mailbox-unknown-key"),  # noqa: S106
        pytest.param({"mail_server_mailboxes": ["ayse"]}, "must be a mapping", id="mailbox-not-mapping"),
        pytest.param(
            {"mail_server_aliases": [{"address": f"ali.kaya@{D}", "to": [f"ayse.yilmaz@{D}"]}]},
            "already defined as a mailbox",
            id="alias-is-mailbox",
        ),
        pytest.param(
            {"mail_server_aliases": [{"address": f"destek@{D}", "to": []}]}, "at least one address", id="alias-empty"
        ),
        pytest.param(
            {"mail_server_aliases": [{"address": f"destek@{D}", "to": f"ayse.yilmaz@{D}"}]},
            "to must be a list of addresses",
            id="alias-to-string",
        ),
        pytest.param(
            {"mail_server_aliases": [{"address": f"destek@{D}", "to": ["yanlis adres"]}]},
            "'yanlis adres', which is not",
            id="alias-bad-target",
        ),
        pytest.param(
            {"mail_server_aliases": [{"address": f"destek@{D}", "to": [f"destek@{D}"]}]},
            "cannot point to itself",
            id="alias-loop",
        ),
        pytest.param(
            {"mail_server_lists": [{"address": f"imar@{D}", "directorate": "imar"}]}, "reaches nobody", id="list-empty"
        ),
        pytest.param(
            {"mail_server_lists": [{"address": f"eski-liste@{D}", "directorate": "yok", "members": []}]},
            "reaches nobody",
            id="list-only-unknown-directorate",
        ),
        pytest.param(
            {"mail_server_lists": [{"address": f"destek@{D}", "directorate": "fen_isleri"}]},
            "already defined as a alias",
            id="list-is-alias",
        ),
        pytest.param(
            {"mail_server_lists": [{"address": f"fen@{D}", "directorate": "fen_isleri", "members": [f"fen@{D}"]}]},
            "its own member",
            id="list-loop",
        ),
        pytest.param(
            {"mail_server_lists": [{"address": f"fen@{D}"}]},
            "directorate must be a lower-case",
            id="list-no-directorate",
        ),
        pytest.param({"mail_server_password_salt_key": ""}, "password_salt_key must be a secret", id="no-salt-key"),
        pytest.param({"mail_server_password_salt_key": "short"}, "at least 16 characters", id="short-salt-key"),
    ],
)
def test_bad_inputs_are_reported_with_host_and_variable(changes, expected):
    problems = mail_server.mail_server_problems(inputs(**changes), "mail01")
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("mail01: mail_server_") for p in problems), problems


def test_secrets_are_never_quoted_in_problems():
    bad = inputs(mail_server_mailboxes=box(0, password="kisa1"), mail_server_password_salt_key="gizli")  # noqa: S106 - test values
    text = "; ".join(mail_server.mail_server_problems(bad, "mail01"))
    assert "kisa1" not in text
    assert "gizli" not in text


def test_an_absent_mailbox_needs_no_password_and_no_salt_key_without_present_mailboxes():
    only_absent = inputs(
        mail_server_mailboxes=[{"address": f"eski@{D}", "state": "absent"}],
        mail_server_aliases=[],
        mail_server_lists=[],
        mail_server_password_salt_key="",
    )
    assert mail_server.mail_server_problems(only_absent) == []


def test_a_list_of_only_absent_mailboxes_reaches_nobody():
    bad = inputs(
        mail_server_lists=[{"address": f"eskiler@{D}", "directorate": "arsiv"}],
        mail_server_mailboxes=box(3, directorate="arsiv"),
    )
    assert any("reaches nobody" in p for p in mail_server.mail_server_problems(bad))


# --- mail_server_range_problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "entry", "expected"),
    [
        pytest.param(
            "mail_server_aliases", {"address": f"destek@{D}", "to": [f"eski@{D}"]},
            f"mail_server_aliases 'destek@{D}': to names eski@{D}, whose mailbox is absent (a leaver)",
            id="alias-to-a-leaver",
        ),
        pytest.param(
            "mail_server_aliases", {"address": f"destek@{D}", "to": [f"ayse.yilmz@{D}"]},
            f"to names ayse.yilmz@{D}, which is no mailbox, alias or list here", id="alias-to-a-typo",
        ),
        pytest.param(
            "mail_server_lists",
            {"address": f"fen-isleri@{D}", "directorate": "fen_isleri", "members": [f"eski@{D}"]},
            f"mail_server_lists 'fen-isleri@{D}': members names eski@{D}, whose mailbox is absent",
            id="list-member-a-leaver",
        ),
        pytest.param(
            "mail_server_lists",
            {"address": f"fen-isleri@{D}", "directorate": "fen_isleri", "members": ["kimse@zabita.ornek.bel.tr"]},
            "members names kimse@zabita.ornek.bel.tr, which is no mailbox, alias or list here",
            id="list-member-unknown-in-a-served-domain",
        ),
    ],
)  # fmt: skip
def test_targets_in_served_domains_must_exist_and_not_be_leavers(var, entry, expected):
    problems = mail_server.mail_server_problems(inputs(**{var: [entry]}), "mail01")
    assert any(p.startswith("mail01: ") and expected in p for p in problems), problems


def test_targets_may_be_aliases_lists_and_outside_addresses():
    aliases = [
        {"address": f"destek@{D}", "to": [f"fen-isleri@{D}", "dis@baska.example"]},
        {"address": f"bilgi@{D}", "to": [f"destek@{D}", "memur@zabita.ornek.bel.tr"]},
    ]
    assert mail_server.mail_server_problems(inputs(mail_server_aliases=aliases), "mail01") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(100, [], id="in-range"),
        pytest.param("100", [], id="digits-string"),
        pytest.param(0, ["mail01: limit must be from 1 to 1000, got 0"], id="too-small"),
        pytest.param(1001, ["mail01: limit must be from 1 to 1000, got 1001"], id="too-big"),
        pytest.param("çok", ["mail01: limit must be a whole number, got 'çok'"], id="text"),
        pytest.param(True, ["mail01: limit must be a whole number, got True (bool)"], id="bool"),
    ],
)
def test_range_problems(value, expected):
    rows = [{"key": "limit", "value": value, "min": 1, "max": 1000}]
    assert mail_server.mail_server_range_problems(rows, "mail01") == expected


# --- mail_server_salt ----------------------------------------------------------------------------


def test_salt_is_stable_and_in_crypts_alphabet():
    salt = mail_server.mail_server_salt(f"ayse.yilmaz@{D}", KEY)
    assert salt == mail_server.mail_server_salt(f"ayse.yilmaz@{D}", KEY)
    assert len(salt) == 16
    assert set(salt) <= set(mail_server.CRYPT_ALPHABET)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        pytest.param(f"ali.kaya@{D}", KEY, id="other-address"),
        pytest.param(f"ayse.yilmaz@{D}", KEY + "x", id="other-key"),
    ],
)
def test_salt_differs_per_address_and_key(address, key):
    assert mail_server.mail_server_salt(address, key) != mail_server.mail_server_salt(f"ayse.yilmaz@{D}", KEY)


def test_salt_ignores_the_case_of_the_address():
    assert mail_server.mail_server_salt(f"Ayse.Yilmaz@{D}", KEY) == mail_server.mail_server_salt(
        f"ayse.yilmaz@{D}", KEY
    )


def test_salt_needs_a_key():
    with pytest.raises(AnsibleFilterError, match="salt key"):
        mail_server.mail_server_salt(f"ayse@{D}", "")


def test_password_hash_with_the_salt_is_the_same_on_every_run_and_verifies():
    """What makes the second run change nothing: Ansible's password_hash with the derived salt."""
    salt = mail_server.mail_server_salt(f"ayse.yilmaz@{D}", KEY)
    first = get_encrypted_password("Gizli.Parola.1", "sha512", salt=salt, rounds=100000)
    assert first == get_encrypted_password("Gizli.Parola.1", "sha512", salt=salt, rounds=100000)
    assert first.startswith("$6$rounds=100000$")
    assert sha512_crypt.verify("Gizli.Parola.1", first)
    assert not sha512_crypt.verify("Gizli.Parola.2", first)
    assert first != get_encrypted_password("Gizli.Parola.2", "sha512", salt=salt, rounds=100000)


# --- mail_server_present, mail_server_quota ------------------------------------------------------


def test_present_mailboxes_are_sorted_with_quota_and_without_passwords():
    rows = mail_server.mail_server_present(GOOD["mail_server_mailboxes"], "2G")
    assert [r["address"] for r in rows] == [f"ali.kaya@{D}", f"ayse.yilmaz@{D}", "memur@zabita.ornek.bel.tr"]
    assert [r["quota"] for r in rows] == ["500M", "2G", "1G"]
    assert rows[1]["local"] == "ayse.yilmaz"
    assert rows[1]["domain"] == D
    assert all("password" not in r for r in rows)


def test_present_mailboxes_keep_passwords_only_when_asked():
    rows = mail_server.mail_server_present(GOOD["mail_server_mailboxes"], "2G", True)
    assert rows[1]["password"] == "Gizli.Parola.1"  # noqa: S105


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        pytest.param("500m", "2G", "500M", id="own-lower"),
        pytest.param(None, "2g", "2G", id="default"),
        pytest.param("", "1T", "1T", id="empty-is-default"),
        pytest.param("1024", "2G", "1024", id="bytes"),
    ],
)
def test_quota(value, default, expected):
    assert mail_server.mail_server_quota(value, default) == expected


def test_quota_refuses_a_bad_size():
    with pytest.raises(AnsibleFilterError, match="not a size"):
        mail_server.mail_server_quota("2 GB", "2G")


# --- mail_server_virtual_aliases -----------------------------------------------------------------


def test_lists_reach_the_present_mailboxes_of_their_directorate_and_their_members():
    entries = mail_server.mail_server_virtual_aliases(
        GOOD["mail_server_aliases"], GOOD["mail_server_lists"], GOOD["mail_server_mailboxes"]
    )
    assert entries == [
        {"address": f"destek@{D}", "targets": [f"ayse.yilmaz@{D}", "x@baska.example"]},
        {"address": f"fen-isleri@{D}", "targets": [f"ali.kaya@{D}", f"ayse.yilmaz@{D}", "muhtar@baska.example"]},
    ]


def test_a_member_who_is_also_in_the_directorate_is_listed_once():
    lists = [{"address": f"fen@{D}", "directorate": "fen_isleri", "members": [f"ali.kaya@{D}"]}]
    entries = mail_server.mail_server_virtual_aliases([], lists, GOOD["mail_server_mailboxes"])
    assert entries[0]["targets"] == [f"ali.kaya@{D}", f"ayse.yilmaz@{D}"]


def test_a_list_that_reaches_nobody_is_an_error():
    lists = [{"address": f"imar@{D}", "directorate": "imar"}]
    with pytest.raises(AnsibleFilterError, match="reaches nobody"):
        mail_server.mail_server_virtual_aliases([], lists, GOOD["mail_server_mailboxes"])


# --- mail_server_dkim_public_key -----------------------------------------------------------------


def test_dkim_public_key_is_the_pem_body_on_one_line():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert mail_server.mail_server_dkim_public_key(pem.decode()) == base64.b64encode(der).decode()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", id="certificate"),
        pytest.param("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", id="not-base64"),
        pytest.param(None, id="none"),
    ],
)
def test_dkim_public_key_refuses_what_is_not_a_public_key(value):
    with pytest.raises(AnsibleFilterError, match="mail_server_dkim_public_key"):
        mail_server.mail_server_dkim_public_key(value)


# --- mail_server_dns_records ---------------------------------------------------------------------

PARAMS = {
    "hostname": "posta.ornek.bel.tr",
    "mx_priority": 10,
    "spf": "",
    "selector": "posta2026",
    "dkim_key": "MIIBIjANBgkq",
    "dmarc_policy": "quarantine",
    "dmarc_rua": "mailto:dmarc@ornek.bel.tr",
    "source": "mail01",
}


def test_dns_records_are_zone_file_text():
    assert mail_server.mail_server_dns_records(D, PARAMS) == (
        "; Mail records of ornek.bel.tr, written by Ansible (role mail_server, host mail01).\n"
        "; For the DNS administrators: publish these in the zone; the file is rewritten on every run.\n"
        "; The MX target posta.ornek.bel.tr needs its own A/AAAA record.\n"
        "$ORIGIN ornek.bel.tr.\n"
        "@                     IN  MX   10 posta.ornek.bel.tr.\n"
        '@                     IN  TXT  "v=spf1 mx -all"\n'
        'posta2026._domainkey  IN  TXT  "v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkq"\n'
        '_dmarc                IN  TXT  "v=DMARC1; p=quarantine; rua=mailto:dmarc@ornek.bel.tr"\n'
    )


def test_dns_records_are_the_same_for_the_same_input():
    assert mail_server.mail_server_dns_records(D, PARAMS) == mail_server.mail_server_dns_records(D, dict(PARAMS))


def test_a_long_dkim_key_is_split_into_strings_of_at_most_255_characters():
    key = "A" * 392  # the p= of a 2048-bit key
    text = mail_server.mail_server_dns_records(D, {**PARAMS, "dkim_key": key})
    record = text.split("posta2026._domainkey", 1)[1].split("_dmarc", 1)[0]
    strings = [s for s in record.split('"')[1::2]]
    assert len(strings) == 2
    assert all(len(s) <= 255 for s in strings)
    assert "".join(strings) == f"v=DKIM1; h=sha256; k=rsa; p={key}"


@pytest.mark.parametrize(
    ("changes", "present", "absent"),
    [
        pytest.param(
            {"spf": "v=spf1 mx ip4:203.0.113.5 -all"}, '"v=spf1 mx ip4:203.0.113.5 -all"', "v=spf1 mx -all", id="spf"
        ),
        pytest.param({"dmarc_rua": ""}, '"v=DMARC1; p=quarantine"', "rua=", id="no-rua"),
        pytest.param({"dmarc_policy": "reject"}, "p=reject", "p=quarantine", id="reject"),
        pytest.param({"dkim_key": ""}, "DKIM: no key yet", "_domainkey", id="no-key-yet"),
        pytest.param({"mx_priority": 20}, "MX   20 posta", "MX   10", id="priority"),
    ],
)
def test_dns_records_follow_the_settings(changes, present, absent):
    text = mail_server.mail_server_dns_records(D, {**PARAMS, **changes})
    assert present in text
    assert absent not in text


def test_dns_records_refuse_an_unknown_dmarc_policy():
    with pytest.raises(AnsibleFilterError, match="DMARC policy"):
        mail_server.mail_server_dns_records(D, {**PARAMS, "dmarc_policy": "drop"})


# --- the TLS check: pki_tls_problems (plugins/filter/pki.py, tested in test_pki_filter.py) --------


def test_the_tls_check_names_the_roles_variables():
    pki = throwaway_pki("posta.ornek.bel.tr")
    assert tls_task_problems("mail_server", "mail01", pki) == []
    assert tls_task_problems("mail_server", "mail01", {**pki, "ca": ""}) == [
        "mail01: mail_server_tls_ca_cert is empty or not PEM"
    ]
    assert tls_task_problems("mail_server", "mail01", {**pki, "key": pki["spare_key"]}) == [
        "mail01: mail_server_tls_key does not belong to mail_server_tls_cert (CN=posta.ornek.bel.tr)"
    ]

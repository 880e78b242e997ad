"""roles/backup_target/filter_plugins/backup_target.py: the backup target's input checks and derived values."""
# ruff: noqa: S104, S106 - throw-away passwords and listen addresses are the data under test

import copy
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import get_encrypted_password
from pkitools import throwaway_pki, tls_task_problems

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "backup_target" / "filter_plugins"))

import backup_target  # noqa: E402 - a role's filter plugins are not a package

SALT_KEY = "vault-salt-key-0123456789"
RETENTION = {"daily": 7, "weekly": 4, "monthly": 12}


def client(name: str, **fields) -> dict:
    row = {
        "name": name,
        "http_password": f"{name}-http-parola-0123",
        "repository_password": f"{name}-depo-parolasi-0123",
        "retention": dict(RETENTION),
    }
    row.update(fields)
    return row


GOOD = {
    "backup_target_listen_address": "10.50.0.13",
    "backup_target_port": 8000,
    "backup_target_data_dir": "/srv/backup/restic",
    "backup_target_clients": [client("app01"), client("log01", retention={"daily": 14})],
    "backup_target_default_retention": dict(RETENTION),
    "backup_target_htpasswd_salt_key": SALT_KEY,
    "backup_target_htpasswd_rounds": 5,
    "backup_target_prune_password": "hedef-anahtari-0123456789",
    "backup_target_prune_group_by": "host,paths",
    "backup_target_prune_on_calendar": "*-*-* 05:00:00",
    "backup_target_tape_enabled": True,
    "backup_target_tape_device": "/dev/nst0",
    "backup_target_tape_changer": "/dev/sg3",
    "backup_target_tape_slot": 1,
    "backup_target_tape_block_size": 262144,
    "backup_target_tape_repositories": ["app01"],
    "backup_target_tape_label_prefix": "BEL",
    "backup_target_tape_on_calendar": "Sun *-*-* 06:00:00",
}


def inputs(**changes) -> dict:
    out = copy.deepcopy(GOOD)
    out.update(copy.deepcopy(changes))
    return out


# --- backup_target_problems ----------------------------------------------------------------------


def test_good_inputs_have_no_problems():
    assert backup_target.backup_target_problems(GOOD, "yedek01") == []


def test_ipv6_and_all_addresses_and_a_lab_tape_file_are_accepted():
    changes = {"backup_target_listen_address": "2001:db8::13", "backup_target_tape_device": "/srv/backup/tape/t0.img"}
    assert backup_target.backup_target_problems(inputs(**changes), "yedek01") == []
    assert backup_target.backup_target_problems(inputs(backup_target_listen_address="0.0.0.0"), "yedek01") == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"backup_target_listen_address": "yedek01.ornek.bel.tr"}, "is not an IP address", id="name"),
        pytest.param({"backup_target_listen_address": "10.50.0.300"}, "is not an IP address", id="bad-ip"),
        pytest.param({"backup_target_listen_address": "224.0.0.1"}, "is a multicast address", id="multicast"),
        pytest.param({"backup_target_listen_address": ""}, "must be an IP address", id="empty-address"),
        pytest.param({"backup_target_port": 80}, "backup_target_port must be from 1024 to 65535", id="low-port"),
        pytest.param({"backup_target_port": "sekiz"}, "backup_target_port must be a whole number", id="port-text"),
        pytest.param({"backup_target_htpasswd_rounds": 14}, "rounds must be from 4 to 12", id="rounds"),
        pytest.param({"backup_target_data_dir": "srv/backup"}, "data_dir must be an absolute path", id="relative"),
        pytest.param({"backup_target_data_dir": "/srv/../etc"}, "without '..'", id="dotdot"),
        pytest.param({"backup_target_data_dir": "/var"}, "must not be the system directory /var", id="system-dir"),
        pytest.param(
            {"backup_target_htpasswd_salt_key": "kisa"}, "salt_key must be one line of at least 16", id="salt"
        ),
        pytest.param({"backup_target_prune_password": ""}, "prune_password must be one line of at least 16", id="key"),
        pytest.param({"backup_target_prune_group_by": "host paths"}, "group_by must be a comma-separated", id="group"),
        pytest.param({"backup_target_prune_on_calendar": "her gün"}, "must be a systemd calendar", id="calendar"),
        pytest.param({"backup_target_default_retention": {"daily": 0}}, "keeps nothing", id="keeps-nothing"),
        pytest.param({"backup_target_default_retention": {"hourly": 3}}, "unknown keys hourly", id="hourly"),
        pytest.param({"backup_target_default_retention": [7]}, "must be a mapping", id="retention-list"),
        pytest.param({"backup_target_tape_device": "/dev/st0"}, "not a non-rewinding tape device", id="rewinding"),
        pytest.param({"backup_target_tape_device": "tape0.img"}, "must be an absolute path", id="tape-relative"),
        pytest.param({"backup_target_tape_device": "/srv/tape0.img"}, "directory of its own", id="tape-in-srv"),
        pytest.param({"backup_target_tape_changer": "sg3"}, "tape_changer must be empty", id="changer"),
        pytest.param({"backup_target_tape_slot": 0}, "tape_slot must be from 1 to 9999", id="slot"),
        pytest.param({"backup_target_tape_block_size": 10000}, "multiple of 512", id="block-odd"),
        pytest.param({"backup_target_tape_block_size": 512}, "from 10240 to 1048576", id="block-small"),
        pytest.param({"backup_target_tape_label_prefix": "bel"}, "upper-case letters", id="prefix"),
        pytest.param(
            {"backup_target_tape_repositories": ["mail01"]}, "names 'mail01', which is not a client", id="tape-repo"
        ),
        pytest.param(
            {"backup_target_tape_repositories": "app01"}, "must be a list of client names", id="tape-repos-str"
        ),
        pytest.param(
            {"backup_target_tape_on_calendar": "haftalık\n"}, "tape_on_calendar must be a systemd", id="tape-cal"
        ),
    ],
)
def test_bad_inputs_are_named_with_host_and_variable(changes, expected):
    problems = backup_target.backup_target_problems(inputs(**changes), "yedek01")
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("yedek01: ") for p in problems), problems


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(client("App01"), "client 'App01' is not a lower-case host name", id="upper"),
        pytest.param(client("app:01"), "is not a lower-case host name", id="colon"),
        pytest.param(client("app01", http_password="kisa"), "client app01: backup_client_http_password", id="http"),
        pytest.param(client("app01", http_password=None), "backup_client_http_password must be one line", id="none"),
        pytest.param(
            client("app01", repository_password="satir\nsatir-0123456789"),
            "client app01: backup_client_repository_password must be one line",
            id="repo-two-lines",
        ),
        pytest.param(client("app01", retention={"daily": -1}), "retention.daily must be a whole number", id="negative"),
        pytest.param(client("app01", retention={"weekly": "dört"}), "retention.weekly must be", id="weekly-text"),
        pytest.param(client("app01", retention={"daily": 9999}), "from 0 to 3660", id="too-many"),
        pytest.param(client("app01", retention={"daily": 0, "weekly": 0}), "retention keeps nothing", id="nothing"),
    ],
)
def test_bad_clients_are_named(row, expected):
    problems = backup_target.backup_target_problems(inputs(backup_target_clients=[row]), "yedek01")
    assert any(expected in p for p in problems), problems


def test_a_client_listed_twice_is_refused():
    problems = backup_target.backup_target_problems(
        inputs(backup_target_clients=[client("app01"), client("app01")]), "yedek01"
    )
    assert any("client app01 is listed twice" in p for p in problems)


def test_no_message_quotes_a_secret():
    rows = [client("app01", http_password="Gizli"), client("log01", repository_password="Cok-Gizli")]
    bad = inputs(
        backup_target_clients=rows,
        backup_target_htpasswd_salt_key="TuzAnahtari",
        backup_target_prune_password="HedefAnahtar",
    )
    text = " ".join(backup_target.backup_target_problems(bad, "yedek01"))
    assert text
    for word in ("Gizli", "Cok-Gizli", "TuzAnahtari", "HedefAnahtar"):
        assert word not in text.replace("backup_client", "")


def test_tape_settings_are_not_checked_when_the_tape_is_off():
    bad = inputs(backup_target_tape_enabled=False, backup_target_tape_device="/dev/st0")
    assert backup_target.backup_target_problems(bad, "yedek01") == []


# --- backup_target_clients -----------------------------------------------------------------------

HOSTVARS = {
    "app01": {
        "backup_client_http_password": "app01-http-parola-0123",
        "backup_client_repository_password": "app01-depo-parolasi-0123",
        "backup_client_retention": {"daily": 3},
    },
    "log01": {
        "backup_client_http_password": "log01-http-parola-0123",
        "backup_client_repository_password": "log01-depo-parolasi-0123",
    },
}


@pytest.mark.parametrize(
    ("names", "with_secrets", "expected"),
    [
        pytest.param(
            ["log01", "app01"],
            False,
            [
                {"name": "app01", "retention": {"daily": 3, "weekly": 4, "monthly": 12}},
                {"name": "log01", "retention": RETENTION},
            ],
            id="sorted-retention-merged-no-secrets",
        ),
        pytest.param(
            ["app01"],
            True,
            [
                {
                    "name": "app01",
                    "retention": {"daily": 3, "weekly": 4, "monthly": 12},
                    "http_password": "app01-http-parola-0123",
                    "repository_password": "app01-depo-parolasi-0123",
                }
            ],
            id="with-secrets",
        ),
        pytest.param(
            ["yok01"],
            True,
            [{"name": "yok01", "retention": RETENTION, "http_password": "", "repository_password": ""}],
            id="unknown-host-has-empty-secrets",
        ),
    ],
)
def test_client_rows(names, with_secrets, expected):
    assert backup_target.backup_target_clients(names, HOSTVARS, RETENTION, with_secrets) == expected


def test_client_rows_need_a_list():
    with pytest.raises(AnsibleFilterError, match="expected a list of client names"):
        backup_target.backup_target_clients("app01", HOSTVARS, RETENTION)


# --- backup_target_salt --------------------------------------------------------------------------


def test_salt_is_stable_per_user_and_key_and_has_bcrypt_padding():
    salt = backup_target.backup_target_salt("app01", SALT_KEY)
    assert salt == backup_target.backup_target_salt("app01", SALT_KEY)
    assert salt != backup_target.backup_target_salt("log01", SALT_KEY)
    assert salt != backup_target.backup_target_salt("app01", SALT_KEY + "x")
    assert len(salt) == 22
    assert set(salt) <= set(backup_target.BCRYPT_ALPHABET)
    # 128 bits in 22 characters of 6 bits: the last character carries 4 zero padding bits.
    assert salt[-1] in ".Oeu"


@pytest.mark.parametrize(("user", "key"), [("", SALT_KEY), ("app01", ""), (None, SALT_KEY)])
def test_salt_needs_user_and_key(user, key):
    with pytest.raises(AnsibleFilterError, match="needs the user name and a non-empty salt key"):
        backup_target.backup_target_salt(user, key)


def test_the_htpasswd_hash_is_stable_bcrypt():
    """What templates/htpasswd.j2 writes: the same line on every run, a new one for a new password."""
    salt = backup_target.backup_target_salt("app01", SALT_KEY)
    first = get_encrypted_password("app01-http-parola-0123", "bcrypt", salt=salt, rounds=5, ident="2b")
    again = get_encrypted_password("app01-http-parola-0123", "bcrypt", salt=salt, rounds=5, ident="2b")
    other = get_encrypted_password("app01-yeni-parola-0123", "bcrypt", salt=salt, rounds=5, ident="2b")
    assert first == again
    assert first.startswith("$2b$05$")
    assert len(first) == 60
    assert other != first


# --- the TLS check: pki_tls_problems (plugins/filter/pki.py, tested in test_pki_filter.py) --------


def test_the_tls_check_names_the_roles_variables():
    pki = throwaway_pki("yedek01")
    assert tls_task_problems("backup_target", "yedek01", pki) == []
    assert tls_task_problems("backup_target", "yedek01", {**pki, "ca": ""}) == [
        "yedek01: backup_target_tls_ca_cert is empty or not PEM"
    ]
    assert tls_task_problems("backup_target", "yedek01", {**pki, "key": pki["spare_key"]}) == [
        "yedek01: backup_target_tls_key does not belong to backup_target_tls_cert (CN=yedek01)"
    ]

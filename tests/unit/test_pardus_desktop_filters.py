"""Table-driven tests of role pardus_desktop's filters: its input checks and the members to take
out of the local administrator groups."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripttools import load_script  # noqa: E402

filters = load_script(
    ROOT / "roles" / "pardus_desktop" / "filter_plugins" / "pardus_desktop.py", "pardus_desktop_filters"
)

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
GOOD = {
    "pardus_desktop_release": "23",
    "pardus_desktop_apps": ["firefox-esr", "libreoffice-writer"],
    "pardus_desktop_apps_by_directorate": {"dir_imar": ["qgis", "librecad"]},
    "pardus_desktop_apps_absent": ["telnet"],
    "pardus_desktop_printers_by_site": {
        "merkez": [
            {"name": "merkez-2-kat", "uri": "ipp://10.10.20.250/ipp/print", "description": "2. kat", "default": True},
            {"name": "merkez-arsiv", "uri": "socket://yazici-arsiv.ornek.bel.tr:9100"},
        ]
    },
    "pardus_desktop_browser_homepage": "https://intranet.ornek.bel.tr/",
    "pardus_desktop_browser_proxy": "proxy.ornek.bel.tr:3128",
    "pardus_desktop_ca_cert": CA,
    "pardus_desktop_ca_name": "ornek-kok-sertifika",
    "pardus_desktop_screenlock_idle_seconds": 600,
    "pardus_desktop_screenlock_delay_seconds": 0,
    "pardus_desktop_usb_storage_allowed": False,
    "pardus_desktop_admin_groups": ["sudo", "adm", "lpadmin"],
    "pardus_desktop_admin_allowed": [],
    "pardus_desktop_pull_enabled": True,
    "pardus_desktop_pull_url": "https://git.ornek.bel.tr/bim/belediye-iac.git",
    "pardus_desktop_pull_branch": "desktops",
    "pardus_desktop_pull_verify": "signature",
    "pardus_desktop_pull_trusted_keys": [
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----"
    ],
    "pardus_desktop_pull_inventory": "inventories/production",
    "pardus_desktop_pull_boot_delay": "10min",
    "pardus_desktop_pull_interval": "2h",
    "pardus_desktop_pull_random_delay": "30min",
}


def queue(**changes):
    return {"merkez": [{"name": "q1", "uri": "ipp://10.10.20.250/ipp/print", **changes}]}


BAD = [
    ("pull url not a url", {"pardus_desktop_pull_url": "git.ornek.bel.tr:bim/iac"}, "pardus_desktop_pull_url"),
    (
        "remote trust over plain http",
        {"pardus_desktop_pull_url": "http://git.ornek.bel.tr/iac.git", "pardus_desktop_pull_verify": "remote"},
        "trusts anyone on the path",
    ),
    ("signature without keys", {"pardus_desktop_pull_trusted_keys": []}, "no commit could be verified"),
    ("key not armoured", {"pardus_desktop_pull_trusted_keys": ["AB12CD34"]}, "entry 1 is not an armoured public key"),
    ("inventory outside the repo", {"pardus_desktop_pull_inventory": "../prod"}, "a path inside the repository"),
    (
        "interval not a time span",
        {"pardus_desktop_pull_interval": "her saat"},
        "pardus_desktop_pull_interval 'her saat'",
    ),
    ("release not a major number", {"pardus_desktop_release": "23.2"}, "pardus_desktop_release"),
    ("package name with a space", {"pardus_desktop_apps": ["libre office"]}, "pardus_desktop_apps: 'libre office'"),
    (
        "directorate key not a dir group",
        {"pardus_desktop_apps_by_directorate": {"imar": ["qgis"]}},
        "'imar' is not a directorate",
    ),
    (
        "app both wanted and forbidden",
        {"pardus_desktop_apps_absent": ["firefox-esr"]},
        "firefox-esr both wanted and forbidden",
    ),
    ("queue name with a space", {"pardus_desktop_printers_by_site": queue(name="kat 2")}, "name must be"),
    ("queue uri scheme unknown", {"pardus_desktop_printers_by_site": queue(uri="smb://srv/q")}, "uri must start with"),
    (
        "queue uri with a bad address",
        {"pardus_desktop_printers_by_site": queue(uri="ipp://10.10.20.300/ipp")},
        "10.10.20.300 is not a valid IP",
    ),
    ("queue key typo", {"pardus_desktop_printers_by_site": queue(lokasyon="x")}, "unknown keys lokasyon"),
    (
        "two default queues",
        {
            "pardus_desktop_printers_by_site": {
                "merkez": [
                    {"name": "a", "uri": "ipp://h/a", "default": True},
                    {"name": "b", "uri": "ipp://h/b", "default": True},
                ]
            }
        },
        "only one queue can be the default",
    ),
    ("homepage not a URL", {"pardus_desktop_browser_homepage": "intranet"}, "pardus_desktop_browser_homepage"),
    ("proxy without a port", {"pardus_desktop_browser_proxy": "proxy.ornek.bel.tr"}, "must be host:port"),
    ("ca not PEM", {"pardus_desktop_ca_cert": "MIIB..."}, "not a PEM certificate"),
    ("idle too short", {"pardus_desktop_screenlock_idle_seconds": 5}, "60 to 3600, not 5"),
    ("delay too long", {"pardus_desktop_screenlock_delay_seconds": 900}, "0 to 300, not 900"),
    ("usb switch not a boolean", {"pardus_desktop_usb_storage_allowed": "bazen"}, "must be true or false"),
    ("root listed as allowed admin", {"pardus_desktop_admin_allowed": ["root"]}, "root is never listed"),
]


def test_sound_inputs_have_no_problems():
    assert filters.pardus_desktop_problems(GOOD, "pc-bim-001") == []


@pytest.mark.parametrize(("changes", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_each_bad_input_is_named(changes, message):
    problems = filters.pardus_desktop_problems({**GOOD, **changes}, "pc-bim-001")
    assert len(problems) == 1, problems
    assert problems[0].startswith("pc-bim-001: ")
    assert message in problems[0]


def test_the_join_password_is_never_quoted():
    inputs = {
        **GOOD,
        "pardus_desktop_directory_enabled": True,
        "pardus_desktop_directory_domain": "ad",
        "pardus_desktop_directory_join_user": "u",
        "pardus_desktop_directory_join_password": "Gizli-Parola-9",
    }
    assert "Gizli-Parola-9" not in " ".join(filters.pardus_desktop_problems(inputs, "h"))


GETENT = {
    "sudo": ["x", "27", "ayse,ansible-destek"],
    "adm": ["x", "4", "syslog,ayse"],
    "lpadmin": ["x", "120", ""],
}

REMOVALS = [
    ("everyone is removed", [], [("adm", "ayse"), ("adm", "syslog"), ("sudo", "ansible-destek"), ("sudo", "ayse")]),
    ("allowed accounts stay", ["syslog", "ansible-destek"], [("adm", "ayse"), ("sudo", "ayse")]),
]


@pytest.mark.parametrize(("allowed", "expected"), [c[1:] for c in REMOVALS], ids=[c[0] for c in REMOVALS])
def test_admin_removals(allowed, expected):
    got = filters.pardus_desktop_admin_removals(GETENT, ["sudo", "adm", "lpadmin", "wheel"], allowed)
    assert sorted((r["group"], r["user"]) for r in got) == expected

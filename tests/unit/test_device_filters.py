"""Table-driven tests of plugins/filter/devices.py: which HR entries a PDKS terminal at a site holds,
and the cross-field checks of each device family's inventory data."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from devices import device_problems, terminal_staff

TODAY = "2026-11-30"
HR = [
    {"sicil": "100101", "name": "Ayşe Yılmaz", "card": 4200101, "sites": ["merkez"], "directorate": "mali"},
    {"sicil": "100102", "name": "Mehmet Öztürk", "card": 4200102, "sites": ["merkez", "zabita"]},
    {"sicil": "100103", "name": "Emre Kaya", "card": 4200103, "sites": ["fen_isleri"], "until": "2026-11-29"},
    {"sicil": "100104", "name": "Zeynep Ak", "card": 4200104, "sites": ["fen_isleri"], "until": "2026-11-30"},
    {"sicil": "900001", "name": "BİM Yönetici", "card": 4290001, "privilege": "admin"},
]

CASES = [
    ("merkez holds its own staff and the site-less admin", "merkez", ["100101", "100102", "900001"]),
    ("a person of two sites is on both", "zabita", ["100102", "900001"]),
    ("a leaver is gone after the last day, kept on it", "fen_isleri", ["100104", "900001"]),
    ("a site with nobody of its own holds the admin only", "kultur_merkezi", ["900001"]),
]


@pytest.mark.parametrize(("site", "sicils"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_terminal_staff_by_site(site, sicils):
    assert [u["sicil"] for u in terminal_staff(HR, site, TODAY)] == sicils


def test_entries_are_cut_to_the_module_keys():
    users = terminal_staff(HR, "merkez", TODAY)
    assert users[0] == {"sicil": "100101", "name": "Ayşe Yılmaz", "card": 4200101}
    assert users[-1]["privilege"] == "admin"


def test_numeric_sicil_from_yaml_becomes_a_string():
    assert terminal_staff([{"sicil": 100105, "name": "Ali Can"}], "merkez", TODAY) == [
        {"sicil": "100105", "name": "Ali Can"}
    ]


BAD = [
    ("not a list", {"sicil": "1"}, "expected a list"),
    ("entry not a mapping", ["100101"], "entry 1: expected a mapping"),
    ("sicil with letters", [{"sicil": "A12", "name": "Gizli Kişi"}], r"entry 1 \(sicil A12\): sicil must be digits"),
    ("missing sicil", [{"name": "Gizli Kişi"}], r"entry 1 \(sicil \?\): sicil must be digits"),
    (
        "duplicate sicil",
        [{"sicil": "1"}, {"sicil": "1", "name": "Gizli Kişi"}],
        r"entry 2 \(sicil 1\): .*more than once",
    ),
    ("typo in a key", [{"sicil": "1", "nmae": "Gizli Kişi"}], "unknown keys nmae"),
    ("sites not a list", [{"sicil": "1", "sites": "merkez"}], "sites must be a list"),
    ("bad until", [{"sicil": "1", "until": "31.12.2026"}], r"until: '31.12.2026' is not a date"),
]


@pytest.mark.parametrize(("staff", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_lists_fail_naming_the_entry_never_the_person(staff, message):
    with pytest.raises(AnsibleFilterError, match=message) as exc:
        terminal_staff(staff, "merkez", TODAY)
    assert "Gizli" not in str(exc.value)


CAMERA = {
    "ansible_host": "10.10.60.11",
    "camera_firmware_policy": "pinned",
    "camera_firmware_version": "V5.7.15",
    "camera_admin_user": "admin",
    "camera_accounts": [{"name": "nvr-kayit"}, {"name": "izleme"}],
    "camera_ntp_servers": ["ntp1.ornek.bel.tr", "10.10.0.2"],
}
PDKS = {"ansible_host": "10.10.70.11", "pdks_comm_key": "0", "ipplan_site": "merkez", "pdks_hr_staff": HR}
XRAY = {
    "ansible_host": "10.10.80.11",
    "xray_licence_number": "NDK-RL-2022-03418",
    "xray_licence_expires": "2027-06-30",
    "xray_maintenance_last": "2026-10-14",
    "xray_winrm_user": "bim-xray",
    "xray_winrm_scheme": "https",
    "xray_winrm_transport": "ntlm",
    "xray_local_accounts": [{"name": "operator"}, {"name": "Administrator", "state": "disabled"}],
}

PROBLEMS = [
    ("camera sound", "cameras", CAMERA, {}, []),
    (
        "camera report_only needs no version",
        "cameras",
        CAMERA,
        {"camera_firmware_policy": "report_only", "camera_firmware_version": ""},
        [],
    ),
    (
        "camera address",
        "cameras",
        CAMERA,
        {"ansible_host": "10.10.60.256"},
        ["ansible_host '10.10.60.256' is not an IP address"],
    ),
    (
        "camera minimum without numbers",
        "cameras",
        CAMERA,
        {"camera_firmware_policy": "minimum", "camera_firmware_version": "latest"},
        ["camera_firmware_version must name a version"],
    ),
    (
        "camera account is the admin",
        "cameras",
        CAMERA,
        {"camera_accounts": [{"name": "Admin"}]},
        ["account Admin is the administrator"],
    ),
    (
        "camera account without name",
        "cameras",
        CAMERA,
        {"camera_accounts": [{"level": "User"}]},
        ["camera_accounts entry 1 has no name"],
    ),
    (
        "camera ntp not a name",
        "cameras",
        CAMERA,
        {"camera_ntp_servers": ["ntp_1 bad"]},
        ["'ntp_1 bad' is neither an IP address nor a host name"],
    ),
    ("pdks sound", "pdks_terminals", PDKS, {}, []),
    (
        "pdks comm key too big",
        "pdks_terminals",
        PDKS,
        {"pdks_comm_key": 1000000},
        ["pdks_comm_key must be a number from 0 to 999999 (value not shown)"],
    ),
    (
        "pdks comm key not a number",
        "pdks_terminals",
        PDKS,
        {"pdks_comm_key": "gizli"},
        ["pdks_comm_key must be a number"],
    ),
    ("pdks without site", "pdks_terminals", PDKS, {"ipplan_site": ""}, ["ipplan_site is not set"]),
    (
        "pdks staff broken",
        "pdks_terminals",
        PDKS,
        {"pdks_hr_staff": [{"sicil": "x"}]},
        ["pdks_hr_staff entry 1 (sicil x): sicil must be digits"],
    ),
    ("xray sound", "xray_scanners", XRAY, {}, []),
    ("xray no licence number", "xray_scanners", XRAY, {"xray_licence_number": " "}, ["xray_licence_number is empty"]),
    (
        "xray impossible date",
        "xray_scanners",
        XRAY,
        {"xray_licence_expires": "2027-02-29"},
        ["xray_licence_expires: '2027-02-29' is not a date"],
    ),
    (
        "xray maintenance in the future",
        "xray_scanners",
        XRAY,
        {"xray_maintenance_last": "2027-01-01"},
        ["xray_maintenance_last 2027-01-01 is in the future"],
    ),
    (
        "xray maintenance missing",
        "xray_scanners",
        XRAY,
        {"xray_maintenance_last": None},
        ["xray_maintenance_last is not set"],
    ),
    (
        "xray interval zero",
        "xray_scanners",
        XRAY,
        {"xray_maintenance_interval_days": 0},
        ["xray_maintenance_interval_days must be a positive"],
    ),
    (
        "xray basic over http",
        "xray_scanners",
        XRAY,
        {"xray_winrm_scheme": "http", "xray_winrm_transport": "basic"},
        ["sends the password readable"],
    ),
    (
        "xray basic over http in a lab",
        "xray_scanners",
        XRAY,
        {"xray_winrm_scheme": "http", "xray_winrm_transport": "basic", "xray_winrm_allow_plaintext": True},
        [],
    ),
    (
        "xray duplicate account",
        "xray_scanners",
        XRAY,
        {"xray_local_accounts": [{"name": "operator"}, {"name": "OPERATOR"}]},
        ["account OPERATOR is listed more than once"],
    ),
]


@pytest.mark.parametrize(
    ("family", "base", "changes", "expected"), [c[1:] for c in PROBLEMS], ids=[c[0] for c in PROBLEMS]
)
def test_device_problems(family, base, changes, expected):
    problems = device_problems({**base, **changes}, family, "dev-01", TODAY)
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected, strict=True):
        assert problem.startswith("host dev-01: ")
        assert text in problem


def test_device_problems_never_quote_the_comm_key():
    assert "7654321" not in " ".join(device_problems({**PDKS, "pdks_comm_key": 7654321}, "pdks_terminals", "p", TODAY))


def test_device_problems_rejects_an_unknown_family():
    with pytest.raises(AnsibleFilterError, match="family must be one of"):
        device_problems({}, "printers", "p", TODAY)

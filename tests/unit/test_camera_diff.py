"""Table-driven tests of the camera diff functions and the time zone mapping (no device, no Ansible)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))

import belediye_camera as bc  # noqa: E402 - module_utils is not a package

TZ_CASES = [
    ("istanbul name maps to posix and hikvision forms", "Europe/Istanbul", ("<+03>-3", "CST-3:00:00")),
    ("legacy alias Turkey maps the same", "Turkey", ("<+03>-3", "CST-3:00:00")),
    ("utc", "UTC", ("UTC0", "CST+0:00:00")),
    ("posix string passes through, hikvision derived", "<+03>-3", ("<+03>-3", "CST-3:00:00")),
    ("posix west of greenwich keeps the inverted sign", "<-05>5", ("<-05>5", "CST+5:00:00")),
    ("posix with minutes", "<+0530>-5:30", ("<+0530>-5:30", "CST-5:30:00")),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in TZ_CASES], ids=[c[0] for c in TZ_CASES])
def test_timezone_forms(value, expected):
    assert bc.timezone_forms(value) == expected


@pytest.mark.parametrize("value", ["Mars/Olympus", "CET-1CEST,M3.5.0,M10.5.0/3", ""], ids=["unknown", "dst", "empty"])
def test_timezone_forms_rejects(value):
    with pytest.raises(ValueError, match="time zone"):
        bc.timezone_forms(value)


NTP_CASES = [
    ("same list", ["10.0.0.1", "ntp.local"], ["10.0.0.1", "ntp.local"], False),
    ("order does not matter", ["ntp.local", "10.0.0.1"], ["10.0.0.1", "ntp.local"], False),
    ("case does not matter", ["NTP.Local"], ["ntp.local"], False),
    ("duplicates collapse", ["10.0.0.1", "10.0.0.1"], ["10.0.0.1"], False),
    ("a missing server is a change", ["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], True),
    ("an extra server is a change", ["10.0.0.1", "10.0.0.9"], ["10.0.0.1"], True),
    ("empty camera list", [], ["10.0.0.1"], True),
]


@pytest.mark.parametrize(("current", "desired", "changed"), [c[1:] for c in NTP_CASES], ids=[c[0] for c in NTP_CASES])
def test_diff_ntp(current, desired, changed):
    assert bc.diff_ntp(current, desired) is changed


@pytest.mark.parametrize(
    ("address", "kind"), [("10.1.2.3", "IPv4"), ("fd00::1", "IPv6"), ("ntp.belediye.local", "DNS")]
)
def test_ntp_type(address, kind):
    assert bc.ntp_type(address) == kind


CUR = {"admin": "Administrator", "vms": "Operator", "eski": "User", "onvif-nvr": "User"}
U = [
    # name, desired, update_password, purge, keep, create, update, remove
    ("nothing to do", [{"name": "vms", "level": "Operator", "password": "p"}], "on_create", False, [], [], [], []),
    (
        "new user is created",
        [{"name": "izle", "level": "User", "password": "p"}],
        "on_create",
        False,
        [],
        ["izle"],
        [],
        [],
    ),
    (
        "level change is an update",
        [{"name": "vms", "level": "User", "password": "p"}],
        "on_create",
        False,
        [],
        [],
        ["vms"],
        [],
    ),
    (
        "always sets existing passwords",
        [{"name": "vms", "level": "Operator", "password": "p"}],
        "always",
        False,
        [],
        [],
        ["vms"],
        [],
    ),
    (
        "purge removes unknown users but never the login user",
        [{"name": "vms", "level": "Operator"}],
        "on_create",
        True,
        [],
        [],
        [],
        ["eski", "onvif-nvr"],
    ),
    (
        "keep protects listed names",
        [{"name": "vms", "level": "Operator"}],
        "on_create",
        True,
        ["onvif-nvr"],
        [],
        [],
        ["eski"],
    ),
]


@pytest.mark.parametrize(
    ("desired", "mode", "purge", "keep", "create", "update", "remove"), [c[1:] for c in U], ids=[c[0] for c in U]
)
def test_diff_users(desired, mode, purge, keep, create, update, remove):
    plan = bc.diff_users(CUR, desired, mode, purge, keep, login_user="admin")
    assert [u["name"] for u in plan["create"]] == create
    assert [u["name"] for u in plan["update"]] == update
    assert plan["remove"] == remove


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        ([{"name": "yeni", "level": "User"}], "no password"),
        ([{"name": "vms", "level": "Root"}], "level must be"),
        ([{"name": "vms"}, {"name": "vms"}], "listed twice"),
    ],
    ids=["new user without password", "bad level", "duplicate"],
)
def test_diff_users_rejects(desired, message):
    with pytest.raises(ValueError, match=message):
        bc.diff_users(CUR, desired)


def test_user_plan_summary_shows_levels_never_passwords():
    plan = bc.diff_users(
        {"admin": "Administrator", "x": "User"},
        [{"name": "y", "password": "secret", "level": "User"}],
        login_user="admin",
    )
    summary = bc.user_plan_summary(plan, {"admin": "Administrator", "x": "User"})
    assert summary["created"] == ["y"]
    assert summary["removed"] == ["x"]
    assert summary["diff"]["after"] == {"admin": "Administrator", "y": "User"}
    assert "secret" not in repr(summary)


SETTINGS = [
    ("unmanaged keys are ignored", {"hostname": "a"}, {"hostname": None}, []),
    ("hostname differs only in case", {"hostname": "Kamera-01"}, {"hostname": "kamera-01"}, []),
    ("hostname change", {"hostname": "camera"}, {"hostname": "kamera-01"}, ["hostname"]),
    ("cloud on must go off", {"cloud": True, "upnp": False}, {"cloud": False, "upnp": False}, ["cloud"]),
    ("discoverable false to true", {"discoverable": False}, {"discoverable": True}, ["discoverable"]),
    (
        "time zone and mode",
        {"timezone": "GMT0", "time_mode": "Manual"},
        {"timezone": "<+03>-3", "time_mode": "NTP"},
        ["time_mode", "timezone"],
    ),
    ("ntp reordered is no change", {"ntp_servers": ["b", "a"]}, {"ntp_servers": ["a", "b"]}, []),
]


@pytest.mark.parametrize(("current", "desired", "changes"), [c[1:] for c in SETTINGS], ids=[c[0] for c in SETTINGS])
def test_settings_plan(current, desired, changes):
    got, diff = bc.settings_plan(current, desired)
    assert got == changes
    assert sorted(diff["after"]) == sorted(changes)


@pytest.mark.parametrize(
    ("model", "firmware", "approved", "drift"),
    [
        ("DS-1", "V5.7.3", {"DS-1": ["V5.7.3", "V5.7.15"]}, False),
        ("DS-1", "V5.5.0", {"DS-1": ["V5.7.3"]}, True),
        ("DS-2", "V5.7.3", {"DS-1": ["V5.7.3"]}, True),
    ],
    ids=["approved", "old firmware", "unknown model"],
)
def test_firmware_drift(model, firmware, approved, drift):
    assert bc.firmware_drift(model, firmware, approved)[0] is drift


FIRMWARE_KEYS = [
    ("hikvision with build", "V5.7.15 build 230601", (5, 7, 15)),
    ("axis", "11.11.73", (11, 11, 73)),
    ("dahua with build date", "V2.840.0000000.7.R, Build Date 2023-06-01", (2, 840, 0, 7)),
]


@pytest.mark.parametrize(("version", "key"), [c[1:] for c in FIRMWARE_KEYS], ids=[c[0] for c in FIRMWARE_KEYS])
def test_firmware_key(version, key):
    assert bc.firmware_key(version) == key


@pytest.mark.parametrize("version", ["", "beta", "   "], ids=["empty", "no digits", "blank"])
def test_firmware_key_rejects(version):
    with pytest.raises(ValueError, match="no numbers"):
        bc.firmware_key(version)


FIRMWARE_POLICY_CASES = [
    ("pinned and equal", "V5.7.15", "pinned", "V5.7.15", "ok", False),
    ("pinned ignores the build", "V5.7.15 build 230601", "pinned", "V5.7.15", "ok", False),
    ("pinned but older", "V5.7.3", "pinned", "V5.7.15", "differs", True),
    ("pinned but newer is drift too", "V5.8.0", "pinned", "V5.7.15", "differs", True),
    ("minimum met exactly", "11.11.73", "minimum", "11.11.73", "ok", False),
    ("minimum compares numbers, not text", "11.11.100", "minimum", "11.11.73", "ok", False),
    ("minimum not met", "10.12.240", "minimum", "11.11.73", "older", True),
    ("report only never drifts", "V2.800.0000000.3.R", "report_only", "V9", "not_enforced", False),
    ("an unreadable version is drift", "unknown", "minimum", "11.11.73", "unknown", True),
]


@pytest.mark.parametrize(
    ("firmware", "policy", "wanted", "status", "drift"),
    [c[1:] for c in FIRMWARE_POLICY_CASES],
    ids=[c[0] for c in FIRMWARE_POLICY_CASES],
)
def test_firmware_status(firmware, policy, wanted, status, drift):
    got_status, got_drift, reason = bc.firmware_status(firmware, policy, wanted)
    assert (got_status, got_drift) == (status, drift)
    assert firmware in reason


def test_firmware_status_rejects_unknown_policy():
    with pytest.raises(ValueError, match="firmware policy"):
        bc.firmware_status("V5.7.15", "latest", "V5.7.15")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kamera-zabita-01", "camera kamera-zabita-01 (127.0.2.11:8080)"),
        (None, "camera 127.0.2.11:8080"),
        ("127.0.2.11", "camera 127.0.2.11:8080"),
    ],
    ids=["named", "unnamed", "name is the address"],
)
def test_device_label(name, expected):
    assert bc.device_label(name, "127.0.2.11", 8080) == expected


def test_zeep_is_imported_without_httpx_which_stays_importable():
    """The module_util keeps zeep's unused async transport (httpx) out of every module run."""
    import subprocess

    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import belediye_camera as bc; bc._import_zeep();"
        "import zeep.transports as t; print('httpx' in sys.modules, t.httpx is None);"
        "import httpx; print(httpx.__name__)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(Path(bc.__file__).parent)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "True", "httpx"]

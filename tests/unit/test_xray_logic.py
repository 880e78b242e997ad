"""Table-driven tests of plugins/module_utils/belediye_xray.py: NDK licence and maintenance status,
SNMP shaping and the operator workstation's baseline diff."""

import datetime
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))

import belediye_xray as bx  # noqa: E402

TODAY = datetime.date(2025, 6, 1)


def scanner(expires="2026-06-01", last="2025-05-01", interval=180, name="xray-giris-01"):
    return {
        "name": name,
        "model": "HI-SCAN 6040i",
        "serial": "S1",
        "location": "Ana giris",
        "licence": {"number": "NDK-123", "authority": "NDK", "expires": expires},
        "maintenance": {"last": last, "interval_days": interval},
    }


STATUS_CASES = [
    ("everything far away is ok", scanner(), "ok"),
    ("licence expiring within the window is due_soon", scanner(expires="2025-07-15"), "due_soon"),
    ("licence expiring exactly at the window edge is due_soon", scanner(expires="2025-07-31"), "due_soon"),
    ("licence expiring one day after the window is ok", scanner(expires="2025-08-01"), "ok"),
    ("licence expiring today is still due_soon, not expired", scanner(expires="2025-06-01"), "due_soon"),
    ("licence expired yesterday is expired", scanner(expires="2025-05-31"), "expired"),
    ("maintenance due within the window is due_soon", scanner(last="2025-01-01", interval=180), "due_soon"),
    ("maintenance past due is overdue", scanner(last="2024-10-01", interval=180), "overdue"),
    ("expired licence outranks overdue maintenance", scanner(expires="2025-01-01", last="2024-01-01"), "expired"),
    ("dates may be date objects", scanner(expires=datetime.date(2024, 1, 1)), "expired"),
]


@pytest.mark.parametrize(("item", "want"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES])
def test_scanner_status(item, want):
    assert bx.scanner_status(item, TODAY, 60)["status"] == want


REASON_CASES = [
    (
        "an overdue scanner still tells that its licence runs out soon",
        scanner(expires="2025-07-01", last="2024-10-01", interval=180),
        "overdue",
        ["maintenance overdue since 2025-03-30", "NDK licence NDK-123 expires on 2025-07-01"],
    ),
    (
        "an expired licence still tells that maintenance is due soon",
        scanner(expires="2025-05-01", last="2025-01-01", interval=180),
        "expired",
        ["NDK licence NDK-123 expired on 2025-05-01", "maintenance due on 2025-06-30"],
    ),
    ("nothing near gives no reason", scanner(), "ok", []),
]


@pytest.mark.parametrize(("item", "status", "reasons"), [c[1:] for c in REASON_CASES], ids=[c[0] for c in REASON_CASES])
def test_every_finding_is_a_reason_whatever_the_status(item, status, reasons):
    result = bx.scanner_status(item, TODAY, 60)
    assert result["status"] == status
    assert [r.split(" (")[0] for r in result["reasons"]] == reasons


BAD_CASES = [
    ("missing expiry", {"name": "x1", "licence": {}, "maintenance": {"last": "2025-01-01", "interval_days": 1}}),
    ("bad date", scanner(expires="01.06.2026", name="x1")),
    ("zero interval", scanner(interval=0, name="x1")),
    ("missing maintenance", {"name": "x1", "licence": {"expires": "2026-01-01"}}),
]


@pytest.mark.parametrize("item", [c[1] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_inventory_names_the_scanner(item):
    with pytest.raises(bx.InventoryError, match="X-ray scanner x1"):
        bx.scanner_status(item, TODAY, 60)


def test_reports_list_worst_first_and_are_stable():
    results = bx.compliance([scanner(name="b-ok"), scanner(expires="2020-01-01", name="a-expired")], TODAY, 60)
    assert [r["name"] for r in results] == ["a-expired", "b-ok"]
    md = bx.report_markdown(results, TODAY, 60)
    assert "expired: 1" in md
    assert "| a-expired |" in md
    assert bx.report_csv(results).splitlines()[0].startswith("name,model,serial")
    assert bx.report_markdown(results, TODAY, 60) == md


STORAGE_PAIRS = [
    ("1.3.6.1.2.1.25.2.3.1.1.1", 1),
    ("1.3.6.1.2.1.25.2.3.1.2.1", "1.3.6.1.2.1.25.2.1.4"),
    ("1.3.6.1.2.1.25.2.3.1.3.1", "C:\\ Label:System  Serial Number 1234"),
    ("1.3.6.1.2.1.25.2.3.1.4.1", 4096),
    ("1.3.6.1.2.1.25.2.3.1.5.1", 1000),
    ("1.3.6.1.2.1.25.2.3.1.6.1", 900),
    ("1.3.6.1.2.1.25.2.3.1.2.2", "1.3.6.1.2.1.25.2.1.2"),
    ("1.3.6.1.2.1.25.2.3.1.4.2", 65536),
    ("1.3.6.1.2.1.25.2.3.1.5.2", 100),
    ("1.3.6.1.2.1.25.2.3.1.6.2", 99),
    ("1.3.6.1.2.1.25.1.1.0", 5),
]

HEALTH_CASES = [
    ("low disk use and long uptime is ok", 50.0, 86400, "ok"),
    ("disk at the warning threshold is warning", 85.0, 86400, "warning"),
    ("disk at the critical threshold is critical", 95.0, 86400, "critical"),
    ("recent restart is warning", 10.0, 60, "warning"),
    ("ram usage does not count as disk", None, 86400, "ok"),
]


@pytest.mark.parametrize(("percent", "uptime", "want"), [c[1:] for c in HEALTH_CASES], ids=[c[0] for c in HEALTH_CASES])
def test_health_summary(percent, uptime, want):
    storage = [{"index": 2, "descr": "RAM", "type": "ram", "used_percent": 99.0}]
    if percent is not None:
        storage.append({"index": 1, "descr": "C:\\ Label:x", "type": "fixed_disk", "used_percent": percent})
    assert bx.health_summary(uptime, storage)["status"] == want


def test_shape_facts_from_raw_snmp_values():
    system = {"sysDescr": "Windows", "sysName": "xray-giris-01", "sysUpTime": 100}
    facts = bx.shape_facts(system, 8640000, STORAGE_PAIRS)
    assert facts["uptime_seconds"] == 86400
    assert facts["storage"][0] == {
        "index": 1,
        "descr": "C:\\ Label:System  Serial Number 1234",
        "type": "fixed_disk",
        "size_bytes": 4096000,
        "used_bytes": 3686400,
        "used_percent": 90.0,
    }
    assert facts["storage"][1]["type"] == "ram"
    assert facts["health"] == {"status": "warning", "problems": ["disk C:\\ 90.0% used (warning at 85.0%)"]}


def test_uptime_falls_back_to_sysuptime():
    assert bx.shape_facts({"sysUpTime": 12345}, None, [])["uptime_seconds"] == 123


CURRENT = {
    "time": {"type": "NTP", "peers": ["ntp1.belediye.local,0x8"]},
    "accounts": [{"name": "Administrator", "enabled": False}, {"name": "operator", "enabled": True}],
    "usbstor_start": 4,
}

DIFF_CASES = [
    (
        "matching baseline changes nothing",
        {"time_peers": ["NTP1.belediye.local"], "accounts": [{"name": "OPERATOR"}], "usb_storage": "disabled"},
        False,
        {"time": None, "accounts": [], "usbstor_start": None},
    ),
    (
        "other peers set the time source",
        {"time_peers": ["ntp2.belediye.local"]},
        True,
        {"time": {"peers": ["ntp2.belediye.local"]}, "accounts": [], "usbstor_start": None},
    ),
    (
        "enabled USB storage gets Start=3 only when asked",
        {"usb_storage": "enabled"},
        True,
        {"time": None, "accounts": [], "usbstor_start": 3},
    ),
    (
        "a missing account is created with its password",
        {"accounts": [{"name": "tech", "password": "pw"}]},
        True,
        {
            "time": None,
            "accounts": [{"name": "tech", "action": "create", "enabled": True, "password": "pw"}],
            "usbstor_start": None,
        },
    ),
    (
        "absent account is removed, disabled one disabled",
        {"accounts": [{"name": "operator", "state": "absent"}, {"name": "administrator", "state": "present"}]},
        True,
        {
            "time": None,
            "accounts": [{"name": "operator", "action": "remove"}, {"name": "Administrator", "action": "enable"}],
            "usbstor_start": None,
        },
    ),
    (
        "absent account that does not exist is a no-op",
        {"accounts": [{"name": "ghost", "state": "absent"}]},
        False,
        {"time": None, "accounts": [], "usbstor_start": None},
    ),
    (
        "password on_create is never compared",
        {"accounts": [{"name": "operator", "password": "new", "update_password": "on_create"}]},
        False,
        {"time": None, "accounts": [], "usbstor_start": None},
    ),
    (
        "password always is re-set every run",
        {"accounts": [{"name": "operator", "password": "new", "update_password": "always"}]},
        True,
        {
            "time": None,
            "accounts": [{"name": "operator", "action": "password", "password": "new"}],
            "usbstor_start": None,
        },
    ),
]


@pytest.mark.parametrize(("desired", "changed", "plan"), [c[1:] for c in DIFF_CASES], ids=[c[0] for c in DIFF_CASES])
def test_baseline_diff(desired, changed, plan):
    got_changed, got_plan, diff = bx.baseline_diff(CURRENT, desired)
    assert (got_changed, got_plan) == (changed, plan)
    assert "pw" not in str(diff)
    assert "new" not in str(diff).replace("(password re-set)", "")


def test_new_account_without_password_is_an_error():
    with pytest.raises(ValueError, match="tech"):
        bx.baseline_diff(CURRENT, {"accounts": [{"name": "tech"}]})


def test_plan_summary_drops_passwords():
    _, plan, _ = bx.baseline_diff(CURRENT, {"accounts": [{"name": "tech", "password": "s3cret"}]})
    assert "s3cret" not in str(bx.plan_summary(plan))
    assert "s3cret" in bx.plan_json(plan)
    assert "\n" not in bx.plan_json(plan)

"""The lab's simulated device fleet after site.yml: what playbooks/devices.yml made of it, and how it
reacts to drift, to a wrong password and to a device that is gone.

The fleet (lab/devices/fleet.py, started by `labctl up`) runs every camera, PDKS terminal and
X-ray scanner of inventories/lab on loopback. The tests read the devices with the maintained
client libraries (zeep with the ONVIF WSDLs, pyzk), never with our modules, and run the playbook
as an operator would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from playrecap import recap  # lab/ is on sys.path (conftest.py)

from .conftest import BIN, ROOT

sys.path.insert(0, str(ROOT / "tests" / "devices"))
import camera_fixtures  # noqa: E402 - the simulators' client helpers

STATE = ROOT / ".lab" / "devices" / "state"


def playbook(*args: str, inventory: Path = ROOT / "inventories" / "lab") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/devices.yml", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def fleet(inventory):
    hostvars = inventory["_meta"]["hostvars"]

    def members(group):
        return {name: hostvars[name] for name in inventory[group]["hosts"]}

    if not (ROOT / ".lab" / "devices" / "fleet.pid").exists():
        pytest.fail("the simulated devices are not running: `labctl up` starts them")
    return SimpleNamespace(cameras=members("cameras"), pdks=members("pdks_terminals"), xray=members("xray_scanners"))


def onvif(name: str, address: str, vault_value):
    server = SimpleNamespace(host=address, port=8080)
    return camera_fixtures.onvif_service(server, "admin", vault_value("vault_lab_camera_admin_password"))


def zk(address: str, vault_value):
    from zk import ZK

    return ZK(address, port=4370, password=int(vault_value("vault_lab_pdks_comm_key")), timeout=10, ommit_ping=True)


def test_cameras_keep_the_baseline_and_only_known_accounts(fleet, vault_value):
    for name, hv in fleet.cameras.items():
        device = onvif(name, hv["ansible_host"], vault_value)
        ntp = device.GetNTP()
        assert [entry.IPv4Address for entry in ntp.NTPManual] == ["10.231.0.1"], name
        assert device.GetHostname().Name == name
        assert device.GetSystemDateAndTime().TimeZone.TZ == "<+03>-3", name
        users = {u.Username: u.UserLevel for u in device.GetUsers()}
        assert users == {"admin": "Administrator", "nvr-kayit": "Operator", "izleme": "User"}, name


def test_pdks_terminals_hold_exactly_the_staff_list(fleet, vault_value):
    staff = yaml.safe_load(vault_value("vault_lab_pdks_staff"))  # YAML text in an inline vault string
    for name, hv in fleet.pdks.items():
        conn = zk(hv["ansible_host"], vault_value).connect()
        try:
            users = {u.user_id: u for u in conn.get_users()}
        finally:
            conn.disconnect()
        # The site's staff and the site-less entries; not the person of another site (100105) nor
        # the leaver whose last day has passed (100106).
        assert set(users) == {"100101", "100102", "100103", "100104", "900001"}, name
        assert {"100105", "100106"} <= {s["sicil"] for s in staff}
        assert {sicil for sicil, u in users.items() if u.privilege == 14} == {"900001"}, name


def test_xray_workstations_keep_time_usb_and_local_accounts(fleet):
    # The WS-Man fake's own record of what the WinRM commands did to each workstation.
    for name in fleet.xray:
        state = json.loads((STATE / f"{name}-winrm.json").read_text(encoding="utf-8"))
        assert state["usbstor_start"] == 4, name  # USB storage driver disabled
        assert state["time"]["type"] == "NTP", name
        accounts = {account: info["enabled"] for account, info in state["accounts"].items()}
        assert accounts == {"Administrator": False, "operator": True, "bim-destek": True}, name


def test_the_xray_report_lists_the_overdue_scanner_first():
    report = (ROOT / "reports" / "xray" / "xray-compliance.md").read_text(encoding="utf-8")
    rows = [line for line in report.splitlines() if line.startswith("| xray-")]
    assert rows[0].startswith("| xray-lab-02 ")
    assert "overdue" in rows[0]
    assert "ok" in rows[1]


def test_drift_behind_ansibles_back_is_reported_by_check_and_undone_by_a_run(fleet, vault_value):
    camera = onvif("kamera-lab-01", fleet.cameras["kamera-lab-01"]["ansible_host"], vault_value)
    camera.SetHostname(Name="elle-degistirildi")
    conn = zk(fleet.pdks["pdks-lab-01"]["ansible_host"], vault_value).connect()
    try:
        conn.set_user(uid=900, name="Eski Personel", privilege=0, user_id="199999")
    finally:
        conn.disconnect()

    limit = ["--limit", "kamera-lab-01,pdks-lab-01"]
    check = playbook(*limit, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    assert recap(check.stdout)["kamera-lab-01"]["changed"] >= 1
    assert recap(check.stdout)["pdks-lab-01"]["changed"] >= 1
    assert "Eski Personel" not in check.stdout  # names never appear, not even in --diff
    assert camera.GetHostname().Name == "elle-degistirildi"  # check mode touched nothing

    run = playbook(*limit)
    assert run.returncode == 0, run.stdout[-3000:]
    assert camera.GetHostname().Name == "kamera-lab-01"
    conn = zk(fleet.pdks["pdks-lab-01"]["ansible_host"], vault_value).connect()
    try:
        assert "199999" not in {u.user_id for u in conn.get_users()}
    finally:
        conn.disconnect()
    again = playbook(*limit)
    assert all(r["changed"] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]


def test_a_wrong_password_and_a_missing_device_fail_only_their_own_host(tmp_path):
    inventory = tmp_path / "lab"
    shutil.copytree(ROOT / "inventories" / "lab", inventory)
    host_vars = inventory / "host_vars"
    host_vars.mkdir(exist_ok=True)
    (host_vars / "kamera-lab-02.yml").write_text("camera_admin_password: yanlis-parola-123\n", encoding="utf-8")
    (host_vars / "pdks-lab-02.yml").write_text("ansible_host: 127.0.1.99\n", encoding="utf-8")
    res = playbook("--limit", "cameras,pdks_terminals", inventory=inventory)
    assert res.returncode != 0
    runs = recap(res.stdout)
    assert runs["kamera-lab-02"]["failed"] == 1
    assert runs["pdks-lab-02"]["failed"] == 1
    for name in ("kamera-lab-01", "kamera-lab-03", "pdks-lab-01"):
        assert runs[name]["failed"] == 0, name
        assert runs[name]["ok"] >= 3, name
    assert re.search(r"camera kamera-lab-02 \(127\.0\.2\.12:8080\): authentication rejected", res.stdout)
    assert re.search(r"PDKS terminal pdks-lab-02 \(127\.0\.1\.99:4370\): not reachable", res.stdout)
    assert "Traceback" not in res.stdout + res.stderr
    assert "yanlis-parola-123" not in res.stdout + res.stderr


def test_attendance_is_pulled_once_into_private_day_files(fleet):
    dest = ROOT / ".lab" / "pdks-attendance"
    shutil.rmtree(dest, ignore_errors=True)
    runs = []
    for _ in range(2):
        res = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/pdks-attendance.yml"],
            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1"}, timeout=300,
            check=False,
        )  # fmt: skip
        assert res.returncode == 0, res.stdout[-3000:]
        runs.append(recap(res.stdout))
    assert all(runs[0][name]["changed"] == 1 for name in fleet.pdks)
    assert all(runs[1][name]["changed"] == 0 for name in fleet.pdks)
    for name in fleet.pdks:
        days = sorted((dest / name).iterdir())
        assert days, name
        assert (dest / name).stat().st_mode & 0o777 == 0o700
        for day in days:
            assert day.stat().st_mode & 0o777 == 0o600, day
            lines = day.read_text(encoding="utf-8").splitlines()
            assert len(lines) == len(set(lines)), f"{day}: a punch is stored twice"

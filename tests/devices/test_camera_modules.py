"""camera_settings, camera_users and camera_facts run by the real ansible-playbook against simulated
cameras on 127.0.2.x (connection local, the repository's ansible.cfg for library/module_utils)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time

import pytest
from camera_fixtures import ADMIN_PASSWORD, ROOT, free_port, onvif_service, start, state_of

sys.path.insert(0, str(ROOT / "lab"))
from playrecap import recap  # noqa: E402 - lab/ holds the shared helpers of the lab tools

PLAYBOOK = """
- name: Cameras follow the baseline
  hosts: cameras
  gather_facts: false
  tasks:
    - name: Time, name and exposure settings are enforced
      camera_settings:
        host: "{{ ansible_host }}"
        port: "{{ camera_port }}"
        name: "{{ inventory_hostname }}"
        username: admin
        password: "{{ camera_password }}"
        vendor: hikvision
        ntp_servers: [10.20.0.1, ntp.belediye.local]
        timezone: Europe/Istanbul
        hostname: "{{ inventory_hostname }}"
        discoverable: false
      register: settings
    - name: Only the listed accounts exist
      camera_users:
        host: "{{ ansible_host }}"
        port: "{{ camera_port }}"
        name: "{{ inventory_hostname }}"
        username: admin
        password: "{{ camera_password }}"
        users:
          - {name: vms, password: "Vms-Sifre-2026", level: Operator}
          - {name: izleme, password: "Izleme-Sifre-2026", level: User}
        keep: [onvif-nvr]
    - name: Firmware is compared with the approved list
      camera_facts:
        host: "{{ ansible_host }}"
        port: "{{ camera_port }}"
        name: "{{ inventory_hostname }}"
        username: admin
        password: "{{ camera_password }}"
        approved_firmware: {DS-2CD2143G2-I: [V5.7.3]}
    - name: Facts are reported
      ansible.builtin.debug:
        msg: "FACTS {{ inventory_hostname }} {{ ansible_facts.camera | to_json | b64encode }}"
"""

CAMERAS = {
    "kamera-zabita-01": ("127.0.2.11", {"firmware": "V5.7.3"}),
    "kamera-meclis-02": ("127.0.2.12", {"firmware": "V5.5.0"}),
}


@pytest.fixture
def lab(tmp_path):
    servers = {}
    for name, (address, extra) in CAMERAS.items():
        servers[name] = start(tmp_path, address=address, name=name, model="DS-2CD2143G2-I", **extra)
    yield tmp_path, servers
    for server in servers.values():
        server.shutdown()


def inventory(tmp_path, servers, passwords=None, unreachable=None):
    hosts = {}
    for name, server in servers.items():
        hosts[name] = {
            "ansible_host": server.host,
            "camera_port": server.port,
            "camera_password": (passwords or {}).get(name, ADMIN_PASSWORD),
        }
    if unreachable:
        hosts[unreachable] = {
            "ansible_host": "127.0.2.13",
            "camera_port": free_port("127.0.2.13"),
            "camera_password": ADMIN_PASSWORD,
        }
    data = {
        "cameras": {
            "hosts": hosts,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "site.yml").write_text(PLAYBOOK, encoding="utf-8")
    return path


def run(tmp_path, inv, *extra):
    env = {
        **os.environ,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_CACHE_PLUGIN": "memory",
        "BELEDIYE_LEDGER_PATH": str(tmp_path / "ledger.jsonl"),
        "BELEDIYE_LEDGER_SYSLOG": "false",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), str(tmp_path / "site.yml"), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    proc.elapsed = time.monotonic() - started
    return proc


@pytest.mark.slow(seconds=16)
def test_first_run_changes_second_run_does_not(lab):
    tmp_path, servers = lab
    inv = inventory(tmp_path, servers)
    first = run(tmp_path, inv, "--diff")
    assert first.returncode == 0, first.stdout + first.stderr
    for name in CAMERAS:
        assert recap(first.stdout)[name]["changed"] == 2
        saved = state_of(servers[name])
        assert saved["hostname"] == name
        assert saved["tz"] == "<+03>-3"
        assert saved["datetime_type"] == "NTP"
        assert {s["address"] for s in saved["ntp"]["servers"]} == {"10.20.0.1", "ntp.belediye.local"}
        assert saved["discovery_mode"] == "NonDiscoverable"
        assert saved["isapi"] == {"ezviz_enabled": False, "upnp_enabled": False, "time_zone": "CST-3:00:00"}
        assert {u["name"]: u["level"] for u in saved["users"]} == {
            "admin": "Administrator",
            "vms": "Operator",
            "izleme": "User",
        }
    assert "Vms-Sifre-2026" not in first.stdout  # passwords never echoed, not even in --diff
    second = run(tmp_path, inv)
    assert second.returncode == 0, second.stdout + second.stderr
    assert all(r["changed"] == 0 for r in recap(second.stdout).values()), second.stdout


def test_check_mode_reports_without_touching(lab):
    tmp_path, servers = lab
    inv = inventory(tmp_path, servers)
    before = {name: state_of(server) for name, server in servers.items()}
    proc = run(tmp_path, inv, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(r["changed"] == 2 for r in recap(proc.stdout).values())
    assert "ntp_servers" in proc.stdout
    assert "cloud" in proc.stdout
    assert {name: state_of(server) for name, server in servers.items()} == before


def test_unmanaged_account_is_removed_but_kept_names_survive(lab):
    tmp_path, servers = lab
    svc = onvif_service(servers["kamera-zabita-01"])
    svc.CreateUsers(
        User=[
            {"Username": "eski", "Password": "x1", "UserLevel": "Administrator"},
            {"Username": "onvif-nvr", "Password": "x2", "UserLevel": "User"},
        ]
    )
    proc = run(tmp_path, inventory(tmp_path, servers), "--limit", "kamera-zabita-01")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {u["name"] for u in state_of(servers["kamera-zabita-01"])["users"]}
    assert names == {"admin", "vms", "izleme", "onvif-nvr"}


def test_wrong_password_fails_cleanly_and_unreachable_fails_only_that_host(lab):
    tmp_path, servers = lab
    inv = inventory(tmp_path, servers, passwords={"kamera-meclis-02": "yanlis"}, unreachable="kamera-arsiv-03")
    proc = run(tmp_path, inv)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert re.search(r"camera kamera-meclis-02 \(127\.0\.2\.12:\d+\): authentication rejected", out)
    assert re.search(r"camera kamera-arsiv-03 \(127\.0\.2\.13:\d+\): unreachable", out)
    assert "Traceback" not in out
    result = recap(proc.stdout)
    assert result["kamera-zabita-01"]["failed"] == 0
    assert result["kamera-zabita-01"]["changed"] == 2
    assert result["kamera-meclis-02"]["failed"] == 1
    assert result["kamera-arsiv-03"]["failed"] == 1
    assert state_of(servers["kamera-meclis-02"])["hostname"] == "camera"


def test_facts_report_firmware_drift(lab):
    tmp_path, servers = lab
    proc = run(tmp_path, inventory(tmp_path, servers), "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = re.findall(r"FACTS (\S+) ([A-Za-z0-9+/=]+)", proc.stdout)
    facts = {name: json.loads(base64.b64decode(blob)) for name, blob in found}
    assert facts["kamera-zabita-01"]["firmware_drift"] is False
    assert facts["kamera-meclis-02"]["firmware_drift"] is True
    assert facts["kamera-meclis-02"]["firmware"] == "V5.5.0"
    assert facts["kamera-meclis-02"]["approved_firmware"] == ["V5.7.3"]
    assert facts["kamera-zabita-01"]["serial"]


# The same play with the inventory's per-camera policy in place of the approved list.
POLICY_PLAYBOOK = PLAYBOOK.replace(
    "approved_firmware: {DS-2CD2143G2-I: [V5.7.3]}", "firmware_policy: minimum\n        firmware_version: V5.7.0"
)


def test_facts_apply_the_inventory_firmware_policy(lab):
    tmp_path, servers = lab
    inv = inventory(tmp_path, servers)
    assert "firmware_policy" in POLICY_PLAYBOOK
    (tmp_path / "site.yml").write_text(POLICY_PLAYBOOK, encoding="utf-8")
    proc = run(tmp_path, inv, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = re.findall(r"FACTS (\S+) ([A-Za-z0-9+/=]+)", proc.stdout)
    facts = {name: json.loads(base64.b64decode(blob)) for name, blob in found}
    # V5.7.3 is newer than V5.7.0 (numbers, not text); V5.5.0 is older.
    assert (facts["kamera-zabita-01"]["firmware_status"], facts["kamera-zabita-01"]["firmware_drift"]) == ("ok", False)
    assert (facts["kamera-meclis-02"]["firmware_status"], facts["kamera-meclis-02"]["firmware_drift"]) == (
        "older",
        True,
    )
    # Drift is a warning that names the camera, not a failure.
    warnings = proc.stdout + proc.stderr
    assert "camera kamera-meclis-02: firmware V5.5.0 is older than the minimum V5.7.0" in " ".join(warnings.split())
    assert "kamera-zabita-01: firmware" not in warnings

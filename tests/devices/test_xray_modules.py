"""The X-ray modules run by real ansible-playbook against the simulators on 127.0.3.x."""

import json

import pytest
from playrun import LOCAL, run_play
from xray_fixtures import AUTH_KEY, COMMUNITY, PRIV_KEY, V3_USER, WS_PASSWORD, WS_USER, start_agent, start_fake

HOSTS = {"xray-giris-01": "127.0.3.11", "xray-arka-02": "127.0.3.12"}


def run_playbook(tmp_path, inventory, tasks, *extra, name="play"):
    return run_play(tmp_path, inventory["all"]["hosts"], tasks, *extra, name=name)


def inventory(hostvars):
    return {"all": {"hosts": {name: {**LOCAL, **values} for name, values in hostvars.items()}}}


def task_results(data, index=0):
    return data["plays"][0]["tasks"][index]["hosts"]


@pytest.fixture(scope="module")
def agents(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("agents")
    running = {
        name: start_agent(tmp, host, name=name, used=960000 if name == "xray-arka-02" else 420000)
        for name, host in HOSTS.items()
    }
    yield running
    for agent in running.values():
        agent.shutdown()


def test_snmp_facts_v2c_and_v3(tmp_path, agents):
    hostvars = {
        "xray-giris-01": {"ansible_host": "127.0.3.11", "snmp_port": agents["xray-giris-01"].port, "v": "2c"},
        "xray-arka-02": {"ansible_host": "127.0.3.12", "snmp_port": agents["xray-arka-02"].port, "v": "3"},
    }
    task = {
        "xray_snmp_facts": {
            "name": "{{ inventory_hostname }}",
            "host": "{{ ansible_host }}",
            "port": "{{ snmp_port }}",
            "version": "{{ v }}",
            "community": COMMUNITY,
            "user": V3_USER,
            "auth_key": AUTH_KEY,
            "priv_key": PRIV_KEY,
            "timeout": 1,
            "retries": 0,
        }
    }
    rc, data = run_playbook(tmp_path, inventory(hostvars), [task])
    assert rc == 0
    results = task_results(data)
    for name in HOSTS:
        facts = results[name]["ansible_facts"]["xray_snmp"]
        assert results[name]["changed"] is False
        assert facts["sysname"] == name
        assert facts["uptime_seconds"] == 86400
        assert facts["storage"][0]["type"] == "fixed_disk"
    assert results["xray-giris-01"]["ansible_facts"]["xray_snmp"]["health"]["status"] == "ok"
    assert results["xray-arka-02"]["ansible_facts"]["xray_snmp"]["health"]["status"] == "critical"
    assert AUTH_KEY not in json.dumps(data)
    assert PRIV_KEY not in json.dumps(data)


def test_snmp_facts_wrong_community_names_the_device(tmp_path, agents):
    hostvars = {"xray-giris-01": {"ansible_host": "127.0.3.11", "snmp_port": agents["xray-giris-01"].port}}
    task = {
        "xray_snmp_facts": {
            "name": "{{ inventory_hostname }}",
            "host": "{{ ansible_host }}",
            "port": "{{ snmp_port }}",
            "community": "wrong",
            "timeout": 0.5,
            "retries": 0,
        }
    }
    rc, data = run_playbook(tmp_path, inventory(hostvars), [task])
    result = task_results(data)["xray-giris-01"]
    assert rc != 0
    assert result["failed"]
    port = agents["xray-giris-01"].port
    assert result["msg"].startswith(f"X-ray scanner xray-giris-01 (127.0.3.11:{port}): SNMP timeout")
    assert "Traceback" not in json.dumps(result)


def scanners_task(today, report):
    scanners = [
        {
            "name": "xray-giris-01",
            "model": "HI-SCAN 6040i",
            "serial": "S-1",
            "location": "Ana giris",
            "licence": {"number": "NDK-1", "authority": "NDK", "expires": "2026-03-01"},
            "maintenance": {"last": "2025-09-01", "interval_days": 180},
        },
        {
            "name": "xray-arka-02",
            "model": "620XR",
            "serial": "S-2",
            "location": "Arka kapi",
            "licence": {"number": "NDK-2", "authority": "NDK", "expires": "2027-01-01"},
            "maintenance": {"last": "2025-01-10", "interval_days": 365},
        },
    ]
    return {
        "xray_compliance": {"scanners": scanners, "today": today, "warn_days": 60, "report_path": str(report)},
        "run_once": True,
    }


COMPLIANCE_CASES = [
    ("2025-06-01", {"xray-giris-01": "ok", "xray-arka-02": "ok"}),
    ("2025-11-15", {"xray-giris-01": "ok", "xray-arka-02": "due_soon"}),
    ("2026-01-20", {"xray-giris-01": "due_soon", "xray-arka-02": "overdue"}),
    ("2026-03-02", {"xray-giris-01": "expired", "xray-arka-02": "overdue"}),
]


@pytest.mark.parametrize(("today", "want"), COMPLIANCE_CASES, ids=[c[0] for c in COMPLIANCE_CASES])
def test_compliance_statuses(tmp_path, today, want):
    inv = inventory({"controller": {}})
    rc, data = run_playbook(tmp_path, inv, [scanners_task(today, tmp_path / "report.md")])
    assert rc == 0
    result = task_results(data)["controller"]
    assert {item["name"]: item["status"] for item in result["scanners"]} == want


def test_compliance_report_written_once(tmp_path):
    report = tmp_path / "report.md"
    inv = inventory({"controller": {}})
    first = run_playbook(tmp_path, inv, [scanners_task("2026-01-20", report)])[1]
    second = run_playbook(tmp_path, inv, [scanners_task("2026-01-20", report)])[1]
    assert first["stats"]["controller"]["changed"] == 1
    assert second["stats"]["controller"]["changed"] == 0
    assert oct(report.stat().st_mode & 0o777) == "0o640"
    assert "| xray-arka-02 |" in report.read_text()


@pytest.fixture
def fakes(tmp_path):
    running = {
        "xray-op-01": start_fake(tmp_path, "127.0.3.21", "XRAY-OP-01"),
        "xray-op-02": start_fake(tmp_path, "127.0.3.22", "XRAY-OP-02"),
    }
    yield running
    for fake in running.values():
        fake.shutdown()


def ws_inventory(fakes, **override):
    return inventory(
        {
            name: {
                "ansible_host": fake.host,
                "winrm_port": fake.port,
                "ws_password": WS_PASSWORD,
                **override.get(name, {}),
            }
            for name, fake in fakes.items()
        }
    )


WS_TASK = {
    "xray_workstation": {
        "name": "{{ inventory_hostname }}",
        "host": "{{ ansible_host }}",
        "port": "{{ winrm_port }}",
        "scheme": "http",
        "transport": "basic",
        "username": WS_USER,
        "password": "{{ ws_password }}",
        "operation_timeout": 3,
        "time_peers": ["ntp1.belediye.local", "ntp2.belediye.local"],
        "accounts": [
            {"name": "operator", "state": "present"},
            {"name": "Administrator", "state": "disabled"},
            {"name": "vendor_tmp", "state": "absent"},
            {"name": "bim_local", "password": "New-Lab-Pass-1", "update_password": "on_create"},
        ],
        "usb_storage": "disabled",
    }
}


def states(fakes):
    return {name: json.loads(fake.state_path.read_text()) for name, fake in fakes.items()}


def test_workstation_converges_then_is_idempotent(tmp_path, fakes):
    rc, first = run_playbook(tmp_path, ws_inventory(fakes), [WS_TASK], "--diff")
    assert rc == 0
    assert all(first["stats"][name]["changed"] == 1 for name in fakes)
    for state in states(fakes).values():
        assert state["usbstor_start"] == 4
        assert state["time"] == {"type": "NTP", "peers": ["ntp1.belediye.local", "ntp2.belediye.local"]}
        assert "vendor_tmp" not in state["accounts"]
        assert state["accounts"]["Administrator"]["enabled"] is False
        assert state["accounts"]["bim_local"]["enabled"] is True
    assert "New-Lab-Pass-1" not in json.dumps(first)
    rc, second = run_playbook(tmp_path, ws_inventory(fakes), [WS_TASK])
    assert rc == 0
    assert all(second["stats"][name]["changed"] == 0 for name in fakes)
    assert all(sum("belediye-xray:apply" in s for s in fake.scripts) == 1 for fake in fakes.values())


@pytest.mark.slow(seconds=20)
def test_workstation_check_mode_does_not_touch_the_state(tmp_path, fakes):
    before = states(fakes)
    rc, data = run_playbook(tmp_path, ws_inventory(fakes), [WS_TASK], "--check", "--diff")
    assert rc == 0
    assert all(data["stats"][name]["changed"] == 1 for name in fakes)
    result = task_results(data)["xray-op-01"]
    assert result["plan"]["usbstor_start"] == 4
    assert result["diff"]["after"]["usb_storage"].startswith("disabled")
    assert states(fakes) == before
    assert not any("belediye-xray:apply" in s for fake in fakes.values() for s in fake.scripts)


def test_workstation_wrong_password_fails_cleanly(tmp_path, fakes):
    rc, data = run_playbook(tmp_path, ws_inventory(fakes, **{"xray-op-02": {"ws_password": "wrong"}}), [WS_TASK])
    results = task_results(data)
    port = fakes["xray-op-02"].port
    assert rc != 0
    assert not results["xray-op-01"].get("failed")
    assert results["xray-op-02"]["msg"] == (
        f"X-ray workstation xray-op-02 (127.0.3.22:{port}): WinRM authentication rejected"
    )
    assert "wrong" not in json.dumps(results["xray-op-02"])


def test_workstation_unreachable_fails_only_that_host(tmp_path, fakes):
    rc, data = run_playbook(tmp_path, ws_inventory(fakes, **{"xray-op-02": {"winrm_port": 9}}), [WS_TASK])
    results = task_results(data)
    assert rc != 0
    assert results["xray-op-01"]["changed"] is True
    assert not results["xray-op-01"].get("failed")
    assert results["xray-op-02"]["msg"].startswith("X-ray workstation xray-op-02 (127.0.3.22:9): WinRM unreachable")

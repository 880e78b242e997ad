"""Shared helpers for the X-ray simulator and module tests: states and in-process simulators."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab" / "devices"))

import snmp_agent  # noqa: E402
import wsman_fake  # noqa: E402

COMMUNITY = "belediyeRO"
V3_USER, AUTH_KEY, PRIV_KEY = "xraymon", "xray-auth-key-1", "xray-priv-key-1"
WS_USER, WS_PASSWORD = "bimadmin", "Lab-Only-Pass1"


def snmp_state(name, used=420000):
    return {
        "sysDescr": "Hardware: Intel64 Family 6 - Software: Windows Version 10.0 (Build 19044)",
        "sysObjectID": "1.3.6.1.4.1.311.1.1.3.1.1",
        "sysContact": "bim@belediye.local",
        "sysName": name,
        "sysLocation": "Ana giris",
        "uptime_seconds": 86400,
        "storage": [
            {
                "index": 1,
                "type": "fixedDisk",
                "descr": "C:\\ Label:OS",
                "allocation_units": 4096,
                "size": 1000000,
                "used": used,
            },
            {
                "index": 2,
                "type": "ram",
                "descr": "Physical Memory",
                "allocation_units": 65536,
                "size": 131072,
                "used": 65536,
            },
        ],
    }


def ws_state(hostname):
    return {
        "hostname": hostname,
        "time": {"type": "NT5DS", "peers": ["time.windows.com"]},
        "accounts": {
            "Administrator": {"enabled": True},
            "operator": {"enabled": True},
            "vendor_tmp": {"enabled": True},
        },
        "usbstor_start": 3,
    }


def write_json(path, data):
    Path(path).write_text(json.dumps(data), encoding="utf-8")
    return path


def start_agent(tmp_path, host="127.0.0.1", name="xray-giris-01", **state):
    path = write_json(tmp_path / f"snmp-{name}.json", snmp_state(name, **state))
    agent = snmp_agent.serve(path, host, 0, COMMUNITY, V3_USER, AUTH_KEY, PRIV_KEY)
    agent.state_path = path
    return agent


def start_fake(tmp_path, host="127.0.0.1", hostname="XRAY-OP-01"):
    path = write_json(tmp_path / f"ws-{hostname}.json", ws_state(hostname))
    fake = wsman_fake.serve(path, WS_USER, WS_PASSWORD, host, 0)
    fake.state_path = path
    return fake

"""Verifier of the windows_baseline scenario: the WS-Man fake's state after check, converge and
idempotence, and the PowerShell the module sent (every decoded script, recorded by the fake in
<ephemeral>/scripts/NNNN.ps1), against the scenario's data in molecule.yml and the role's defaults.

The fake is NOT Windows: these tests prove what was sent and that the module's read/compare/apply
cycle converges and is idempotent, not what Windows would do with the scripts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
DATA = yaml.safe_load((HERE.parent / "molecule.yml").read_text(encoding="utf-8"))["provisioner"]["inventory"][
    "group_vars"
]["windows_servers"]
DEFAULTS = yaml.safe_load((ROOT / "roles" / "windows_baseline" / "defaults" / "main.yml").read_text(encoding="utf-8"))
INITIAL = json.loads((ROOT / "lab" / "devices" / "windows-initial-state.json").read_text(encoding="utf-8"))["windows"]
MACHINE = "S-1-5-21-3623811015-3361044348-30300820"


def value(name):
    return DATA.get(name, DEFAULTS.get(name))


@pytest.fixture(scope="module")
def state():
    path = EPHEMERAL / "windows-state.json"
    if not path.is_file():
        pytest.fail(f"the scenario's WS-Man fake is not running (no {path}); run it through molecule")
    return json.loads(path.read_text(encoding="utf-8"))["windows"]


@pytest.fixture(scope="module")
def sent():
    """The decoded scripts in the order they came: bootstraps and the scripts behind them."""
    return [p.read_text(encoding="utf-8") for p in sorted((EPHEMERAL / "scripts").glob("*.ps1"))]


def markers(sent):
    return [script.splitlines()[0] for script in sent]


def test_check_converge_and_idempotence_sent_one_apply_between_reads(sent):
    behind_bootstrap = markers(sent)[1::2]
    assert markers(sent)[0::2] == ["# belediye-windows:stdin"] * len(behind_bootstrap)
    # check: read; converge: read, apply, read to confirm; idempotence: read
    assert behind_bootstrap == [
        "# belediye-windows:read",
        "# belediye-windows:read",
        "# belediye-windows:apply",
        "# belediye-windows:read",
        "# belediye-windows:read",
    ]


def test_password_and_lockout_policy(state, sent):
    policy = state["account_policy"]
    assert policy["MinimumPasswordLength"] == value("windows_baseline_password_min_length") == 12
    assert policy["PasswordHistorySize"] == 24
    assert policy["MaximumPasswordAge"] == 90
    assert policy["MinimumPasswordAge"] == 1
    assert policy["PasswordComplexity"] == 1
    assert policy["LockoutBadCount"] == 5
    assert policy["LockoutDuration"] == 15
    assert policy["ResetLockoutCount"] == 15
    assert policy["EnableAdminAccount"] == INITIAL["account_policy"]["EnableAdminAccount"]  # not managed
    apply = next(s for s in sent if s.startswith("# belediye-windows:apply"))
    template = ["'[System Access]'", "'MinimumPasswordLength = 12'", "'LockoutBadCount = 5'"]
    template.append("'ResetLockoutCount = 15'")
    for line in template:
        assert f"    {line}\n" in apply
    assert "& secedit.exe /configure /db (Join-Path $tmp 'baseline.sdb') /cfg $inf /areas SECURITYPOLICY" in apply


def test_audit_policy(state, sent):
    apply = next(s for s in sent if s.startswith("# belediye-windows:apply"))
    for item in value("windows_baseline_audit_subcategories"):
        guid = item["guid"].upper()
        assert state["audit"][guid] == (1 if item["success"] else 0) + (2 if item["failure"] else 0), item["name"]
        line = (
            f"  & auditpol.exe /set '/subcategory:{guid}' /success:{'enable' if item['success'] else 'disable'}"
            f" /failure:{'enable' if item['failure'] else 'disable'} | Out-Null\n"
        )
        assert line in apply, item["name"]
    assert state["audit"]["{0CCE9226-69AE-11D9-BED3-505054503030}"] == 0  # not in the data: left alone
    assert state["audit_force_subcategory"] == 1


def test_time_source(state):
    peers = " ".join(f"{p},0x8" for p in DATA["windows_baseline_ntp_servers"])
    assert state["time"] == {"type": "NTP", "ntp_server": peers}


def test_wsus(state):
    assert state["wsus"]["WindowsUpdate"] == {
        "WUServer": DATA["windows_baseline_wsus_url"],
        "WUStatusServer": DATA["windows_baseline_wsus_url"],
        "TargetGroupEnabled": 1,
        "TargetGroup": "Sunucular",
    }
    assert state["wsus"]["AU"] == {
        "UseWUServer": 1,
        "NoAutoUpdate": 0,
        "AUOptions": 4,
        "ScheduledInstallDay": 0,
        "ScheduledInstallTime": 3,
    }


def test_firewall_and_defender(state, sent):
    assert state["firewall"] == {"Domain": True, "Private": True, "Public": True}
    assert state["defender"]["DisableRealtimeMonitoring"] is False
    assert state["defender"]["SignatureUpdateInterval"] == 4
    assert state["defender"]["PUAProtection"] == 1
    assert state["defender"]["MAPSReporting"] == INITIAL["defender"]["MAPSReporting"]  # left alone by default
    apply = next(s for s in sent if s.startswith("# belediye-windows:apply"))
    assert "  Set-NetFirewallProfile -Profile 'Public' -Enabled True\n" in apply
    assert "  Set-MpPreference -DisableRealtimeMonitoring $false -PUAProtection 1 -SignatureUpdateInterval 4\n" in apply


def test_local_administrators(state, sent):
    names = sorted(member["name"] for member in state["administrators"])
    want = ["WIN-MOL-01\\Administrator", "WIN-MOL-01\\bimadmin", "MOL\\Domain Admins", "MOL\\bim-admins"]
    assert names == sorted(want)
    apply = next(s for s in sent if s.startswith("# belediye-windows:apply"))
    assert "  Add-LocalGroupMember -SID 'S-1-5-32-544' -Member 'MOL\\bim-admins'\n" in apply
    assert f"  Remove-Administrator '{MACHINE}-1005'\n" in apply  # eski-personel, not in the list
    assert f"'{MACHINE}-500'" not in apply  # the built-in Administrator is never removed


def test_nothing_secret_was_sent_in_a_script(sent):
    password = (EPHEMERAL / "winrm-password").read_text(encoding="utf-8").strip()
    assert not any(password in script for script in sent)

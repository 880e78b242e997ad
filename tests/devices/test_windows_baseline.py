"""The windows_baseline module against the protocol-level WS-Man fake (lab/devices/wsman_fake.py, NOT Windows).

The fake runs in this process on 127.0.5.x; the module runs in real ansible-playbook on the control node,
speaks pywinrm to the fake and sends its scripts through the stdin bootstrap. The fake records every
decoded script, so the tests assert the exact PowerShell that went out. The pure functions of
module_utils/belediye_windows.py get table-driven tests, and the transport a mocked pywinrm Protocol.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab" / "devices"))
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))

import belediye_winrm  # noqa: E402

# belediye_windows imports its sibling the way Ansible ships module_utils to a module.
sys.modules.setdefault("ansible.module_utils.belediye_winrm", belediye_winrm)
import belediye_windows as bw  # noqa: E402
import wsman_fake  # noqa: E402
from playrun import LOCAL, PLAYBOOK_BIN, run_play  # noqa: E402

USER, PASSWORD = "bimadmin", "Lab-Only-Win-Pass1"
G = {  # audit subcategory GUIDs used below
    "logon": "{0CCE9215-69AE-11D9-BED3-505054503030}",
    "lockout": "{0CCE9217-69AE-11D9-BED3-505054503030}",
    "process": "{0CCE922B-69AE-11D9-BED3-505054503030}",
}
MACHINE = "S-1-5-21-1111-2222-3333"
DOMAIN = "S-1-5-21-9999-8888-7777"


def windows_state(hostname):
    """A fresh Windows Server 2019 as the read script would see it (values of a default install)."""
    return {
        "windows": {
            "hostname": hostname,
            "identity": {
                "name": f"{hostname}\\{USER}",
                "sid": f"{MACHINE}-1001",
                "groups": ["S-1-5-32-544", "S-1-5-32-545", "S-1-5-11"],
            },
            "account_policy": {
                "MinimumPasswordAge": 0,
                "MaximumPasswordAge": 42,
                "MinimumPasswordLength": 0,
                "PasswordComplexity": 1,
                "PasswordHistorySize": 0,
                "LockoutBadCount": 0,
                "RequireLogonToChangePassword": 0,
            },
            "audit": {G["logon"]: 1, G["lockout"]: 1, G["process"]: 0},
            "audit_force_subcategory": 0,
            "time": {"type": "NT5DS", "ntp_server": "time.windows.com,0x9"},
            "wsus": {"WindowsUpdate": {}, "AU": {}},
            "firewall": {"Domain": True, "Private": True, "Public": False},
            "defender": {
                "available": True,
                "DisableRealtimeMonitoring": True,
                "DisableBehaviorMonitoring": False,
                "DisableIOAVProtection": False,
                "SignatureUpdateInterval": 0,
                "PUAProtection": 0,
                "MAPSReporting": 2,
            },
            "administrators": [
                {"name": f"{hostname}\\Administrator", "sid": f"{MACHINE}-500", "class": "User", "source": "Local"},
                {"name": f"{hostname}\\{USER}", "sid": f"{MACHINE}-1001", "class": "User", "source": "Local"},
                {"name": f"{hostname}\\eski-personel", "sid": f"{MACHINE}-1005", "class": "User", "source": "Local"},
                {"name": "BELEDIYE\\Domain Admins", "sid": f"{DOMAIN}-512", "class": "Group", "source": "AD"},
            ],
            "principals": {
                "BELEDIYE\\Domain Admins": f"{DOMAIN}-512",
                "BELEDIYE\\bim-admins": f"{DOMAIN}-1107",
                "BELEDIYE\\ayşe.yılmaz": f"{DOMAIN}-1140",
                f"{hostname}\\{USER}": f"{MACHINE}-1001",
            },
        }
    }


def start_fake(tmp_path, host, hostname, state=None):
    path = tmp_path / f"win-{hostname}.json"
    path.write_text(json.dumps(state or windows_state(hostname)), encoding="utf-8")
    fake = wsman_fake.serve(path, USER, PASSWORD, host, 0)
    fake.state_path = path
    return fake


def windows_of(fake):
    return json.loads(fake.state_path.read_text(encoding="utf-8"))["windows"]


def scripts(fake, marker):
    return [s for s in fake.scripts if s.startswith(f"# belediye-windows:{marker}")]


BASELINE = {
    "account_policy": {
        "min_length": 12,
        "history": 24,
        "max_age_days": 90,
        "min_age_days": 1,
        "complexity": True,
        "lockout_threshold": 5,
        "lockout_duration_minutes": 15,
        "lockout_window_minutes": 15,
    },
    "audit": [
        {"name": "Logon", "guid": G["logon"], "success": True, "failure": True},
        {"name": "Account Lockout", "guid": G["lockout"], "success": False, "failure": True},
        {"name": "Process Creation", "guid": G["process"], "success": True, "failure": False},
    ],
    "time": {"peers": ["ntp1.belediye.local", "ntp2.belediye.local"]},
    "wsus": {"server": "https://wsus.belediye.local:8531"},
    "firewall_profiles": ["Domain", "Private", "Public"],
    "defender": {"realtime_monitoring": True, "signature_update_interval_hours": 4, "pua_protection": "enabled"},
    "local_administrators": ["BELEDIYE\\Domain Admins", "BELEDIYE\\bim-admins", USER],
}


def task(**override):
    args = {
        "name": "{{ inventory_hostname }}",
        "host": "{{ ansible_host }}",
        "port": "{{ winrm_port }}",
        "scheme": "http",
        "transport": "basic",
        "username": USER,
        "password": "{{ win_password }}",
        "operation_timeout": 3,
        **copy.deepcopy(BASELINE),
        **override,
    }
    return {"windows_baseline": args}


def run_playbook(tmp_path, fakes, tasks, *extra, hostvars=None):
    hosts = {
        name: {**LOCAL, "ansible_host": fake.host, "winrm_port": fake.port, "win_password": PASSWORD}
        | (hostvars or {}).get(name, {})
        for name, fake in fakes.items()
    }
    return run_play(tmp_path, hosts, tasks, *extra)


def results(data, index=0):
    return data["plays"][0]["tasks"][index]["hosts"]


@pytest.fixture
def fakes(tmp_path):
    running = {
        "win-srv-01": start_fake(tmp_path, "127.0.5.11", "WIN-SRV-01"),
        "win-pc-01": start_fake(tmp_path, "127.0.5.12", "WIN-PC-01"),
    }
    yield running
    for fake in running.values():
        fake.shutdown()


# --- the module in ansible-playbook against the fake ---------------------------------------------------


def test_fresh_host_converges_and_a_second_run_changes_nothing(tmp_path, fakes):
    rc, first = run_playbook(tmp_path, fakes, [task()], "--diff")
    assert rc == 0, first
    for name, fake in fakes.items():
        assert first["stats"][name]["changed"] == 1
        result = results(first)[name]
        assert result["confirmed"] is True
        win = windows_of(fake)
        assert win["account_policy"]["MinimumPasswordLength"] == 12
        assert win["account_policy"]["LockoutBadCount"] == 5
        assert win["audit"] == {G["logon"]: 3, G["lockout"]: 2, G["process"]: 1}
        assert win["audit_force_subcategory"] == 1
        assert win["time"] == {"type": "NTP", "ntp_server": "ntp1.belediye.local,0x8 ntp2.belediye.local,0x8"}
        assert win["wsus"]["WindowsUpdate"]["WUServer"] == "https://wsus.belediye.local:8531"
        assert win["wsus"]["AU"]["UseWUServer"] == 1
        assert win["firewall"] == {"Domain": True, "Private": True, "Public": True}
        assert win["defender"]["DisableRealtimeMonitoring"] is False
        assert win["defender"]["MAPSReporting"] == 2  # not in the data: left alone
        sids = sorted(m["sid"] for m in win["administrators"])
        assert sids == sorted([f"{MACHINE}-500", f"{MACHINE}-1001", f"{DOMAIN}-512", f"{DOMAIN}-1107"])
        # read, apply, read again: one script each, each behind its bootstrap
        assert [s.splitlines()[0] for s in fake.scripts] == [
            "# belediye-windows:stdin",
            "# belediye-windows:read",
            "# belediye-windows:stdin",
            "# belediye-windows:apply",
            "# belediye-windows:stdin",
            "# belediye-windows:read",
        ]
    assert PASSWORD not in json.dumps(first)
    diff = results(first)["win-srv-01"]["diff"]
    assert diff["before"]["firewall"]["Public"] == "off"
    assert diff["after"]["firewall"]["Public"] == "on"
    assert "WIN-SRV-01\\eski-personel" in diff["before"]["administrators"]
    assert "WIN-SRV-01\\eski-personel" not in diff["after"]["administrators"]

    rc, second = run_playbook(tmp_path, fakes, [task()])
    assert rc == 0
    for name, fake in fakes.items():
        assert second["stats"][name]["changed"] == 0
        assert len(scripts(fake, "apply")) == 1


def test_check_mode_reads_and_sends_no_apply_script(tmp_path, fakes):
    before = {name: windows_of(fake) for name, fake in fakes.items()}
    rc, data = run_playbook(tmp_path, fakes, [task()], "--check", "--diff")
    assert rc == 0
    for name, fake in fakes.items():
        assert data["stats"][name]["changed"] == 1
        assert windows_of(fake) == before[name]
        assert len(scripts(fake, "read")) == 1
        assert scripts(fake, "apply") == []
    result = results(data)["win-pc-01"]
    assert result["confirmed"] is False
    assert result["plan"]["firewall"] == ["Public"]
    assert result["differences"]["time"]["after"] == {
        "type": "NTP",
        "peers": ["ntp1.belediye.local", "ntp2.belediye.local"],
    }


def test_the_apply_script_holds_the_statements_for_the_data(tmp_path, fakes):
    rc, _ = run_playbook(tmp_path, {"win-srv-01": fakes["win-srv-01"]}, [task()])
    assert rc == 0
    (apply,) = scripts(fakes["win-srv-01"], "apply")
    lines = [line.strip() for line in apply.splitlines()]
    for expected in [
        "'MinimumPasswordLength = 12'",
        "'PasswordHistorySize = 24'",
        "'MaximumPasswordAge = 90'",
        "'MinimumPasswordAge = 1'",
        "'PasswordComplexity = 1'",
        "'LockoutBadCount = 5'",
        "'LockoutDuration = 15'",
        "'ResetLockoutCount = 15'",
        "'signature=\"$CHICAGO$\"'",
        "& secedit.exe /configure /db (Join-Path $tmp 'baseline.sdb') /cfg $inf /areas SECURITYPOLICY"
        " /log (Join-Path $tmp 'secedit.log') /quiet | Out-Null",
        f"& auditpol.exe /set '/subcategory:{G['logon']}' /success:enable /failure:enable | Out-Null",
        f"& auditpol.exe /set '/subcategory:{G['lockout']}' /success:disable /failure:enable | Out-Null",
        f"& auditpol.exe /set '/subcategory:{G['process']}' /success:enable /failure:disable | Out-Null",
        "Set-ItemProperty -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa'"
        " -Name SCENoApplyLegacyAuditPolicy -Type DWord -Value 1",
        "& w32tm.exe /config '/manualpeerlist:ntp1.belediye.local,0x8 ntp2.belediye.local,0x8'"
        " /syncfromflags:manual /update | Out-Null",
        "Set-ItemProperty -LiteralPath 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate'"
        " -Name 'WUServer' -Type String -Value 'https://wsus.belediye.local:8531'",
        "Set-ItemProperty -LiteralPath 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU'"
        " -Name 'UseWUServer' -Type DWord -Value 1",
        "Set-NetFirewallProfile -Profile 'Public' -Enabled True",
        "Set-MpPreference -DisableRealtimeMonitoring $false -PUAProtection 1 -SignatureUpdateInterval 4",
        "Add-LocalGroupMember -SID 'S-1-5-32-544' -Member 'BELEDIYE\\bim-admins'",
        f"Remove-Administrator '{MACHINE}-1005'",
    ]:
        assert expected in lines, expected
    # only what differed: Domain and Private were already on, Domain Admins already a member
    assert not any("Remove-Administrator" in line and "-500'" in line for line in lines)
    assert not any("Domain Admins" in line for line in lines if line.startswith("Add-LocalGroupMember"))
    assert lines.index(f"Remove-Administrator '{MACHINE}-1005'") > lines.index(
        "Add-LocalGroupMember -SID 'S-1-5-32-544' -Member 'BELEDIYE\\bim-admins'"
    )


def test_wrong_password_fails_that_host_with_one_line(tmp_path, fakes):
    rc, data = run_playbook(tmp_path, fakes, [task()], hostvars={"win-pc-01": {"win_password": "wrong"}})
    assert rc != 0
    result = results(data)["win-pc-01"]
    port = fakes["win-pc-01"].port
    assert result["msg"] == f"Windows host win-pc-01 (127.0.5.12:{port}): WinRM authentication rejected"
    assert not results(data)["win-srv-01"].get("failed")
    assert "Traceback" not in json.dumps(result)


def test_unreachable_port_fails_that_host_with_one_line(tmp_path, fakes):
    rc, data = run_playbook(tmp_path, fakes, [task()], hostvars={"win-pc-01": {"winrm_port": 9}})
    assert rc != 0
    result = results(data)["win-pc-01"]
    assert result["msg"] == "Windows host win-pc-01 (127.0.5.12:9): WinRM unreachable (ConnectionError)"
    assert results(data)["win-srv-01"]["changed"] is True


def test_a_failing_apply_names_the_error_and_the_state_is_untouched(tmp_path, fakes):
    admins = [*BASELINE["local_administrators"], "BELEDIYE\\yok.boyle.biri"]
    fake = fakes["win-srv-01"]
    before = windows_of(fake)
    rc, data = run_playbook(tmp_path, {"win-srv-01": fake}, [task(local_administrators=admins)])
    assert rc != 0
    assert results(data)["win-srv-01"]["msg"] == (
        f"Windows host win-srv-01 (127.0.5.11:{fake.port}): applying the baseline failed (exit 1): "
        "Principal BELEDIYE\\yok.boyle.biri was not found."
    )
    assert windows_of(fake) == before


def test_non_ascii_member_names_survive_both_ways(tmp_path, fakes):
    admins = [*BASELINE["local_administrators"], "BELEDIYE\\ayşe.yılmaz"]
    fake = fakes["win-pc-01"]
    rc, first = run_playbook(tmp_path, {"win-pc-01": fake}, [task(local_administrators=admins)])
    assert rc == 0, first
    assert "Add-LocalGroupMember -SID 'S-1-5-32-544' -Member 'BELEDIYE\\ayşe.yılmaz'" in scripts(fake, "apply")[0]
    assert f"{DOMAIN}-1140" in {m["sid"] for m in windows_of(fake)["administrators"]}
    rc, second = run_playbook(tmp_path, {"win-pc-01": fake}, [task(local_administrators=admins)])
    assert rc == 0
    assert second["stats"]["win-pc-01"]["changed"] == 0


def test_the_winrm_accounts_own_way_in_is_never_removed(tmp_path, fakes):
    fake = fakes["win-srv-01"]
    state = json.loads(fake.state_path.read_text())
    state["windows"]["identity"]["groups"].append(f"{DOMAIN}-512")  # admin through Domain Admins
    fake.state_path.write_text(json.dumps(state))
    rc, data = run_playbook(tmp_path, {"win-srv-01": fake}, [task(local_administrators=["BELEDIYE\\bim-admins", USER])])
    assert rc != 0
    assert "refusing to remove BELEDIYE\\Domain Admins" in results(data)["win-srv-01"]["msg"]
    assert scripts(fake, "apply") == []


def test_defender_missing_is_one_clear_line(tmp_path, fakes):
    fake = fakes["win-srv-01"]
    state = json.loads(fake.state_path.read_text())
    state["windows"]["defender"] = {"available": False, "error": "The term 'Get-MpPreference' is not recognized"}
    fake.state_path.write_text(json.dumps(state))
    rc, data = run_playbook(tmp_path, {"win-srv-01": fake}, [task()])
    assert rc != 0
    assert results(data)["win-srv-01"]["msg"].endswith(
        "Microsoft Defender is not available on the host (The term 'Get-MpPreference' is not recognized)"
    )
    rc, data = run_playbook(tmp_path, {"win-srv-01": fake}, [task(defender=None)])
    assert rc == 0


# --- transport ------------------------------------------------------------------------------------------


def test_a_script_longer_than_the_command_line_limit_goes_through_stdin(tmp_path):
    fake = start_fake(tmp_path, "127.0.5.13", "WIN-LONG-01")
    try:
        protocol = bw.open_protocol(
            {
                "scheme": "http",
                "host": fake.host,
                "port": fake.port,
                "username": USER,
                "password": PASSWORD,
                "transport": "basic",
                "validate_certs": True,
                "ca_trust_path": None,
                "operation_timeout": 3,
            }
        )
        plan = {"wsus": [{"path": bw.WSUS_KEY, "name": "TargetGroup", "type": "String", "value": "x" * 9000}]}
        script = bw.render_apply(plan)
        assert len(bw.encoded(script)) > 8191  # what Session.run_ps would put on the command line
        bw.run_script(protocol, script, "applying the baseline")
        assert windows_of(fake)["wsus"]["WindowsUpdate"]["TargetGroup"] == "x" * 9000
        assert fake.scripts[-1] == script
        assert fake.scripts[-2] == bw.BOOTSTRAP
        assert len(bw.encoded(bw.BOOTSTRAP)) < 2000
    finally:
        fake.shutdown()


def mocked_protocol(stdout=b"", stderr=b"", code=0):
    protocol = mock.Mock()
    protocol.open_shell.return_value = "SHELL"
    protocol.run_command.return_value = "CMD"
    protocol.get_command_output.return_value = (stdout, stderr, code)
    return protocol


def test_run_script_sends_the_bootstrap_then_the_script_on_stdin_and_cleans_up():
    protocol = mocked_protocol(b'{"ok":1}\r\n')
    assert bw.run_script(protocol, "# belediye-windows:read\n'ş'", "reading") == '{"ok":1}\r\n'
    args = protocol.run_command.call_args
    assert args.args[1] == "powershell.exe"
    assert args.args[2][-2:] == ["-EncodedCommand", bw.encoded(bw.BOOTSTRAP)]
    assert args.kwargs == {"console_mode_stdin": False}
    sent = protocol.send_command_input.call_args
    assert sent.kwargs == {"end": True}
    assert bw.base64.b64decode(sent.args[2]).decode("utf-8") == "# belediye-windows:read\n'ş'"
    protocol.cleanup_command.assert_called_once_with("SHELL", "CMD")
    protocol.close_shell.assert_called_once_with("SHELL")


def test_a_script_error_is_one_line_with_its_stderr():
    protocol = mocked_protocol(stderr=b"Access is denied.\r\n (script line 12)\r\n", code=1)
    with pytest.raises(bw.BaselineError) as caught:
        bw.run_script(protocol, "x", "applying the baseline")
    assert str(caught.value) == "applying the baseline failed (exit 1): Access is denied. (script line 12)"


MALFORMED = [
    ("not JSON at all", "Get-MpPreference : not JSON", "reading the baseline returned no JSON"),
    ("empty output", "", "reading the baseline returned no JSON"),
    ("JSON of another shape", "[1, 2]", "reading the baseline returned JSON of another shape"),
    ("JSON without hostname", '{"audit": {}}', "reading the baseline returned JSON of another shape"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_read_output_is_refused_with_one_line(text, message):
    with pytest.raises(bw.BaselineError) as caught:
        bw.read_state(lambda script, what: text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_single_member_and_lower_case_guids_are_shaped():
    text = json.dumps({"hostname": "H", "administrators": {"name": "H\\a", "sid": "S-1"}, "audit": {"{0cce}": "3"}})
    state = bw.parse_state("WARNING: noise first\r\n" + text + "\r\n")
    assert state["administrators"] == [{"name": "H\\a", "sid": "S-1"}]
    assert state["audit"] == {"{0CCE}": 3}


def test_an_apply_that_does_not_stick_fails_the_confirmation(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "windows_baseline_module", ROOT / "plugins" / "modules" / "windows_baseline.py"
    )
    monkeypatch.setitem(sys.modules, "ansible.module_utils.belediye_windows", bw)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state = windows_state("H")["windows"]
    reads = iter([json.dumps(state), json.dumps(state)])  # Tamper Protection: nothing changed

    def runner(script, what):
        return next(reads) if script.startswith("# belediye-windows:read") else '{"applied":[]}'

    wanted = bw.wanted_state({"firewall_profiles": ["Public"]})
    with pytest.raises(bw.BaselineError) as caught:
        module.converge(runner, wanted, check_mode=False)
    assert str(caught.value) == "applied, but these areas still differ on a second read: firewall"


# --- pure functions ------------------------------------------------------------------------------------

QUOTES = [
    ("plain", "abc", "'abc'"),
    ("apostrophe doubled", "O'Brien", "'O''Brien'"),
    ("typographic quote doubled", "a\u2019b", "'a\u2019\u2019b'"),
    ("dollar stays literal", "$env:x", "'$env:x'"),
]


@pytest.mark.parametrize(("value", "quoted"), [c[1:] for c in QUOTES], ids=[c[0] for c in QUOTES])
def test_ps_quote(value, quoted):
    assert bw.ps_quote(value) == quoted


def current(**override):
    state = copy.deepcopy(windows_state("H")["windows"])
    state.update(override)
    return state


DIFF_CASES = [
    (
        "policy in line",
        {"account_policy": {"min_length": 0, "complexity": True}},
        {},
        None,
    ),
    (
        "policy differs: every managed key is sent",
        {"account_policy": {"min_length": 12, "complexity": True}},
        {},
        {"account_policy": {"MinimumPasswordLength": 12, "PasswordComplexity": 1}},
    ),
    (
        "time peers in another order differ",
        {"time": {"peers": ["b", "a"]}},
        {"time": {"type": "NTP", "ntp_server": "a,0x8 b,0x8"}},
        {"time": {"type": "NTP", "manualpeerlist": ["b,0x8", "a,0x8"]}},
    ),
    (
        "time flags are not compared",
        {"time": {"peers": ["A"]}},
        {"time": {"type": "NTP", "ntp_server": "a,0x9"}},
        None,
    ),
    (
        "NT5DS only compares the type",
        {"time": {"type": "NT5DS"}},
        {},
        None,
    ),
    (
        "WSUS URL compared without case",
        {"wsus": {"server": "https://WSUS:8531"}},
        {
            "wsus": {
                "WindowsUpdate": {"WUServer": "https://wsus:8531", "WUStatusServer": "https://wsus:8531"},
                "AU": {
                    "UseWUServer": 1,
                    "NoAutoUpdate": 0,
                    "AUOptions": 4,
                    "ScheduledInstallDay": 0,
                    "ScheduledInstallTime": 3,
                },
            }
        },
        None,
    ),
    (
        "firewall: only the profiles that are off",
        {"firewall_profiles": ["Domain", "Public"]},
        {},
        {"firewall": ["Public"]},
    ),
    (
        "administrators: bare names are local, SIDs match by SID, -500 stays",
        {"local_administrators": [USER, f"{DOMAIN}-512", "BELEDIYE\\bim-admins"]},
        {},
        {
            "administrators": {
                "add": ["BELEDIYE\\bim-admins"],
                "remove": [{"sid": f"{MACHINE}-1005", "name": "H\\eski-personel"}],
            }
        },
    ),
    (
        "audit: a subcategory in line and the override already on",
        {"audit": [{"name": "Logon", "guid": "0cce9215-69ae-11d9-bed3-505054503030", "success": True}]},
        {"audit_force_subcategory": 1},
        None,
    ),
]


@pytest.mark.parametrize(("params", "override", "plan"), [c[1:] for c in DIFF_CASES], ids=[c[0] for c in DIFF_CASES])
def test_baseline_diff(params, override, plan):
    changed, got, diff = bw.baseline_diff(current(**override), bw.wanted_state(params))
    assert changed is (plan is not None)
    assert got == (plan or {})
    assert set(diff["before"]) >= set(got)


def test_a_guid_that_is_not_one_is_refused():
    with pytest.raises(bw.BaselineError, match="audit subcategory Logon: 'logon' is not a GUID"):
        bw.wanted_state({"audit": [{"name": "Logon", "guid": "logon", "success": True, "failure": False}]})


def test_the_read_script_prints_what_parse_state_reads():
    """The read script's keys are the ones the diff functions read, and the fake prints the same keys."""
    for key in wsman_fake.WINDOWS_READ_KEYS:
        assert f"{key} = " in bw.READ_SCRIPT, key
    assert "ConvertTo-Json -Compress" in bw.READ_SCRIPT
    assert "[^\\x00-\\x7F]" in bw.READ_SCRIPT  # non-ASCII escaped, as json.dumps in the fake does
    assert bw.READ_SCRIPT.count("Set-") == 0
    assert "Add-LocalGroupMember" not in bw.READ_SCRIPT


# --- the role: no_log on the call, the differences shown, the failure in one line ---------------------


def role_hostvars(fake, password):
    return {
        "ansible_host": fake.host,
        "windows_baseline_winrm_port": fake.port,
        "windows_baseline_winrm_scheme": "http",
        "windows_baseline_winrm_transport": "basic",
        "windows_baseline_winrm_allow_plaintext": True,
        "windows_baseline_winrm_user": USER,
        "vault_windows_admin_password": password,
        "windows_baseline_winrm_timeout": 3,
        "windows_baseline_ntp_servers": ["10.10.1.2", "ntp1.belediye.local"],
        "windows_baseline_audit_subcategories": BASELINE["audit"],
        "windows_baseline_local_administrators": BASELINE["local_administrators"],
    }


def run_role(tmp_path, fake, password, *extra):
    hostvars = {"ansible_connection": "local", **role_hostvars(fake, password)}
    (tmp_path / "inventory.yml").write_text(
        yaml.safe_dump({"all": {"children": {"windows_servers": {"hosts": {"win-srv-01": hostvars}}}}}),
        encoding="utf-8",
    )
    play = [{"hosts": "windows_servers", "gather_facts": False, "roles": ["windows_baseline"]}]
    (tmp_path / "role.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"), BELEDIYE_LEDGER_SYSLOG="false")
    return subprocess.run(
        [PLAYBOOK_BIN, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "role.yml"), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_role_shows_the_differences_and_never_the_password(tmp_path, fakes):
    proc = run_role(tmp_path, fakes["win-srv-01"], PASSWORD, "--check", "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public: 'off'" in proc.stdout or "Public: off" in proc.stdout
    assert "WIN-SRV-01\\eski-personel" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr
    assert scripts(fakes["win-srv-01"], "apply") == []


def test_the_role_fails_with_the_modules_line(tmp_path, fakes):
    proc = run_role(tmp_path, fakes["win-srv-01"], "wrong-Pass-1")
    assert proc.returncode != 0
    port = fakes["win-srv-01"].port
    assert f"Windows host win-srv-01 (127.0.5.11:{port}): WinRM authentication rejected" in proc.stdout
    assert "wrong-Pass-1" not in proc.stdout + proc.stderr


def test_the_role_refuses_bad_data_before_connecting(tmp_path, fakes):
    fake = fakes["win-srv-01"]
    inventory = {"windows_baseline_wsus_url": "wsus.belediye.local", "windows_baseline_lockout_window_minutes": 30}
    hostvars = {"ansible_connection": "local", **role_hostvars(fake, PASSWORD), **inventory}
    (tmp_path / "inventory.yml").write_text(
        yaml.safe_dump({"all": {"hosts": {"win-srv-01": hostvars}}}), encoding="utf-8"
    )
    play = [{"hosts": "all", "gather_facts": False, "roles": ["windows_baseline"]}]
    (tmp_path / "role.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"), BELEDIYE_LEDGER_SYSLOG="false")
    proc = subprocess.run(
        [PLAYBOOK_BIN, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "role.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "windows_baseline_lockout_window_minutes" in proc.stdout
    assert fake.scripts == []

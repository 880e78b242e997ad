#!/usr/bin/python
"""Security baseline of a Windows server or workstation over WinRM (pywinrm), from the control node."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_baseline
short_description: Keep a Windows host's security baseline (policies, time, WSUS, firewall, Defender, administrators)
description:
  - Runs on the control node (delegated to localhost) and talks to the Windows host over WinRM with
    pywinrm. Sends ONE PowerShell script that reads every managed area and prints compact JSON, compares
    it with the wanted baseline (pure functions in module_utils/belediye_windows.py) and, unless in check
    mode, sends ONE PowerShell script that applies only the difference, then reads again to confirm.
  - "Areas, each managed only when its option is given: password and lockout policy (secedit), advanced
    audit policy by subcategory GUID (auditpol), time source (w32tm), Windows Update through the internal
    WSUS (policy registry values), firewall profiles on, Microsoft Defender preferences, and the members
    of the local Administrators group (S-1-5-32-544)."
  - Members of the local Administrators group that are not listed are removed, except the built-in
    Administrator account (SID ending in -500); a member through which the WinRM account itself is an
    administrator is never removed (the module fails instead).
  - Scripts go to PowerShell on stdin through a small bootstrap, so their length is not limited by the
    8191-character command line of cmd.exe.
  - B(Tested against mocks and a protocol-level WS-Man fake (lab/devices/wsman_fake.py), NOT against
    Windows.) See docs/windows.md for what has and has not been run.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
requirements: [pywinrm >= 0.5]
options:
  name:
    description: Host name used in messages; pass C(inventory_hostname).
    type: str
  host:
    description: Address of the Windows host.
    type: str
    required: true
  port:
    description: WinRM port. Default 5986 for https, 5985 for http.
    type: int
  scheme:
    description: HTTP or HTTPS.
    type: str
    choices: [http, https]
    default: https
  transport:
    description:
      - WinRM authentication. C(basic) over HTTP sends the password readable; use it only against the
        loopback fake. NTLM and Kerberos encrypt the messages even over HTTP.
    type: str
    choices: [basic, ntlm, kerberos, credssp]
    default: ntlm
  username:
    description: Account that logs on over WinRM; it must be a local administrator of the host.
    type: str
    required: true
  password:
    description: Its password. Never returned or logged.
    type: str
    required: true
  validate_certs:
    description: Check the HTTPS certificate of the host.
    type: bool
    default: true
  ca_trust_path:
    description: CA bundle that signs the hosts' WinRM certificates (default the system's trust store).
    type: path
  operation_timeout:
    description: Seconds for each WinRM operation; the read timeout is 10 seconds longer.
    type: int
    default: 30
  account_policy:
    description: Password and lockout policy of local accounts. Left out, not managed.
    type: dict
    suboptions:
      min_length:
        description: MinimumPasswordLength.
        type: int
      history:
        description: PasswordHistorySize (passwords remembered).
        type: int
      max_age_days:
        description: MaximumPasswordAge in days.
        type: int
      min_age_days:
        description: MinimumPasswordAge in days.
        type: int
      complexity:
        description: PasswordComplexity.
        type: bool
      lockout_threshold:
        description: LockoutBadCount (failed logons before lock-out; 0 never locks).
        type: int
      lockout_duration_minutes:
        description: LockoutDuration in minutes.
        type: int
      lockout_window_minutes:
        description: ResetLockoutCount in minutes; not longer than the lockout duration.
        type: int
  audit:
    description: Advanced audit policy subcategories. Left out, not managed; subcategories not listed are left alone.
    type: list
    elements: dict
    suboptions:
      name:
        description: Subcategory name, for the diff and messages.
        type: str
        required: true
      guid:
        description: Subcategory GUID, as auditpol shows it (names are translated, GUIDs are not).
        type: str
        required: true
      success:
        description: Audit successes.
        type: bool
        default: false
      failure:
        description: Audit failures.
        type: bool
        default: false
  time:
    description: Time source of w32time. Left out, not managed.
    type: dict
    suboptions:
      type:
        description: NTP takes time from O(time.peers); NT5DS from the domain hierarchy.
        type: str
        choices: [NTP, NT5DS]
        default: NTP
      peers:
        description: NTP servers, in order.
        type: list
        elements: str
      flags:
        description: w32time flags after each peer (0x8 client mode).
        type: str
        default: "0x8"
  wsus:
    description: Windows Update from the internal WSUS. Left out, not managed.
    type: dict
    suboptions:
      server:
        description: WSUS URL (WUServer), such as https://wsus.belediye.local:8531.
        type: str
        required: true
      status_server:
        description: Reporting URL (WUStatusServer). Default O(wsus.server).
        type: str
      target_group:
        description: Client-side targeting group (TargetGroup); empty leaves targeting off.
        type: str
      au_options:
        description:
          - AUOptions (2 notify, 3 download and notify, 4 download and schedule the install,
            5 local administrator chooses, 7 notify to install).
        type: int
        default: 4
      scheduled_install_day:
        description: ScheduledInstallDay (0 every day, 1 Sunday .. 7 Saturday).
        type: int
        default: 0
      scheduled_install_time:
        description: ScheduledInstallTime, hour 0-23.
        type: int
        default: 3
  firewall_profiles:
    description: Firewall profiles that must be on. Left out, not managed; profiles not listed are left alone.
    type: list
    elements: str
    choices: [Domain, Private, Public]
  defender:
    description: Microsoft Defender preferences. Left out, not managed; each preference left out is left alone.
    type: dict
    suboptions:
      realtime_monitoring:
        description: Real-time protection on (DisableRealtimeMonitoring false).
        type: bool
      behavior_monitoring:
        description: Behaviour monitoring on.
        type: bool
      ioav_protection:
        description: Scanning of downloaded files and attachments on.
        type: bool
      signature_update_interval_hours:
        description: SignatureUpdateInterval, hours between signature checks (0 off, 1-24).
        type: int
      pua_protection:
        description: Potentially unwanted applications.
        type: str
        choices: [disabled, enabled, audit]
      maps_reporting:
        description: Cloud-delivered protection membership (MAPS).
        type: str
        choices: [disabled, basic, advanced]
  local_administrators:
    description:
      - Every allowed member of the local Administrators group, as DOMAIN\name (NetBIOS domain), a bare
        name for a local account, or a SID. Members not listed are removed, except the built-in
        Administrator (-500). Left out, not managed.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: The Windows host follows the municipal baseline
  windows_baseline:
    name: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    username: "{{ windows_baseline_winrm_user }}"
    password: "{{ vault_windows_admin_password }}"
    account_policy: {min_length: 12, history: 24, max_age_days: 90, lockout_threshold: 5,
                     lockout_duration_minutes: 15, lockout_window_minutes: 15}
    audit:
      - {name: Logon, guid: "{0CCE9215-69AE-11D9-BED3-505054503030}", success: true, failure: true}
    time: {peers: [ntp1.belediye.local, ntp2.belediye.local]}
    wsus: {server: "https://wsus.belediye.local:8531"}
    firewall_profiles: [Domain, Private, Public]
    defender: {realtime_monitoring: true, signature_update_interval_hours: 4}
    local_administrators: ['BELEDIYE\Domain Admins', 'BELEDIYE\bim-admins']
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: What was (or in check mode would be) applied, per area; areas in line are left out.
  type: dict
  returned: always
state:
  description: The host's state as read before any change (hostname, identity, every area).
  type: dict
  returned: always
differences:
  description: Before and after of each area that differs (the same as the diff, without the areas in line).
  type: dict
  returned: always
confirmed:
  description: True when the read after the apply found every area in line; false in check mode or when nothing changed.
  type: bool
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_windows import (
    BaselineError,
    areas_left,
    baseline_diff,
    open_protocol,
    read_state,
    render_apply,
    run_script,
    wanted_state,
)
from ansible.module_utils.belediye_winrm import HAS_WINRM, connection_spec, device_label

ARGUMENT_SPEC = connection_spec(
    operation_timeout={"type": "int", "default": 30},
    account_policy={
        "type": "dict",
        "options": {
            "min_length": {"type": "int"},
            "history": {"type": "int"},
            "max_age_days": {"type": "int"},
            "min_age_days": {"type": "int"},
            "complexity": {"type": "bool"},
            "lockout_threshold": {"type": "int"},
            "lockout_duration_minutes": {"type": "int"},
            "lockout_window_minutes": {"type": "int"},
        },
    },
    audit={
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "guid": {"type": "str", "required": True},
            "success": {"type": "bool", "default": False},
            "failure": {"type": "bool", "default": False},
        },
    },
    time={
        "type": "dict",
        "options": {
            "type": {"type": "str", "choices": ["NTP", "NT5DS"], "default": "NTP"},
            "peers": {"type": "list", "elements": "str"},
            "flags": {"type": "str", "default": "0x8"},
        },
    },
    wsus={
        "type": "dict",
        "options": {
            "server": {"type": "str", "required": True},
            "status_server": {"type": "str"},
            "target_group": {"type": "str"},
            "au_options": {"type": "int", "default": 4},
            "scheduled_install_day": {"type": "int", "default": 0},
            "scheduled_install_time": {"type": "int", "default": 3},
        },
    },
    firewall_profiles={"type": "list", "elements": "str", "choices": ["Domain", "Private", "Public"]},
    defender={
        "type": "dict",
        "options": {
            "realtime_monitoring": {"type": "bool"},
            "behavior_monitoring": {"type": "bool"},
            "ioav_protection": {"type": "bool"},
            "signature_update_interval_hours": {"type": "int"},
            "pua_protection": {"type": "str", "choices": ["disabled", "enabled", "audit"]},
            "maps_reporting": {"type": "str", "choices": ["disabled", "basic", "advanced"]},
        },
    },
    local_administrators={"type": "list", "elements": "str"},
)


def converge(runner, wanted, check_mode):
    """Read, compare and (not in check mode) apply then confirm; runner(script, what) -> stdout text."""
    state = read_state(runner)
    changed, plan, diff = baseline_diff(state, wanted)
    confirmed = False
    if changed and not check_mode:
        runner(render_apply(plan), "applying the baseline")
        after = read_state(runner, "reading the baseline after the apply")
        left = areas_left(after, wanted)
        if left:
            raise BaselineError(f"applied, but these areas still differ on a second read: {', '.join(left)}")
        confirmed = True
    return changed, plan, diff, state, confirmed


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    device = device_label("Windows host", params)
    if not HAS_WINRM:
        module.fail_json(msg=f"{device}: the pywinrm Python library is missing on the control node")
    try:
        wanted = wanted_state(params)
        protocol = open_protocol(params)
        changed, plan, diff, state, confirmed = converge(
            lambda script, what: run_script(protocol, script, what), wanted, module.check_mode
        )
    except BaselineError as exc:
        module.fail_json(msg=f"{device}: {exc}")
    differences = {
        area: {"before": diff["before"].get(area), "after": diff["after"].get(area)}
        for area in diff["before"]
        if area in plan
    }
    result = {"changed": changed, "plan": plan, "differences": differences, "state": state, "confirmed": confirmed}
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()

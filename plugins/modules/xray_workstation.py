#!/usr/bin/python
"""Windows baseline of an X-ray scanner's operator workstation over WinRM (time, local accounts, USB storage)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: xray_workstation
short_description: Keep an X-ray operator workstation's time source, local accounts and USB storage policy
description:
  - Connects from the controller to the operator workstation of an X-ray scanner over WinRM with
    pywinrm, reads its state with one PowerShell call that returns JSON, computes the difference with
    pure functions (module_utils/belediye_xray.py) and applies only that difference with PowerShell.
  - Manages the NTP peer list of w32time, local accounts (present, absent or disabled) and USB mass
    storage (HKLM\SYSTEM\CurrentControlSet\Services\USBSTOR Start=4 disables it, 3 enables it).
  - Passwords are never read back or compared. With O(accounts[].update_password=always) the password
    is set on every run, so the task always reports a change for that account.
  - The workstation image is part of the vendor's certified system. Agree every change with the vendor
    before enforcing it. This module never touches X-ray generator, conveyor or detection settings.
  - B(Tested against mocks and a protocol-level WS-Man fake (lab/devices/wsman_fake.py), NOT against
    Windows.) Verify on a Windows test machine before production use.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
requirements: [pywinrm >= 0.5]
options:
  name:
    description: Device name used in messages; pass C(inventory_hostname).
    type: str
  host:
    description: Address of the workstation.
    type: str
    required: true
  port:
    description: WinRM port, 5985 (HTTP) or 5986 (HTTPS). Default by O(scheme).
    type: int
  scheme:
    description: HTTP or HTTPS.
    type: str
    choices: [http, https]
    default: https
  transport:
    description: WinRM authentication. C(basic) over HTTP sends the password readable; use it only in the lab.
    type: str
    choices: [basic, ntlm, kerberos, credssp]
    default: ntlm
  username:
    description: Account that logs on over WinRM.
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
  validate_certs:
    description: Check the HTTPS certificate of the workstation.
    type: bool
    default: true
  ca_trust_path:
    description: CA bundle that signs the workstations' WinRM certificates (default the system's trust store).
    type: path
  operation_timeout:
    description: Seconds for each WinRM operation; the read timeout is 10 seconds longer.
    type: int
    default: 20
  time_peers:
    description: NTP peers for w32time, in order. Left out, the time source is not managed.
    type: list
    elements: str
  accounts:
    description: Local accounts to manage; others are left alone.
    type: list
    elements: dict
    suboptions:
      name:
        description: Account name (compared case-insensitively, as Windows does).
        type: str
        required: true
      state:
        description: present (enabled), disabled, or absent.
        type: str
        choices: [present, absent, disabled]
        default: present
      password:
        description: Password, used when the account is created or when O(accounts[].update_password=always).
        type: str
      update_password:
        description: on_create sets it only for a new account; always sets it on every run.
        type: str
        choices: [on_create, always]
        default: on_create
  usb_storage:
    description: Whether USB mass storage may be used. Left out, not managed.
    type: str
    choices: [enabled, disabled]
"""

EXAMPLES = r"""
- name: The operator workstation follows the municipal baseline (agreed with the vendor)
  xray_workstation:
    name: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    username: "{{ xray_ws_admin }}"
    password: "{{ vault_xray_ws_admin_password }}"
    time_peers: [ntp1.belediye.local, ntp2.belediye.local]
    accounts:
      - {name: operator, state: present, password: "{{ vault_xray_operator_password }}"}
      - {name: Guest, state: disabled}
      - {name: vendor_tmp, state: absent}
    usb_storage: disabled
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: What was (or in check mode would be) applied; time peers, account steps without passwords,
    and the USBSTOR Start value.
  type: dict
  returned: always
state:
  description: The workstation's state as read before any change (hostname, time, accounts, usbstor_start).
  type: dict
  returned: always
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_winrm import (
    HAS_WINRM,
    connection_spec,
    device_label,
    endpoint,
    failure_message,
    session_options,
)
from ansible.module_utils.belediye_xray import baseline_diff, plan_json, plan_summary

if HAS_WINRM:
    import winrm

READ_SCRIPT = r"""# belediye-xray:read
$ErrorActionPreference = 'Stop'
$w32 = Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters'
$peers = @(([string]$w32.NtpServer) -split '\s+' | Where-Object { $_ } | ForEach-Object { ($_ -split ',')[0] })
$usb = (Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR' -ErrorAction SilentlyContinue).Start
$users = @(Get-LocalUser | Sort-Object Name | ForEach-Object { @{ name = $_.Name; enabled = [bool]$_.Enabled } })
@{ hostname = $env:COMPUTERNAME; time = @{ type = [string]$w32.Type; peers = $peers };
   accounts = $users; usbstor_start = $usb } | ConvertTo-Json -Compress -Depth 4
"""

APPLY_SCRIPT = r"""# belediye-xray:apply
$ErrorActionPreference = 'Stop'
$plan = @'
__PLAN__
'@ | ConvertFrom-Json
if ($plan.time) {
  $list = ($plan.time.peers | ForEach-Object { "$_,0x8" }) -join ' '
  & w32tm /config "/manualpeerlist:$list" /syncfromflags:manual /reliable:no /update | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "w32tm /config failed with $LASTEXITCODE" }
  Restart-Service w32time
}
foreach ($step in $plan.accounts) {
  switch ($step.action) {
    'create' {
      $secret = ConvertTo-SecureString $step.password -AsPlainText -Force
      New-LocalUser -Name $step.name -Password $secret -PasswordNeverExpires:$false | Out-Null
      if (-not $step.enabled) { Disable-LocalUser -Name $step.name }
    }
    'remove' { Remove-LocalUser -Name $step.name }
    'enable' { Enable-LocalUser -Name $step.name }
    'disable' { Disable-LocalUser -Name $step.name }
    'password' { Set-LocalUser -Name $step.name -Password (ConvertTo-SecureString $step.password -AsPlainText -Force) }
  }
}
if ($null -ne $plan.usbstor_start) {
  $usbstor = 'HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR'
  Set-ItemProperty $usbstor -Name Start -Value ([int]$plan.usbstor_start) -Type DWord
}
'{"applied":true}'
"""


class WorkstationError(Exception):
    pass


def apply_script(plan):
    return APPLY_SCRIPT.replace("__PLAN__", plan_json(plan))


def run_ps(session, script, what):
    try:
        response = session.run_ps(script)
    except Exception as exc:  # pywinrm's errors, and requests' connection errors and timeouts
        raise WorkstationError(failure_message(exc)) from None
    if response.status_code != 0:
        error = response.std_err.decode("utf-8", errors="replace").strip()
        raise WorkstationError(f"{what} failed (exit {response.status_code}): {error[:300]}")
    return response.std_out.decode("utf-8", errors="replace")


def read_state(session):
    text = run_ps(session, READ_SCRIPT, "reading the baseline")
    try:
        state = json.loads(text)
    except ValueError:
        raise WorkstationError(f"reading the baseline returned no JSON: {text[:200]!r}") from None
    accounts = state.get("accounts") or []
    state["accounts"] = accounts if isinstance(accounts, list) else [accounts]
    return state


def main():
    module = AnsibleModule(
        argument_spec=connection_spec(
            operation_timeout={"type": "int", "default": 20},
            time_peers={"type": "list", "elements": "str"},
            accounts={
                "type": "list",
                "elements": "dict",
                "options": {
                    "name": {"type": "str", "required": True},
                    "state": {"type": "str", "choices": ["present", "absent", "disabled"], "default": "present"},
                    "password": {"type": "str", "no_log": True},
                    "update_password": {
                        "type": "str",
                        "choices": ["on_create", "always"],
                        "default": "on_create",
                        "no_log": False,
                    },
                },
            },
            usb_storage={"type": "str", "choices": ["enabled", "disabled"]},
        ),
        supports_check_mode=True,
    )
    params = module.params
    device = device_label("X-ray workstation", params)
    if not HAS_WINRM:
        module.fail_json(msg=f"{device}: the pywinrm Python library is missing on the controller")
    session = winrm.Session(
        endpoint(params)[0],
        auth=(params["username"], params["password"]),
        **session_options(params, params["operation_timeout"]),
    )
    desired = {"time_peers": params["time_peers"], "accounts": params["accounts"], "usb_storage": params["usb_storage"]}
    try:
        state = read_state(session)
        changed, plan, diff = baseline_diff(state, desired)
        if changed and not module.check_mode:
            run_ps(session, apply_script(plan), "applying the baseline")
    except (WorkstationError, ValueError) as exc:
        module.fail_json(msg=f"{device}: {exc}")
    result = {"changed": changed, "plan": plan_summary(plan), "state": state}
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()

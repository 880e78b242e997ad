"""The Windows baseline (windows_baseline module): PowerShell scripts, the WinRM transport and pure functions.

The module reads a Windows host's state with ONE PowerShell script that prints compact JSON, compares it
with the wanted baseline here (pure functions, no I/O), and applies only the difference with ONE
PowerShell script rendered from the plan. Areas: password and lockout policy (secedit), advanced audit
policy (auditpol, by subcategory GUID), time source (w32time), Windows Update through the internal WSUS
(policy registry values), firewall profiles, Microsoft Defender preferences and the members of the local
Administrators group (S-1-5-32-544).

Scripts reach PowerShell on stdin, not on the command line. ``Session.run_ps`` puts the whole script,
base64 of UTF-16LE, on the command line, and cmd.exe cuts that at 8191 characters (about 3000 characters
of script); the apply script for a full baseline is longer. So a small bootstrap goes on the command
line (``powershell.exe ... -EncodedCommand``) and reads the real script, base64 of UTF-8, from stdin
(``$input``), the way Ansible's own winrm connection feeds its exec wrapper. The read script escapes
every non-ASCII character of its JSON as \\uXXXX, so the console code page (857 on Turkish Windows)
cannot garble a name such as "BELEDIYE\\ayşe.yılmaz".

NOTHING HERE HAS RUN ON WINDOWS. The scripts were checked by reading and by the protocol-level fake
(lab/devices/wsman_fake.py), which does not run PowerShell. See docs/windows.md.
"""

from __future__ import annotations

import base64
import json
import re

from ansible.module_utils.belediye_winrm import HAS_WINRM, endpoint, failure_message, session_options

if HAS_WINRM:
    from winrm.protocol import Protocol

ADMINISTRATORS_SID = "S-1-5-32-544"
# The built-in Administrator account of the machine itself: S-1-5-21-<machine>-500. Never removed.
BUILTIN_ADMINISTRATOR_RE = re.compile(r"^S-1-5-21-\d+-\d+-\d+-500$", re.I)
GUID_RE = re.compile(r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
WSUS_KEY = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate"
WSUS_AU_KEY = WSUS_KEY + r"\AU"

# module option -> [System Access] key of the security template (secedit)
ACCOUNT_POLICY_KEYS = {
    "min_length": "MinimumPasswordLength",
    "history": "PasswordHistorySize",
    "max_age_days": "MaximumPasswordAge",
    "min_age_days": "MinimumPasswordAge",
    "complexity": "PasswordComplexity",
    "lockout_threshold": "LockoutBadCount",
    "lockout_duration_minutes": "LockoutDuration",
    "lockout_window_minutes": "ResetLockoutCount",
}
# auditpol's numeric setting (the last column of auditpol /backup) <-> (success, failure)
AUDIT_SETTINGS = {0: (False, False), 1: (True, False), 2: (False, True), 3: (True, True)}
AUDIT_WORDS = {
    (False, False): "No Auditing",
    (True, False): "Success",
    (False, True): "Failure",
    (True, True): "Success and Failure",
}
# module option -> Set-MpPreference / Get-MpPreference property; enabled options invert Disable* ones
DEFENDER_PREFERENCES = {
    "realtime_monitoring": ("DisableRealtimeMonitoring", "inverted"),
    "behavior_monitoring": ("DisableBehaviorMonitoring", "inverted"),
    "ioav_protection": ("DisableIOAVProtection", "inverted"),
    "signature_update_interval_hours": ("SignatureUpdateInterval", "int"),
    "pua_protection": ("PUAProtection", "int"),
    "maps_reporting": ("MAPSReporting", "int"),
}
PUA_VALUES = {"disabled": 0, "enabled": 1, "audit": 2}
MAPS_VALUES = {"disabled": 0, "basic": 1, "advanced": 2}
FIREWALL_PROFILES = ("Domain", "Private", "Public")


class BaselineError(Exception):
    """One line that says what failed; the module puts the host in front of it."""


# --- PowerShell -------------------------------------------------------------------------------------

BOOTSTRAP = r"""# belediye-windows:stdin
$ErrorActionPreference = 'Stop'
try {
  $text = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String((@($input) -join '').Trim()))
  & ([ScriptBlock]::Create($text))
} catch {
  [Console]::Error.WriteLine(('{0} (script line {1})' -f $_.Exception.Message, $_.InvocationInfo.ScriptLineNumber))
  exit 1
}
exit 0
"""

READ_SCRIPT = r"""# belediye-windows:read
# Reads the baseline areas and prints ONE line of compact JSON. Changes nothing; its temporary files
# (the exported security template and the audit policy backup) are removed at the end.
$ErrorActionPreference = 'Stop'
$tmp = Join-Path $env:TEMP ('belediye-' + [guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  # Password and lockout policy: [System Access] of the local security policy.
  & secedit.exe /export /cfg (Join-Path $tmp 'secpol.inf') /areas SECURITYPOLICY /quiet | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "secedit /export failed with exit code $LASTEXITCODE" }
  $policy = [ordered]@{}
  $section = ''
  foreach ($line in Get-Content -LiteralPath (Join-Path $tmp 'secpol.inf')) {
    if ($line -match '^\s*\[(.+)\]\s*$') { $section = $Matches[1]; continue }
    if ($section -eq 'System Access' -and $line -match '^\s*(\w+)\s*=\s*(-?\d+)\s*$') {
      $policy[$Matches[1]] = [int]$Matches[2]
    }
  }
  # Advanced audit policy. auditpol /backup writes a CSV whose last column is the numeric setting
  # (0 none, 1 success, 2 failure, 3 both): the same in every display language, unlike /get /r.
  & auditpol.exe /backup ('/file:' + (Join-Path $tmp 'audit.csv')) | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "auditpol /backup failed with exit code $LASTEXITCODE" }
  $audit = [ordered]@{}
  $columns = 'machine', 'target', 'subcategory', 'guid', 'inclusion', 'exclusion', 'value'
  Import-Csv -LiteralPath (Join-Path $tmp 'audit.csv') -Header $columns |
    Where-Object { $_.guid -match '^\{[0-9A-Fa-f-]{36}\}$' } |
    ForEach-Object { $audit[$_.guid.ToUpper()] = [int]$_.value }
  $lsa = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa'
  # Time source: what w32tm /config wrote.
  $w32 = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters'
  # Windows Update policy values (WSUS), from the policy key and its AU subkey.
  $wsus = [ordered]@{ WindowsUpdate = [ordered]@{}; AU = [ordered]@{} }
  foreach ($pair in @(@('WindowsUpdate', 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate'),
                      @('AU', 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU'))) {
    if (Test-Path -LiteralPath $pair[1]) {
      $key = Get-Item -LiteralPath $pair[1]
      foreach ($name in $key.GetValueNames()) { if ($name) { $wsus[$pair[0]][$name] = $key.GetValue($name) } }
    }
  }
  # Firewall profiles as they are in force (ActiveStore: local settings merged with Group Policy).
  $firewall = [ordered]@{}
  foreach ($fwProfile in Get-NetFirewallProfile -PolicyStore ActiveStore) {
    $firewall[[string]$fwProfile.Name] = ([string]$fwProfile.Enabled -eq 'True')
  }
  # Microsoft Defender; a host without it (Server Core without the feature) says so instead of failing.
  $defender = [ordered]@{ available = $false }
  try {
    $mp = Get-MpPreference
    $defender = [ordered]@{
      available = $true
      DisableRealtimeMonitoring = [bool]$mp.DisableRealtimeMonitoring
      DisableBehaviorMonitoring = [bool]$mp.DisableBehaviorMonitoring
      DisableIOAVProtection = [bool]$mp.DisableIOAVProtection
      SignatureUpdateInterval = [int]$mp.SignatureUpdateInterval
      PUAProtection = [int]$mp.PUAProtection
      MAPSReporting = [int]$mp.MAPSReporting
    }
  } catch { $defender['error'] = $_.Exception.Message }
  # Members of the local Administrators group, by its well-known SID (the name is translated).
  $adminsSid = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-544')
  $admins = @()
  try {
    $admins = @(Get-LocalGroupMember -SID $adminsSid | ForEach-Object {
      [ordered]@{ name = [string]$_.Name; sid = [string]$_.SID
                  class = [string]$_.ObjectClass; source = [string]$_.PrincipalSource }
    })
  } catch {
    # Get-LocalGroupMember fails on a group that holds an orphaned SID (a deleted domain account);
    # the WinNT provider lists every member, orphans included.
    $groupName = $adminsSid.Translate([System.Security.Principal.NTAccount]).Value.Split('\')[-1]
    $group = [ADSI]("WinNT://$env:COMPUTERNAME/$groupName,group")
    $admins = @($group.Invoke('Members') | ForEach-Object {
      $bytes = $_.GetType().InvokeMember('objectSid', 'GetProperty', $null, $_, $null)
      $sid = New-Object System.Security.Principal.SecurityIdentifier($bytes, 0)
      $name = $sid.Value
      try { $name = $sid.Translate([System.Security.Principal.NTAccount]).Value } catch { }
      [ordered]@{ name = $name; sid = $sid.Value; class = ''; source = 'WinNT' }
    })
  }
  # The account this script runs as, and its groups: a plan never removes its own way in.
  $me = [System.Security.Principal.WindowsIdentity]::GetCurrent()
  $state = [ordered]@{
    hostname = $env:COMPUTERNAME
    identity = [ordered]@{ name = $me.Name; sid = $me.User.Value; groups = @($me.Groups | ForEach-Object { $_.Value }) }
    account_policy = $policy
    audit = $audit
    audit_force_subcategory = [int]$lsa.SCENoApplyLegacyAuditPolicy
    time = [ordered]@{ type = [string]$w32.Type; ntp_server = [string]$w32.NtpServer }
    wsus = $wsus
    firewall = $firewall
    defender = $defender
    administrators = $admins
  }
  $json = $state | ConvertTo-Json -Compress -Depth 6
  [regex]::Replace($json, '[^\x00-\x7F]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
} finally {
  Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}
"""

APPLY_HEAD = r"""# belediye-windows:apply
# Applies the plan below, which the module computed from the difference between the host and the
# baseline. The statements after the plan are rendered from the same plan; the plan itself is
# printed back at the end.
$ErrorActionPreference = 'Stop'
$plan = @'
__PLAN__
'@ | ConvertFrom-Json
function Assert-ExitCode([string]$What) {
  if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE" }
}
function Remove-Administrator([string]$Sid) {
  try {
    Remove-LocalGroupMember -SID 'S-1-5-32-544' -Member $Sid
  } catch {
    # Remove-LocalGroupMember fails on an orphaned SID; the WinNT provider removes it by SID.
    $admins = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-544')
    $groupName = $admins.Translate([System.Security.Principal.NTAccount]).Value.Split('\')[-1]
    ([ADSI]"WinNT://$env:COMPUTERNAME/$groupName,group").Remove("WinNT://$Sid")
  }
}
$tmp = Join-Path $env:TEMP ('belediye-' + [guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
"""

APPLY_TAIL = r"""} finally {
  Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}
$applied = @($plan.PSObject.Properties | Where-Object { $null -ne $_.Value } | ForEach-Object { $_.Name })
@{ applied = $applied } | ConvertTo-Json -Compress
"""


def ps_quote(value):
    """A PowerShell single-quoted string literal: every quote character PowerShell accepts is doubled."""
    text = str(value)
    for quote in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def plan_json(plan):
    """The plan as one line of JSON for the here-string (a line of it can never start with '@)."""
    return json.dumps(plan, separators=(",", ":"), sort_keys=True)


def render_apply(plan):
    """The apply script for a plan: the plan in a here-string, then one block of statements per area."""
    lines = []
    policy = plan.get("account_policy")
    if policy:
        lines.append("  # Password and lockout policy: a security template applied with secedit.")
        lines.append("  $inf = Join-Path $tmp 'baseline.inf'")
        template = ["[Unicode]", "Unicode=yes", "[System Access]"]
        template += [f"{key} = {int(policy[key])}" for key in sorted(policy)]
        template += ["[Version]", 'signature="$CHICAGO$"', "Revision=1"]
        lines.append("  Set-Content -LiteralPath $inf -Encoding Unicode -Value @(")
        lines += [f"    {ps_quote(line)}" for line in template]
        lines.append("  )")
        lines.append(
            "  & secedit.exe /configure /db (Join-Path $tmp 'baseline.sdb') /cfg $inf /areas SECURITYPOLICY"
            " /log (Join-Path $tmp 'secedit.log') /quiet | Out-Null"
        )
        lines.append("  Assert-ExitCode 'secedit /configure'")
    audit = plan.get("audit")
    if audit:
        lines.append("  # Advanced audit policy, one subcategory at a time by its GUID (names are translated).")
        for item in audit:
            success = "enable" if item["success"] else "disable"
            failure = "enable" if item["failure"] else "disable"
            lines.append(
                f"  & auditpol.exe /set '/subcategory:{item['guid']}' /success:{success} /failure:{failure} | Out-Null"
            )
            lines.append(f"  Assert-ExitCode {ps_quote('auditpol /set ' + item['name'])}")
    if plan.get("audit_force_subcategory"):
        lines.append("  # Subcategory settings override the legacy category settings (SCENoApplyLegacyAuditPolicy).")
        lines.append(
            "  Set-ItemProperty -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa'"
            " -Name SCENoApplyLegacyAuditPolicy -Type DWord -Value 1"
        )
    time = plan.get("time")
    if time:
        lines.append("  # Time source (w32time).")
        if time["type"] == "NTP":
            peers = " ".join(time["manualpeerlist"])
            lines.append(
                f"  & w32tm.exe /config {ps_quote('/manualpeerlist:' + peers)} /syncfromflags:manual /update | Out-Null"
            )
        else:
            lines.append("  & w32tm.exe /config /syncfromflags:domhier /update | Out-Null")
        lines.append("  Assert-ExitCode 'w32tm /config'")
        lines.append("  Restart-Service -Name w32time")
        lines.append("  & w32tm.exe /resync /nowait | Out-Null")
    wsus = plan.get("wsus")
    if wsus:
        lines.append("  # Windows Update from the internal WSUS (policy values).")
        for path in sorted({item["path"] for item in wsus}):
            quoted = ps_quote(path)
            lines.append(f"  if (-not (Test-Path -LiteralPath {quoted})) {{")
            lines.append(f"    New-Item -Path {quoted} -Force | Out-Null")
            lines.append("  }")
        for item in wsus:
            value = ps_quote(item["value"]) if item["type"] == "String" else str(int(item["value"]))
            lines.append(
                f"  Set-ItemProperty -LiteralPath {ps_quote(item['path'])} -Name {ps_quote(item['name'])}"
                f" -Type {item['type']} -Value {value}"
            )
    firewall = plan.get("firewall")
    if firewall:
        lines.append("  # Firewall profiles on.")
        lines.append(f"  Set-NetFirewallProfile -Profile {','.join(ps_quote(p) for p in firewall)} -Enabled True")
    defender = plan.get("defender")
    if defender:
        lines.append("  # Microsoft Defender preferences.")
        args = []
        for name in sorted(defender):
            value = defender[name]
            args.append(f"-{name} {'$true' if value is True else '$false' if value is False else int(value)}")
        lines.append("  Set-MpPreference " + " ".join(args))
    admins = plan.get("administrators")
    if admins:
        lines.append("  # Local Administrators group (S-1-5-32-544): additions first, then removals.")
        for name in admins["add"]:
            lines.append(f"  Add-LocalGroupMember -SID 'S-1-5-32-544' -Member {ps_quote(name)}")
        for member in admins["remove"]:
            lines.append(f"  Remove-Administrator {ps_quote(member['sid'])}")
    return APPLY_HEAD.replace("__PLAN__", plan_json(plan)) + "\n".join(lines) + "\n" + APPLY_TAIL


# --- WinRM transport ---------------------------------------------------------------------------------


def encoded(script):
    """What powershell.exe -EncodedCommand takes: base64 of the UTF-16LE script."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def stdin_payload(script):
    """What the bootstrap reads from stdin: base64 of the UTF-8 script, one ASCII line."""
    return base64.b64encode(script.encode("utf-8")) + b"\r\n"


def open_protocol(params):
    """A pywinrm Protocol for the host's WS-Man endpoint, from the module's connection options."""
    return Protocol(
        endpoint(params)[0],
        username=params["username"],
        password=params["password"],
        **session_options(params, params["operation_timeout"]),
    )


def run_script(protocol, script, what):
    """Run one script through the stdin bootstrap; stdout text, or BaselineError with one line."""
    try:
        shell = protocol.open_shell()
        try:
            command = protocol.run_command(
                shell,
                "powershell.exe",
                ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded(BOOTSTRAP)],
                console_mode_stdin=False,
            )
            try:
                protocol.send_command_input(shell, command, stdin_payload(script), end=True)
                stdout, stderr, code = protocol.get_command_output(shell, command)
            finally:
                protocol.cleanup_command(shell, command)
        finally:
            protocol.close_shell(shell)
    except Exception as exc:  # pywinrm's errors, and requests' connection errors, timeouts, TLS failures
        raise BaselineError(failure_message(exc)) from None
    if code != 0:
        error = " ".join(stderr.decode("utf-8", errors="replace").split())
        raise BaselineError(f"{what} failed (exit {code}): {error[:400] or 'no message on stderr'}")
    return stdout.decode("utf-8", errors="replace")


def parse_state(text):
    """The read script's JSON output, shaped; BaselineError when it is not what the script prints."""
    try:
        state = json.loads(text.strip().splitlines()[-1] if text.strip() else "")
    except ValueError:
        raise BaselineError(f"reading the baseline returned no JSON: {text.strip()[:200]!r}") from None
    if not isinstance(state, dict) or "hostname" not in state:
        raise BaselineError(f"reading the baseline returned JSON of another shape: {text.strip()[:200]!r}")
    admins = state.get("administrators") or []
    state["administrators"] = admins if isinstance(admins, list) else [admins]  # one member: an object
    state["audit"] = {str(k).upper(): int(v) for k, v in (state.get("audit") or {}).items()}
    identity = state.get("identity") or {}
    groups = identity.get("groups") or []
    identity["groups"] = groups if isinstance(groups, list) else [groups]
    state["identity"] = identity
    return state


def read_state(runner, what="reading the baseline"):
    """runner(script, what) -> stdout text; returns the parsed state."""
    return parse_state(runner(READ_SCRIPT, what))


# --- wanted state ----------------------------------------------------------------------------------------


def normalise_peer(peer):
    """A w32time NtpServer entry without its ,0x.. flags, lower case."""
    return str(peer).split(",")[0].strip().lower()


def wanted_state(params):
    """Module parameters -> the wanted state per area (None for an area that is not managed)."""
    wanted = {}
    policy = params.get("account_policy")
    if policy is not None:
        wanted["account_policy"] = {
            ACCOUNT_POLICY_KEYS[key]: int(value) for key, value in policy.items() if value is not None
        }
    audit = params.get("audit")
    if audit is not None:
        items = []
        for item in audit:
            guid = str(item["guid"]).strip().upper()
            if not guid.startswith("{"):
                guid = "{" + guid + "}"
            if not GUID_RE.match(guid):
                raise BaselineError(f"audit subcategory {item.get('name')}: {item['guid']!r} is not a GUID")
            success, failure = bool(item.get("success")), bool(item.get("failure"))
            items.append({"guid": guid, "name": item["name"], "success": success, "failure": failure})
        wanted["audit"] = items
    time = params.get("time")
    if time is not None:
        wanted["time"] = {
            "type": time.get("type") or "NTP",
            "peers": [normalise_peer(p) for p in time.get("peers") or []],
            "flags": time.get("flags") or "0x8",
        }
        if wanted["time"]["type"] == "NTP" and not wanted["time"]["peers"]:
            raise BaselineError("time.type NTP needs at least one peer")
    wsus = params.get("wsus")
    if wsus is not None:
        top = {
            "WUServer": ("String", wsus["server"]),
            "WUStatusServer": ("String", wsus.get("status_server") or wsus["server"]),
        }
        if wsus.get("target_group"):
            top["TargetGroupEnabled"] = ("DWord", 1)
            top["TargetGroup"] = ("String", wsus["target_group"])
        au = {
            "UseWUServer": ("DWord", 1),
            "NoAutoUpdate": ("DWord", 0),
            "AUOptions": ("DWord", int(wsus.get("au_options", 4))),
            "ScheduledInstallDay": ("DWord", int(wsus.get("scheduled_install_day", 0))),
            "ScheduledInstallTime": ("DWord", int(wsus.get("scheduled_install_time", 3))),
        }
        wanted["wsus"] = {"WindowsUpdate": top, "AU": au}
    profiles = params.get("firewall_profiles")
    if profiles is not None:
        wanted["firewall"] = [p for p in FIREWALL_PROFILES if p in profiles]
    defender = params.get("defender")
    if defender is not None:
        prefs = {}
        for option, (name, kind) in DEFENDER_PREFERENCES.items():
            value = defender.get(option)
            if value is None:
                continue
            if kind == "inverted":
                prefs[name] = not bool(value)
            elif option == "pua_protection":
                prefs[name] = PUA_VALUES[value]
            elif option == "maps_reporting":
                prefs[name] = MAPS_VALUES[value]
            else:
                prefs[name] = int(value)
        wanted["defender"] = prefs
    admins = params.get("local_administrators")
    if admins is not None:
        wanted["administrators"] = [str(a).strip() for a in admins if str(a).strip()]
    return wanted


# --- difference -------------------------------------------------------------------------------------------


def _account_policy(current, want):
    have = {key: current.get("account_policy", {}).get(key) for key in want}
    return (dict(want) if have != want else None), have, dict(want)


def _audit(current, want):
    plan, before, after = [], {}, {}
    for item in want:
        setting = current.get("audit", {}).get(item["guid"])
        have = AUDIT_SETTINGS.get(setting, (False, False)) if setting is not None else None
        wanted = (item["success"], item["failure"])
        before[item["name"]] = AUDIT_WORDS[have] if have is not None else "(subcategory not found)"
        after[item["name"]] = AUDIT_WORDS[wanted]
        if have != wanted:
            plan.append(item)
    return plan, before, after


def _time(current, want):
    source = current.get("time") or {}
    have_peers = [normalise_peer(p) for p in str(source.get("ntp_server") or "").split() if p.strip()]
    before = {"type": source.get("type", ""), "peers": have_peers}
    if want["type"] == "NTP":
        after = {"type": "NTP", "peers": want["peers"]}
        differs = before["type"] != "NTP" or have_peers != want["peers"]
        plan = {"type": "NTP", "manualpeerlist": [f"{p},{want['flags']}" for p in want["peers"]]}
    else:
        after = {"type": "NT5DS", "peers": have_peers}
        differs = before["type"] != "NT5DS"
        plan = {"type": "NT5DS"}
    return (plan if differs else None), before, after


def _same(have, value):
    if isinstance(value, str):
        return isinstance(have, str) and have.strip().lower() == value.strip().lower()
    return have == value


def _wsus(current, want):
    plan, before, after = [], {}, {}
    values = current.get("wsus") or {}
    for section, path in (("WindowsUpdate", WSUS_KEY), ("AU", WSUS_AU_KEY)):
        have_section = values.get(section) or {}
        for name, (kind, value) in want[section].items():
            have = have_section.get(name)
            label = name if section == "WindowsUpdate" else f"AU\\{name}"
            before[label], after[label] = have, value
            if not _same(have, value):
                plan.append({"path": path, "name": name, "type": kind, "value": value})
    return plan, before, after


def _firewall(current, want):
    have = current.get("firewall") or {}
    before = {p: ("on" if have.get(p) else "off") for p in want}
    plan = [p for p in want if not have.get(p)]
    return plan, before, dict.fromkeys(want, "on")


def _defender(current, want):
    have = current.get("defender") or {}
    if not have.get("available"):
        why = have.get("error") or "Get-MpPreference returned nothing"
        raise BaselineError(f"Microsoft Defender is not available on the host ({' '.join(str(why).split())[:200]})")
    before = {name: have.get(name) for name in want}
    plan = {name: value for name, value in want.items() if have.get(name) != value}
    return plan, before, dict(want)


def _member_key(name, hostname):
    """A member name as Windows shows it (DOMAIN\\name), lower case; a bare name is a local account."""
    text = str(name).strip()
    if "\\" not in text:
        text = f"{hostname}\\{text}"
    return text.lower()


def _administrators(current, want):
    hostname = current.get("hostname", "")
    identity = current.get("identity") or {}
    own_route = {identity.get("sid")} | set(identity.get("groups") or [])
    own_route.discard(None)
    want_sids = {w.upper() for w in want if w.upper().startswith("S-1-")}
    want_names = {_member_key(w, hostname): w for w in want if not w.upper().startswith("S-1-")}
    kept, removed, matched = [], [], set()
    for member in current.get("administrators", []):
        sid, name = str(member.get("sid", "")), str(member.get("name") or member.get("sid", ""))
        key = _member_key(name, hostname)
        if sid.upper() in want_sids:
            matched.add(sid.upper())
            kept.append(name)
        elif key in want_names:
            matched.add(key)
            kept.append(name)
        elif BUILTIN_ADMINISTRATOR_RE.match(sid):
            kept.append(name)  # the built-in Administrator account (-500) is never removed
        else:
            if sid in own_route:
                raise BaselineError(
                    f"refusing to remove {name} ({sid}) from the local Administrators group: the WinRM account "
                    f"{identity.get('name', '?')} holds its administrator rights through it; list it in "
                    "local_administrators or connect as another administrator"
                )
            removed.append({"sid": sid, "name": name})
    added = [
        w for w in want if (w.upper() if w.upper().startswith("S-1-") else _member_key(w, hostname)) not in matched
    ]
    before = sorted((str(m.get("name") or m.get("sid")) for m in current.get("administrators", [])), key=str.lower)
    after = sorted(kept + added, key=str.lower)
    plan = {"add": added, "remove": removed} if added or removed else None
    return plan, before, after


AREAS = (
    ("account_policy", _account_policy),
    ("audit", _audit),
    ("time", _time),
    ("wsus", _wsus),
    ("firewall", _firewall),
    ("defender", _defender),
    ("administrators", _administrators),
)


def baseline_diff(current, wanted):
    """Compare the host's state with the wanted areas.

    Returns (changed, plan, diff): the plan holds only what differs, per area (None or empty for an
    area in line); diff is {"before": {area: ...}, "after": {area: ...}} for every managed area. Nothing
    secret is in either: the module manages no password.
    """
    plan, before, after = {}, {}, {}
    for area, compare in AREAS:
        if area not in wanted:
            continue
        step, before[area], after[area] = compare(current, wanted[area])
        plan[area] = step or None
    if wanted.get("audit") and int(current.get("audit_force_subcategory") or 0) != 1:
        plan["audit_force_subcategory"] = True
        before["audit_force_subcategory"], after["audit_force_subcategory"] = False, True
    plan = {area: step for area, step in plan.items() if step}
    return bool(plan), plan, {"before": before, "after": after}


def areas_left(current, wanted):
    """After an apply: the areas that still differ (for a one-line error)."""
    return sorted(baseline_diff(current, wanted)[1])

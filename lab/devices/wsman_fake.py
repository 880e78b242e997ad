#!/usr/bin/env python3
"""A protocol-level WS-Management fake of an X-ray operator workstation (lab and tests only).

THIS IS A FAKE, NOT WINDOWS. It speaks the SOAP shell lifecycle that pywinrm's Session.run_cmd and
Session.run_ps use over plain HTTP on a loopback address at /wsman, with HTTP Basic authentication:

    Create (transfer/Create, returns the ShellId selector)
    Command (shell/Command, returns a CommandId)
    Receive (shell/Receive, returns base64 stdout/stderr streams, CommandState Done and ExitCode)
    Signal (shell/Signal terminate, RelatesTo the request)
    Delete (transfer/Delete, RelatesTo the request)

It does not run PowerShell. It recognises a small fixed set of commands and answers them from a
JSON state file, which it also updates, so a module's idempotence and check mode can be tested:

* ``powershell -encodedcommand <UTF-16LE base64>`` whose script starts with ``# belediye-xray:read``:
  prints the baseline state as compact JSON (what the real script builds from the W32Time registry
  parameters, Get-LocalUser and the USBSTOR service's Start value);
* a script that starts with ``# belediye-xray:apply``: reads the plan embedded in the script's
  ``@'...'@`` here-string and applies it to the state (time peers, local accounts, USBSTOR Start);
* ``w32tm /query /source`` and ``hostname`` through run_cmd;
* the Windows baseline (plugins/modules/windows_baseline.py), whose scripts come on stdin: the command
  line is ``powershell.exe ... -EncodedCommand <bootstrap>`` whose bootstrap starts with
  ``# belediye-windows:stdin``; the fake then waits for the WS-Man Send of stdin (base64 of the UTF-8
  script), decodes it and answers ``# belediye-windows:read`` from the ``windows`` section of the state
  (the JSON the real read script prints, non-ASCII escaped as it does) and ``# belediye-windows:apply``
  by applying the plan of its ``@'...'@`` here-string to that section. It does not look at the
  statements below the plan: tests assert those on the recorded script;
* anything else: exit code 1 and "not recognised by the fake" on stderr.

Every decoded script is kept in ``fake.scripts`` so tests can assert what a module sent (for the
Windows baseline: the bootstrap, then the script that came on stdin). NTLM,
Kerberos, CredSSP, HTTPS and message encryption are not implemented; real Windows behaviour
(policies, password complexity, w32time itself) is not simulated. It never touches, and has no
notion of, X-ray generator, conveyor or detection settings.

State file (X-ray part; the Windows baseline's part is described at windows_read below):
    {"hostname": "XRAY-OP-01", "time": {"type": "NT5DS", "peers": ["time.windows.com"]},
     "accounts": {"Administrator": {"enabled": false}, "operator": {"enabled": true}},
     "usbstor_start": 3}

Command line:  wsman_fake.py --state state.json --host 127.0.3.21 --port 5985 --username u --password p
               (or --password-file f; --record DIR writes every decoded script to DIR/NNNN.ps1)
In-process:    fake = serve(state_path, username, password); fake.port; fake.shutdown()
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
PLAN_RE = re.compile(r"@'\r?\n(.*?)\r?\n'@", re.S)
STDIN = "waiting for stdin"  # execute()'s answer to a bootstrap: the script comes with WS-Man Send


# --- the fixed command set -------------------------------------------------------------------


def read_state(state):
    accounts = [{"name": name, "enabled": bool(info.get("enabled", True))} for name, info in state["accounts"].items()]
    return {
        "hostname": state.get("hostname", "XRAY-OP"),
        "time": {"type": state["time"].get("type", "NTP"), "peers": list(state["time"].get("peers", []))},
        "accounts": sorted(accounts, key=lambda item: item["name"].lower()),
        "usbstor_start": state.get("usbstor_start", 3),
    }


def apply_plan(state, plan):
    """Apply a plan (the module's apply script payload) to the state the way the real script would."""
    if plan.get("time"):
        state["time"] = {"type": "NTP", "peers": list(plan["time"]["peers"])}
    accounts = state["accounts"]
    for step in plan.get("accounts", []):
        name, action = step["name"], step["action"]
        if action == "create":
            if name in accounts:
                raise ValueError(f"New-LocalUser : User {name} already exists.")
            accounts[name] = {"enabled": bool(step.get("enabled", True)), "password_changes": 1}
        elif name not in accounts:
            raise ValueError(f"User {name} was not found.")
        elif action == "remove":
            del accounts[name]
        elif action in ("enable", "disable"):
            accounts[name]["enabled"] = action == "enable"
        elif action == "password":
            accounts[name]["password_changes"] = accounts[name].get("password_changes", 0) + 1
        else:
            raise ValueError(f"unknown account action {action}")
    if plan.get("usbstor_start") is not None:
        state["usbstor_start"] = int(plan["usbstor_start"])
    return state


ENCODED_SWITCHES = ("-encodedcommand", "-e", "-enc", "-ec")


def decode_command(command, arguments=""):
    """The PowerShell script of `powershell [switches] -encodedcommand <base64>`, or None for other commands."""
    words = f"{command} {arguments}".split()
    if len(words) < 3 or words[0].lower() not in ("powershell", "powershell.exe"):
        return None
    for index, word in enumerate(words[1:-1], start=1):
        if word.lower() in ENCODED_SWITCHES:
            return base64.b64decode(words[index + 1]).decode("utf-16-le")
    return None


# --- the Windows baseline (windows_baseline module) ------------------------------------------------
#
# The "windows" section of the state file is what the real read script would find on the host:
#   {"hostname": "WIN-MOL-01",
#    "identity": {"name": "WIN-MOL-01\\bimadmin", "sid": "S-1-5-21-1-2-3-1001", "groups": ["S-1-5-32-544"]},
#    "account_policy": {"MinimumPasswordLength": 7, ...},       # secedit [System Access]
#    "audit": {"{0CCE9215-69AE-11D9-BED3-505054503030}": 1, ...},  # auditpol numeric setting 0-3
#    "audit_force_subcategory": 0,                               # Lsa SCENoApplyLegacyAuditPolicy
#    "time": {"type": "NT5DS", "ntp_server": "time.windows.com,0x9"},
#    "wsus": {"WindowsUpdate": {}, "AU": {}},
#    "firewall": {"Domain": true, "Private": true, "Public": false},
#    "defender": {"available": true, "DisableRealtimeMonitoring": true, ...},
#    "administrators": [{"name": "WIN-MOL-01\\Administrator", "sid": "S-1-5-21-1-2-3-500", ...}],
#    "principals": {"BELEDIYE\\Domain Admins": "S-1-5-21-9-9-9-512", ...}}  # names Add-LocalGroupMember resolves

WINDOWS_READ_KEYS = (
    "hostname",
    "identity",
    "account_policy",
    "audit",
    "audit_force_subcategory",
    "time",
    "wsus",
    "firewall",
    "defender",
    "administrators",
)


def windows_read(state):
    """The JSON line the read script prints (json.dumps escapes non-ASCII as the script does)."""
    win = state["windows"]
    return json.dumps({key: win.get(key) for key in WINDOWS_READ_KEYS}, separators=(",", ":"))


def windows_apply(state, plan):
    """Apply a windows_baseline plan to the state as the real apply script would; ValueError = its error."""
    win = state["windows"]
    if plan.get("account_policy"):
        win.setdefault("account_policy", {}).update({k: int(v) for k, v in plan["account_policy"].items()})
    for item in plan.get("audit") or []:
        if item["guid"] not in win.get("audit", {}):
            raise ValueError(f"auditpol /set {item['name']} failed with exit code 87")
        win["audit"][item["guid"]] = (1 if item["success"] else 0) + (2 if item["failure"] else 0)
    if plan.get("audit_force_subcategory"):
        win["audit_force_subcategory"] = 1
    if plan.get("time"):
        if plan["time"]["type"] == "NTP":
            win["time"] = {"type": "NTP", "ntp_server": " ".join(plan["time"]["manualpeerlist"])}
        else:
            win["time"] = {"type": "NT5DS", "ntp_server": win.get("time", {}).get("ntp_server", "")}
    for item in plan.get("wsus") or []:
        section = "AU" if item["path"].upper().endswith("\\AU") else "WindowsUpdate"
        win.setdefault("wsus", {}).setdefault(section, {})[item["name"]] = item["value"]
    for profile in plan.get("firewall") or []:
        win.setdefault("firewall", {})[profile] = True
    if plan.get("defender"):
        if not win.get("defender", {}).get("available"):
            raise ValueError("The term 'Set-MpPreference' is not recognized as the name of a cmdlet")
        win["defender"].update(plan["defender"])
    admins = plan.get("administrators") or {}
    members = win.setdefault("administrators", [])
    principals = {name.lower(): (name, sid) for name, sid in win.get("principals", {}).items()}
    for name in admins.get("add", []):
        key = name if "\\" in name or name.upper().startswith("S-1-") else f"{win['hostname']}\\{name}"
        found = principals.get(key.lower())
        if found is None:
            raise ValueError(f"Principal {name} was not found.")
        if any(m["sid"] == found[1] for m in members):
            raise ValueError(f"{found[0]} is already a member of group Administrators.")
        members.append({"name": found[0], "sid": found[1], "class": "User", "source": "ActiveDirectory"})
    for gone in admins.get("remove", []):
        if not any(m["sid"] == gone["sid"] for m in members):
            raise ValueError(f"Member {gone['sid']} was not found in group Administrators.")
        members[:] = [m for m in members if m["sid"] != gone["sid"]]
    return state


class _Recorded(list):
    """fake.scripts: a list that also writes each script to <record_dir>/NNNN.ps1 when a folder is given."""

    def __init__(self, record_dir=None):
        super().__init__()
        self.record_dir = Path(record_dir) if record_dir else None
        if self.record_dir:
            self.record_dir.mkdir(parents=True, exist_ok=True)

    def append(self, script):
        super().append(script)
        if self.record_dir:
            (self.record_dir / f"{len(self):04d}.ps1").write_text(script, encoding="utf-8")


class Workstation:
    """The fake's command interpreter over the JSON state file."""

    def __init__(self, state_path, record_dir=None):
        self.state_path = Path(state_path)
        self.lock = threading.Lock()
        self.scripts = _Recorded(record_dir)
        self.commands = []

    def execute(self, command, arguments=""):
        """(stdout, stderr, exit code) for one command line."""
        with self.lock:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            script = decode_command(command, arguments)
            if script is None:
                self.commands.append(f"{command} {arguments}".strip())
                line = " ".join(f"{command} {arguments}".lower().split())
                if line == "w32tm /query /source":
                    peers = state["time"].get("peers") or ["Local CMOS Clock"]
                    return f"{peers[0]}\r\n", "", 0
                if line == "hostname":
                    return f"{state.get('hostname', 'XRAY-OP')}\r\n", "", 0
                return "", f"'{command}' is not recognised by the WS-Man fake\r\n", 1
            self.scripts.append(script)
            marker = script.lstrip().splitlines()[0].strip() if script.strip() else ""
            if marker == "# belediye-windows:stdin":
                return STDIN
            return self._run(state, script, marker)

    def execute_stdin(self, data):
        """Run the script that a bootstrap received on stdin (base64 of UTF-8, as windows_baseline sends it)."""
        with self.lock:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            try:
                script = base64.b64decode(b"".join(data).strip(), validate=True).decode("utf-8")
            except ValueError:
                return "", "stdin is not base64 of a UTF-8 script\r\n", 1
            self.scripts.append(script)
            marker = script.lstrip().splitlines()[0].strip() if script.strip() else ""
            return self._run(state, script, marker)

    def _run(self, state, script, marker):
        if marker in ("# belediye-windows:read", "# belediye-windows:apply") and "windows" not in state:
            return "", "this fake's state has no windows section\r\n", 1
        if marker == "# belediye-windows:read":
            return windows_read(state) + "\r\n", "", 0
        if marker == "# belediye-windows:apply":
            match = PLAN_RE.search(script)
            if not match:
                return "", "apply script without a plan\r\n", 1
            try:
                windows_apply(state, json.loads(match.group(1)))
            except ValueError as exc:
                return "", f"{exc}\r\n", 1
            self.state_path.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
            applied = sorted(k for k, v in json.loads(match.group(1)).items() if v)
            return json.dumps({"applied": applied}, separators=(",", ":")) + "\r\n", "", 0
        if marker == "# belediye-xray:read":
            return json.dumps(read_state(state), separators=(",", ":")) + "\r\n", "", 0
        if marker == "# belediye-xray:apply":
            match = PLAN_RE.search(script)
            if not match:
                return "", "apply script without a plan\r\n", 1
            try:
                apply_plan(state, json.loads(match.group(1)))
            except ValueError as exc:
                return "", f"{exc}\r\n", 1
            self.state_path.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
            return '{"applied":true}\r\n', "", 0
        return "", "script not recognised by the WS-Man fake\r\n", 1


# --- WS-Man SOAP ---------------------------------------------------------------------------------


def envelope(action, relates_to, body):
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}" xmlns:rsp="{NS["rsp"]}" '
        f'xmlns:x="{TRANSFER}"><s:Header><a:Action>{action}</a:Action>'
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault(relates_to, reason):
    body = (
        "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidSelectors</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(reason)}</s:Text></s:Reason></s:Fault>'
    )
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


class Handler(BaseHTTPRequestHandler):
    server_version = "Microsoft-HTTPAPI/2.0"

    def log_message(self, *args):  # quiet: tests read results, not access logs
        pass

    def _reply(self, status, payload=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):  # noqa: N802 - http.server's naming
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(length)
        if self.path.rstrip("/") != "/wsman":
            self._reply(404)
            return
        if self.headers.get("Authorization", "") != fake.expected_auth:
            fake.rejected += 1
            self._reply(401, headers=[("WWW-Authenticate", 'Basic realm="WSMAN"')])
            return
        status, payload = fake.handle(data)
        self._reply(status, payload)


class WsmanFake:
    def __init__(self, state_path, username, password, host="127.0.0.1", port=0, record_dir=None):
        if not host.startswith("127."):
            raise ValueError(f"the fake binds loopback addresses only, not {host}")
        self.workstation = Workstation(state_path, record_dir)
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.expected_auth = f"Basic {token}"
        self.shells = {}
        self.rejected = 0
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.fake = self
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"wsman-fake-{self.port}", daemon=True)

    @property
    def scripts(self):
        return self.workstation.scripts

    @property
    def commands(self):
        return self.workstation.commands

    def start(self):
        self._thread.start()
        return self

    def shutdown(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)

    def handle(self, data):
        root = ET.fromstring(data)  # noqa: S314 - loopback test fake, body from the test client
        action = root.findtext("s:Header/a:Action", "", NS)
        message_id = root.findtext("s:Header/a:MessageID", "", NS)
        shell_id = None
        for selector in root.iterfind("s:Header/w:SelectorSet/w:Selector", NS):
            if selector.get("Name") == "ShellId":
                shell_id = selector.text
        body = root.find("s:Body", NS)
        if action == f"{TRANSFER}/Create":
            shell_id = str(uuid.uuid4()).upper()
            self.shells[shell_id] = {}
            created = (
                f"<x:ResourceCreated><a:Address>http://{self.host}:{self.port}/wsman</a:Address>"
                f"<a:ReferenceParameters><w:ResourceURI>{SHELL_URI}/cmd</w:ResourceURI><w:SelectorSet>"
                f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId></rsp:Shell>"
            )
            return 200, envelope(f"{TRANSFER}/CreateResponse", message_id, created)
        if shell_id not in self.shells:
            return 500, fault(message_id, f"The shell {shell_id} was not found on the server (fake).")
        commands = self.shells[shell_id]
        if action == f"{SHELL_URI}/Command":
            command = body.findtext("rsp:CommandLine/rsp:Command", "", NS)
            arguments = " ".join(arg.text or "" for arg in body.iterfind("rsp:CommandLine/rsp:Arguments", NS))
            command_id = str(uuid.uuid4()).upper()
            result = self.workstation.execute(command, arguments)
            commands[command_id] = {"stdin": []} if result == STDIN else result
            reply = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
            return 200, envelope(f"{SHELL_URI}/CommandResponse", message_id, reply)
        if action == f"{SHELL_URI}/Send":
            stream = body.find("rsp:Send/rsp:Stream", NS)
            command_id = stream.get("CommandId") if stream is not None else None
            waiting = commands.get(command_id)
            if not isinstance(waiting, dict):
                return 500, fault(message_id, f"The command {command_id} does not read stdin (fake).")
            waiting["stdin"].append(base64.b64decode(stream.text or ""))
            if stream.get("End", "false").lower() == "true":
                commands[command_id] = self.workstation.execute_stdin(waiting["stdin"])
            return 200, envelope(f"{SHELL_URI}/SendResponse", message_id, "<rsp:SendResponse/>")
        if action == f"{SHELL_URI}/Receive":
            stream = body.find("rsp:Receive/rsp:DesiredStream", NS)
            command_id = stream.get("CommandId") if stream is not None else None
            if command_id not in commands:
                return 500, fault(message_id, f"The command {command_id} was not found (fake).")
            if isinstance(commands[command_id], dict):  # stdin never closed: PowerShell would still wait
                commands[command_id] = self.workstation.execute_stdin(commands[command_id]["stdin"])
            stdout, stderr, code = commands[command_id]
            parts = []
            for name, text in (("stdout", stdout), ("stderr", stderr)):
                if text:
                    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
                    parts.append(f'<rsp:Stream Name="{name}" CommandId="{command_id}">{encoded}</rsp:Stream>')
                parts.append(f'<rsp:Stream Name="{name}" CommandId="{command_id}" End="true"></rsp:Stream>')
            parts.append(
                f'<rsp:CommandState CommandId="{command_id}" State="{SHELL_URI}/CommandState/Done">'
                f"<rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>"
            )
            reply = f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>"
            return 200, envelope(f"{SHELL_URI}/ReceiveResponse", message_id, reply)
        if action == f"{SHELL_URI}/Signal":
            signal = body.find("rsp:Signal", NS)
            commands.pop(signal.get("CommandId") if signal is not None else None, None)
            return 200, envelope(f"{SHELL_URI}/SignalResponse", message_id, "<rsp:SignalResponse/>")
        if action == f"{TRANSFER}/Delete":
            del self.shells[shell_id]
            return 200, envelope(f"{TRANSFER}/DeleteResponse", message_id, "")
        return 500, fault(message_id, f"Action {action} is not implemented by the fake.")


def serve(state_path, username, password, host="127.0.0.1", port=0, record_dir=None):
    """Start the fake in a background thread and return it (``.port``, ``.scripts``, ``.shutdown()``)."""
    return WsmanFake(state_path, username, password, host, port, record_dir).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5985)
    parser.add_argument("--username", required=True)
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password")
    secret.add_argument("--password-file", help="read the password from this file (kept out of the process list)")
    parser.add_argument("--record", help="write every decoded script to this folder as NNNN.ps1")
    args = parser.parse_args()
    password = args.password
    if args.password_file:
        password = Path(args.password_file).read_text(encoding="utf-8").strip()
    fake = WsmanFake(args.state, args.username, password, args.host, args.port, args.record)
    print(f"WS-Man fake (not Windows) on http://{fake.host}:{fake.port}/wsman", flush=True)
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.httpd.server_close()


if __name__ == "__main__":
    main()

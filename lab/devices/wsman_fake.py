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
* anything else: exit code 1 and "not recognised by the fake" on stderr.

Every decoded script is kept in ``fake.scripts`` so tests can assert what a module sent. NTLM,
Kerberos, CredSSP, HTTPS and message encryption are not implemented; real Windows behaviour
(policies, password complexity, w32time itself) is not simulated. It never touches, and has no
notion of, X-ray generator, conveyor or detection settings.

State file:
    {"hostname": "XRAY-OP-01", "time": {"type": "NT5DS", "peers": ["time.windows.com"]},
     "accounts": {"Administrator": {"enabled": false}, "operator": {"enabled": true}},
     "usbstor_start": 3}

Command line:  wsman_fake.py --state state.json --host 127.0.3.21 --port 5985 --username u --password p
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


def decode_command(command, arguments=""):
    """The PowerShell script inside `powershell -encodedcommand ...`, or None for other commands."""
    words = f"{command} {arguments}".split()
    if (
        len(words) == 3
        and words[0].lower() in ("powershell", "powershell.exe")
        and words[1].lower()
        in (
            "-encodedcommand",
            "-e",
            "-enc",
        )
    ):
        return base64.b64decode(words[2]).decode("utf-16-le")
    return None


class Workstation:
    """The fake's command interpreter over the JSON state file."""

    def __init__(self, state_path):
        self.state_path = Path(state_path)
        self.lock = threading.Lock()
        self.scripts = []
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
    def __init__(self, state_path, username, password, host="127.0.0.1", port=0):
        if not host.startswith("127."):
            raise ValueError(f"the fake binds loopback addresses only, not {host}")
        self.workstation = Workstation(state_path)
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
            commands[command_id] = self.workstation.execute(command, arguments)
            reply = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
            return 200, envelope(f"{SHELL_URI}/CommandResponse", message_id, reply)
        if action == f"{SHELL_URI}/Receive":
            stream = body.find("rsp:Receive/rsp:DesiredStream", NS)
            command_id = stream.get("CommandId") if stream is not None else None
            if command_id not in commands:
                return 500, fault(message_id, f"The command {command_id} was not found (fake).")
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


def serve(state_path, username, password, host="127.0.0.1", port=0):
    """Start the fake in a background thread and return it (``.port``, ``.scripts``, ``.shutdown()``)."""
    return WsmanFake(state_path, username, password, host, port).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5985)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    fake = WsmanFake(args.state, args.username, args.password, args.host, args.port)
    print(f"WS-Man fake (not Windows) on http://{fake.host}:{fake.port}/wsman", flush=True)
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.httpd.server_close()


if __name__ == "__main__":
    main()

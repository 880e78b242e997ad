#!/usr/bin/env python3
"""A fake Cisco IOS XE switch: an SSH server on loopback whose shell answers like the IOS CLI.

It exists so that Ansible's ``ansible.netcommon.network_cli`` connection and the ``cisco.ios`` modules
(facts, command, config and the resource modules) can be run, in check mode and for real, without a
switch. What it covers and what it does not is written down in docs/network-ios-simulator.md.

* SSH (paramiko's server side): password and public-key logins, a host key generated at start (or
  read from a file), a PTY shell. It binds only to 127.0.0.0/8.
* CLI modes and prompts: ``sw>`` (user EXEC), ``enable`` with a password to ``sw#``,
  ``configure terminal`` to ``sw(config)#``, and the ``config-if``, ``config-vlan`` and
  ``config-line`` sub-modes; ``exit``, ``end``, Ctrl-Z and ``do``.
* The device state is a running-config, parsed from a text file at start. Configuration commands
  change it (interfaces, VLANs, banners, lines and single-line global commands), so a second
  session sees what the first one configured; ``write memory`` keeps a startup-config (and writes it
  to ``--save`` when given). ``show vlan`` is derived from the same state.
* A command it does not know is answered with ``% Invalid input detected at '^' marker.``, as IOS does.

From the command line (passwords from the environment, never on the command line)::

    FAKE_IOS_PASSWORD=... FAKE_IOS_ENABLE=... python lab/network/fake_ios.py \\
        --listen 127.0.4.11 --port 2201 --config tests/network/fixtures/access-switch.cfg --user admin

or in-process (tests): ``server = serve("127.0.4.11", 0, config_text, users={...}, enable_password=...)``;
``server.port``, ``server.device`` (the state), ``server.shutdown()``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hmac
import ipaddress
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
AMBIGUOUS = '% Ambiguous command:  "{}"'
CRLF = "\r\n"

# Interface types, in the spelling IOS XE writes them in the running-config. A name given in a
# command is expanded from any unambiguous prefix of the type ("gi1/0/1", "Vl10", "po1").
INTERFACE_TYPES = [
    "GigabitEthernet",
    "TenGigabitEthernet",
    "TwentyFiveGigE",
    "FortyGigabitEthernet",
    "AppGigabitEthernet",
    "Vlan",
    "Loopback",
    "Port-channel",
]
# Interfaces that "interface X" creates when they do not exist yet; the others are hardware.
VIRTUAL_TYPES = {"Vlan", "Loopback", "Port-channel"}
SHORT_TYPES = {
    "GigabitEthernet": "Gi",
    "TenGigabitEthernet": "Te",
    "TwentyFiveGigE": "Twe",
    "FortyGigabitEthernet": "Fo",
    "AppGigabitEthernet": "Ap",
    "Port-channel": "Po",
}

# The routed management port of a Catalyst 9000 (in Mgmt-vrf, never a switch port).
MGMT_PORT = "GigabitEthernet0/0"
# Interface sub-commands that hold one value: setting one replaces the line with the same key.
# A line matching no key is its own key (added once, removed by "no <line>").
INTERFACE_KEYS = [
    "description",
    "switchport mode",
    "switchport access vlan",
    "switchport voice vlan",
    "switchport trunk native vlan",
    "switchport trunk allowed vlan",
    "switchport trunk encapsulation",
    "switchport nonegotiate",
    "switchport port-security maximum",
    "switchport port-security violation",
    "switchport port-security",
    "shutdown",
    "speed",
    "duplex",
    "mtu",
    "ip address",
    "bandwidth",
    "load-interval",
    "channel-group",
    "vrf forwarding",
    "spanning-tree portfast",
    "spanning-tree bpduguard",
    "spanning-tree bpdufilter",
    "spanning-tree guard",
    "spanning-tree link-type",
    "power inline",
    "negotiation",
    "mac-address",
    "storm-control broadcast level",
    "storm-control multicast level",
    "storm-control action",
    "encapsulation dot1Q",
    "logging event link-status",
]
# Where a sub-command sits inside its interface, as IOS XE orders them (smaller first).
INTERFACE_ORDER = [
    ("description", 0),
    ("vrf forwarding", 5),
    ("no switchport", 8),
    ("switchport access vlan", 10),
    ("switchport trunk native vlan", 12),
    ("switchport trunk allowed vlan", 13),
    ("switchport mode", 15),
    ("switchport nonegotiate", 16),
    ("switchport voice vlan", 17),
    ("switchport port-security", 18),
    ("ip address", 20),
    ("ip", 25),
    ("ipv6", 26),
    ("shutdown", 40),
    ("speed", 44),
    ("duplex", 45),
    ("mtu", 46),
    ("negotiation", 47),
    ("channel-group", 50),
    ("spanning-tree", 60),
]
# Values IOS does not show in the running-config: setting one removes the line.
INTERFACE_DEFAULTS = {
    "switchport access vlan 1",
    "switchport trunk native vlan 1",
    "switchport trunk allowed vlan all",
    "switchport trunk allowed vlan 1-4094",
    "switchport port-security maximum 1",
    "switchport port-security violation shutdown",
    "mtu 1500",
    "speed auto",
    "duplex auto",
}
INTERFACE_WORDS = {
    "description", "shutdown", "switchport", "speed", "duplex", "mtu", "ip", "ipv6", "spanning-tree",
    "channel-group", "power", "cdp", "lldp", "logging", "load-interval", "storm-control", "negotiation",
    "mac-address", "service-policy", "snmp", "authentication", "dot1x", "mab", "udld", "keepalive",
    "carrier-delay", "bandwidth", "vrf", "standby", "encapsulation", "no", "default",
}  # fmt: skip
VLAN_WORDS = {"name", "shutdown", "state", "mtu", "remote-span", "no"}
LINE_WORDS = {
    "password", "login", "transport", "exec-timeout", "logging", "access-class", "session-timeout",
    "privilege", "length", "width", "stopbits", "no", "ipv6",
}  # fmt: skip
LINE_KEYS = [
    "exec-timeout", "transport input", "transport output", "login", "password", "session-timeout",
    "privilege level", "logging synchronous", "access-class", "length",
]  # fmt: skip
# Global commands with one value, replaced when set again.
GLOBAL_KEYS = [
    "hostname",
    "ip domain name",
    "ip default-gateway",
    "ip ssh version",
    "ip ssh time-out",
    "ip ssh source-interface",
    "clock timezone",
    "spanning-tree mode",
    "vtp mode",
    "vtp domain",
    "service timestamps debug",
    "service timestamps log",
    "logging buffered",
    "logging source-interface",
    "logging trap",
    "ntp source",
    "snmp-server location",
    "snmp-server contact",
    "errdisable recovery interval",
    "enable secret",
    "boot system",
]
# Global features that are on by default: "no X" shows as a line of its own.
DEFAULT_ON = {"ip http server", "ip http secure-server", "ip domain lookup", "ip source-route"}
# First words of the global commands the fake accepts (anything else is invalid input).
GLOBAL_WORDS = {
    "hostname", "interface", "vlan", "line", "banner", "no", "ip", "ipv6", "ntp", "logging", "snmp-server",
    "username", "enable", "service", "spanning-tree", "vtp", "clock", "aaa", "errdisable", "lldp", "cdp",
    "udld", "archive", "boot", "version", "vrf", "router", "access-list", "class-map", "policy-map",
    "crypto", "license", "system", "power", "redundancy", "transceiver", "control-plane", "port-channel",
    "mac", "monitor", "login", "diagnostic", "memory", "call-home", "device-tracking", "file",
}  # fmt: skip
# Global commands that open a section with sub-commands of their own, and their prompt's mode name.
GENERIC_SECTIONS = [
    ("ip access-list standard", "config-std-nacl"),
    ("ip access-list extended", "config-ext-nacl"),
    ("router", "config-router"),
    ("vrf definition", "config-vrf"),
    ("class-map", "config-cmap"),
    ("policy-map", "config-pmap"),
    ("archive", "config-archive"),
    ("control-plane", "config-cp"),
    ("redundancy", "config-red"),
    ("ip dhcp pool", "dhcp-config"),
]
RESERVED_VLANS = {
    1002: "fddi-default",
    1003: "token-ring-default",
    1004: "fddinet-default",
    1005: "trnet-default",
}


class CliError(Exception):
    """A command the CLI rejects; ``column`` is where the caret goes (None: no caret line)."""

    def __init__(self, message, column=None):
        super().__init__(message)
        self.message = message
        self.column = column


def invalid_at(line, word_index):
    """Invalid input with the caret under word number ``word_index`` of ``line``."""
    column = 0
    for index, match in enumerate(re.finditer(r"\S+", line)):
        column = match.start()
        if index == word_index:
            return CliError(INVALID, column)
    return CliError(INVALID, len(line.rstrip()) + 1)


# ---------------------------------------------------------------------------------------------
# The running-config
# ---------------------------------------------------------------------------------------------


@dataclass
class Block:
    """One top-level line of the running-config, its sub-command lines, and a banner's text."""

    line: str
    children: list[str] = field(default_factory=list)
    text: str | None = None

    def render(self):
        if self.text is not None:
            return [f"{self.line} ^C{self.text}^C"]
        return [self.line, *(" " + child for child in self.children)]


def parse_config(text):
    """Blocks of a running-config text (IOS's own output or a hand-written file)."""
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip()
        index += 1
        if not raw.strip() or raw.strip() == "!" or raw == "end":
            continue
        if raw.startswith(("Building configuration", "Current configuration")):
            continue
        banner = re.match(r"^(banner \S+) \^C(.*)$", raw)
        if banner:
            chunk = [banner.group(2)]
            while "^C" not in chunk[-1] and index < len(lines):
                chunk.append(lines[index].rstrip())
                index += 1
            blocks.append(Block(banner.group(1), text="\n".join(chunk).split("^C")[0]))
            continue
        if raw.startswith(" ") and blocks:
            child = raw[1:]
            if child.strip() != "!":
                blocks[-1].children.append(child)
            continue
        blocks.append(Block(raw.strip()))
    return blocks


def vlan_ids(text):
    """The set of VLAN ids in an IOS list such as ``10,20,30-32``; ValueError if it is not one."""
    ids = set()
    for part in text.split(","):
        if not re.fullmatch(r"\d+(-\d+)?", part):
            raise ValueError(part)
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 1 <= first <= last <= 4094:
            raise ValueError(part)
        ids.update(range(first, last + 1))
    return ids


def vlan_list(ids):
    """The IOS spelling of a set of VLAN ids: ascending, ranges of three or more joined with '-'."""
    out, run = [], []
    for vid in sorted(ids):
        if run and vid == run[-1] + 1:
            run.append(vid)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
        run = [vid]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
    return ",".join(out)


def key_of(line, keys):
    """The longest key that ``line`` sets (``line`` itself when it sets none)."""
    best = None
    for key in keys:
        if (line == key or line.startswith(key + " ")) and (best is None or len(key) > len(best)):
            best = key
    return best or line


def rank_of(line):
    best, rank = "", 30
    for prefix, value in INTERFACE_ORDER:
        if (line == prefix or line.startswith(prefix + " ")) and len(prefix) > len(best):
            best, rank = prefix, value
    return rank


def expand_interface(name):
    """``gi1/0/1`` -> ``GigabitEthernet1/0/1``; CliError when the type is unknown or ambiguous."""
    match = re.fullmatch(r"([A-Za-z-]+)\s*(\d[\d/.:]*)", name)
    if not match:
        raise CliError(INVALID)
    prefix, number = match.group(1).lower(), match.group(2)
    exact = [t for t in INTERFACE_TYPES if t.lower() == prefix]
    found = exact or [t for t in INTERFACE_TYPES if t.lower().startswith(prefix)]
    if len(found) != 1:
        raise CliError(INVALID)
    return found[0] + number


def interface_type(name):
    return re.match(r"[A-Za-z-]+", name).group(0)


def short_interface(name):
    kind = interface_type(name)
    return SHORT_TYPES.get(kind, kind) + name[len(kind) :]


class Device:
    """The switch: its running-config as blocks, its startup-config, and what it was sent."""

    def __init__(
        self,
        config_text,
        model="C9300-24T",
        version="17.09.04a",
        serial="FOC2418X0AB",
        mac="70:1f:53:aa:bb:00",
        save_path=None,
    ):
        self.blocks = parse_config(config_text)
        self.model = model
        self.version = version
        self.serial = serial
        self.mac = mac
        self.save_path = Path(save_path) if save_path else None
        self.started = time.monotonic()
        self.lock = threading.RLock()
        self.startup = self.running_config()
        # Every line a session sent, as (session number, prompt, line): tests read it.
        self.history: list[tuple[int, str, str]] = []
        self.saves = 0
        # SNMPv3 users: IOS keeps them out of the running-config and shows them (without their keys)
        # in "show snmp user". {name: (group, authentication, privacy)}.
        self.snmp_users: dict[str, tuple[str, str, str]] = {}

    # --- reading ---------------------------------------------------------------------------

    @property
    def hostname(self):
        block = self.find("hostname")
        return block.line.split(None, 1)[1] if block else "Switch"

    def find(self, key, keys=GLOBAL_KEYS):
        for block in self.blocks:
            if key_of(block.line, keys) == key:
                return block
        return None

    def block(self, line):
        for block in self.blocks:
            if block.line == line:
                return block
        return None

    def interfaces(self):
        return [b for b in self.blocks if b.line.startswith("interface ")]

    def vlans(self):
        """{id: (name, status, shutdown)} of the configured VLANs, VLAN 1 and the reserved ones."""
        result = {1: ("default", "active", False)}
        for block in self.blocks:
            match = re.fullmatch(r"vlan (\d+)", block.line)
            if not match:
                continue
            vid = int(match.group(1))
            name, status, shut = f"VLAN{vid:04d}", "active", False
            for child in block.children:
                if child.startswith("name "):
                    name = child[5:]
                elif child == "state suspend":
                    status = "suspended"
                elif child == "shutdown":
                    shut = True
            result[vid] = (name, status, shut)
        for vid, name in RESERVED_VLANS.items():
            result[vid] = (name, "act/unsup", False)
        return dict(sorted(result.items()))

    def access_ports(self):
        """{vlan id: [short interface names]} of the switch ports that are not trunks."""
        ports: dict[int, list[str]] = {}
        for block in self.interfaces():
            name = block.line.split(None, 1)[1]
            if interface_type(name) in VIRTUAL_TYPES or "no switchport" in block.children or name == MGMT_PORT:
                continue
            if "switchport mode trunk" in block.children:
                continue
            vid = 1
            for child in block.children:
                if child.startswith("switchport access vlan "):
                    vid = int(child.rsplit(None, 1)[1])
            ports.setdefault(vid, []).append(short_interface(name))
        return ports

    def running_config(self):
        lines = []
        for block in self.blocks:
            lines.extend(block.render())
            if block.children or block.text is not None:
                lines.append("!")
        if not lines or lines[-1] != "!":
            lines.append("!")
        body = "\n".join(["!", *lines, "end"])
        return f"Building configuration...\n\nCurrent configuration : {len(body) + 1} bytes\n{body}"

    # --- changing --------------------------------------------------------------------------

    def add_block(self, line, children=None):
        """Insert a top-level block after the last one of its kind (VLANs in number order)."""
        block = Block(line, list(children or []))
        kind = line.split()[0]
        position = None
        for index, other in enumerate(self.blocks):
            if other.line.split()[0] != kind:
                continue
            both_vlans = kind == "vlan" and re.fullmatch(r"vlan \d+", other.line) and re.fullmatch(r"vlan \d+", line)
            if both_vlans and int(other.line.split()[1]) > int(line.split()[1]):
                position = index
                break
            position = index + 1
        if position is None:
            tail = [i for i, b in enumerate(self.blocks) if b.line.split()[0] in ("banner", "line")]
            position = tail[0] if tail else len(self.blocks)
        self.blocks.insert(position, block)
        return block

    def set_global(self, line):
        key = key_of(line, GLOBAL_KEYS)
        existing = [b for b in self.blocks if key_of(b.line, GLOBAL_KEYS) == key and not b.children]
        if existing:
            existing[0].line = line
            for extra in existing[1:]:
                self.blocks.remove(extra)
        else:
            negated = self.block("no " + line)
            if negated is not None:
                self.blocks.remove(negated)
            self.add_block(line)

    def remove_global(self, line):
        key = key_of(line, GLOBAL_KEYS)
        gone = [
            b
            for b in self.blocks
            if (key != line and key_of(b.line, GLOBAL_KEYS) == key) or b.line == line or b.line.startswith(line + " ")
        ]
        for block in gone:
            self.blocks.remove(block)
        if line in DEFAULT_ON and not self.block("no " + line):
            self.add_block("no " + line)

    def ensure_vlan(self, vid):
        block = self.block(f"vlan {vid}")
        if block is None and vid != 1:
            block = self.add_block(f"vlan {vid}")
        return block

    def save(self):
        self.startup = self.running_config()
        self.saves += 1
        if self.save_path:
            self.save_path.write_text(self.startup + "\n", encoding="utf-8")


def set_interface_line(block, line):
    """Apply one interface sub-command that sets something (``no`` forms go to clear_interface_line)."""
    if line == "switchport":
        block.children = [c for c in block.children if c != "no switchport"]
        return
    key = key_of(line, INTERFACE_KEYS)
    block.children = [c for c in block.children if key_of(c, INTERFACE_KEYS) != key]
    if line in INTERFACE_DEFAULTS:
        return
    rank = rank_of(line)
    position = len(block.children)
    for index, child in enumerate(block.children):
        if rank_of(child) > rank:
            position = index
            break
    block.children.insert(position, line)


def clear_interface_line(block, line):
    if line == "switchport":
        block.children = [c for c in block.children if not c.startswith("switchport")]
        set_interface_line(block, "no switchport")
        return
    key = key_of(line, INTERFACE_KEYS)
    if key != line or key in INTERFACE_KEYS:
        block.children = [c for c in block.children if key_of(c, INTERFACE_KEYS) != key]
    else:
        block.children = [c for c in block.children if c != line and not c.startswith(line + " ")]


# ---------------------------------------------------------------------------------------------
# One CLI session
# ---------------------------------------------------------------------------------------------

MODE_SUFFIX = {
    "user": ">",
    "exec": "#",
    "config": "(config)#",
    "config-if": "(config-if)#",
    "config-vlan": "(config-vlan)#",
    "config-line": "(config-line)#",
}


class Session:
    """The shell of one SSH channel: a line editor that echoes, modes, and the command set."""

    counter = 0

    def __init__(self, device, enable_password, privilege=1):
        Session.counter += 1
        self.number = Session.counter
        self.device = device
        self.enable_password = enable_password
        self.mode = "exec" if privilege >= 15 else "user"
        self.context = None  # the interface/line Block, or the VLAN ids, of a sub-mode
        self.generic_mode = ""
        self.terminal_length = 24
        self.terminal_width = 80
        self.closed = False
        self.buffer = ""
        self.last_eol = ""
        self.password_tries = 0  # >0 while the shell waits for the enable password
        self.banner = None  # [kind, delimiter, text, done] while a banner's text is being typed
        self.copy_pending = False

    # --- the line editor -------------------------------------------------------------------

    def prompt(self):
        if self.password_tries:
            return "Password: "
        suffix = MODE_SUFFIX.get(self.mode) or f"({self.generic_mode})#"
        return self.device.hostname + suffix

    def greeting(self):
        banner = self.device.find("banner motd", ["banner motd"])
        text = ""
        if banner is not None and banner.text is not None:
            text = banner.text.replace("\n", CRLF) + CRLF
        return CRLF + text + CRLF + self.prompt()

    def feed(self, data):
        """Characters typed by the client; returns what the terminal shows back."""
        out = []
        for char in data:
            if char in "\r\n":
                if self.last_eol and self.last_eol != char:
                    self.last_eol = ""  # the second half of \r\n or \n\r
                    continue
                self.last_eol = char
                out.append(self.end_of_line())
                if self.closed:
                    break
                continue
            self.last_eol = ""
            if self.banner is not None:
                out.append(self.banner_char(char))
            elif char in "\x08\x7f":
                if self.buffer:
                    self.buffer = self.buffer[:-1]
                    out.append("\x08 \x08")
            elif char == "\x1a":  # Ctrl-Z: back to privileged EXEC
                if self.mode not in ("user", "exec"):
                    self.mode, self.context = "exec", None
                self.buffer = ""
                out.append("^Z" + CRLF + self.prompt())
            elif char == "\x03":  # Ctrl-C drops the line
                self.buffer = ""
                out.append("^C" + CRLF + self.prompt())
            elif char == "\t" or char.isprintable():
                self.buffer += char
                if not self.password_tries:
                    out.append(char)
        return "".join(out)

    def end_of_line(self):
        if self.banner is not None:
            if self.banner[3]:
                self.banner = None
                return CRLF + self.prompt()
            self.banner[2] += "\n"
            return CRLF
        line, self.buffer = self.buffer, ""
        if self.password_tries:
            return CRLF + self.check_enable(line)
        if self.copy_pending:
            self.copy_pending = False
            self.device.save()
            return CRLF + "Building configuration..." + CRLF + "[OK]" + CRLF + self.prompt()
        with self.device.lock:
            self.device.history.append((self.number, self.prompt(), line))
            try:
                output = self.execute(line.strip())
            except CliError as error:
                output = ""
                if error.column is not None:
                    output = " " * (len(self.prompt()) + error.column) + "^" + CRLF
                output += error.message + CRLF
        if self.closed:
            return CRLF + output
        if self.banner is not None or self.copy_pending:
            return CRLF + output
        if output and not output.endswith(CRLF):
            output += CRLF
        return CRLF + output + self.prompt()

    def banner_char(self, char):
        kind, delimiter, text, done = self.banner
        if done:
            return char
        if char == delimiter:
            self.finish_banner(kind, text)
            self.banner[3] = True
            return char
        self.banner[2] = text + char
        return char

    def finish_banner(self, kind, text):
        block = self.device.block(f"banner {kind}")
        if block is None:
            block = self.device.add_block(f"banner {kind}")
        block.text = text

    def check_enable(self, answer):
        if self.enable_password and hmac.compare_digest(answer.encode(), self.enable_password.encode()):
            self.password_tries = 0
            self.mode = "exec"
            return self.prompt()
        if self.password_tries < 3:
            self.password_tries += 1
            return self.prompt()
        self.password_tries = 0
        return "% Bad secrets" + CRLF + CRLF + self.prompt()

    # --- commands --------------------------------------------------------------------------

    def execute(self, line):
        if not line or line.startswith("!"):
            return ""
        if self.mode in ("user", "exec"):
            return self.exec_command(line)
        return self.config_command(line)

    def exec_command(self, line):
        words = line.split()
        choices = ["enable", "disable", "exit", "logout", "quit", "show", "terminal"]
        if self.mode == "exec":
            choices += ["configure", "write", "copy"]
        command = pick(words, 0, choices, line)
        if command == "enable":
            if self.mode == "exec":
                return ""
            if not self.enable_password:
                return "% No password set"
            self.password_tries = 1
            return ""
        if command == "disable":
            self.mode = "user"
            return ""
        if command in ("exit", "logout", "quit"):
            self.closed = True
            return ""
        if command == "terminal":
            setting = pick(words, 1, ["length", "width", "monitor", "no"], line)
            if setting in ("length", "width"):
                value = words[2] if len(words) > 2 else ""
                limit = 512
                if not value.isdigit() or int(value) > limit:
                    raise invalid_at(line, 2)
                setattr(self, f"terminal_{setting}", int(value))
            return ""
        if command == "configure":
            if len(words) > 1:
                pick(words, 1, ["terminal"], line)
            self.mode = "config"
            return "Enter configuration commands, one per line.  End with CNTL/Z."
        if command == "write":
            if len(words) > 1:
                pick(words, 1, ["memory"], line)
            self.device.save()
            return "Building configuration..." + CRLF + "[OK]"
        if command == "copy":
            if len(words) != 3:
                raise invalid_at(line, min(len(words), 3))
            pick(words, 1, ["running-config"], line)
            pick(words, 2, ["startup-config"], line)
            self.copy_pending = True
            return "Destination filename [startup-config]? "
        return self.show(line)

    def show(self, line):
        command, _, pipe = line.partition("|")
        words = command.split()
        choices = ["version", "privilege", "clock"]
        if self.mode == "exec":
            choices += ["running-config", "startup-config", "vlan", "inventory", "interfaces", "logging", "snmp"]
        what = pick(words, 1, choices, line)
        if what == "version":
            text = self.show_version()
        elif what == "privilege":
            text = "Current privilege level is " + ("15" if self.mode != "user" else "1")
        elif what == "clock":
            text = time.strftime("*%H:%M:%S.000 UTC %a %b %d %Y", time.gmtime())
        elif what == "running-config":
            if len(words) > 2:
                pick(words, 2, ["all"], line)
            text = self.device.running_config()
            if pipe:
                text = text.split("\n", 3)[3]  # the header goes to the terminal, not through the filter
        elif what == "startup-config":
            text = self.device.startup
        elif what == "vlan":
            if len(words) > 2:
                pick(words, 2, ["brief"], line)
            text = self.show_vlan(brief=len(words) > 2)
        elif what == "inventory":
            text = (
                f'NAME: "c93xx Stack", DESCR: "c93xx Stack"\nPID: {self.device.model}  , VID: V02  , '
                f"SN: {self.device.serial}\n"
            )
        elif what == "logging":
            text = self.show_logging()
        elif what == "snmp":
            pick(words, 2, ["user"], line)
            text = self.show_snmp_user()  # SNMPv3 users live outside the running-config
        else:
            sub = pick(words, 2, ["status"], line)
            text = self.show_interfaces_status() if sub else ""
        if pipe:
            text = apply_filter(text, pipe.strip(), line)
        return text.replace("\n", CRLF)

    def show_version(self):
        device = self.device
        uptime = int(time.monotonic() - device.started) // 60
        return "\n".join(
            [
                f"Cisco IOS XE Software, Version {device.version}",
                f"Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version {device.version},"
                " RELEASE SOFTWARE (fc5)",
                "Technical Support: http://www.cisco.com/techsupport",
                "Copyright (c) 1986-2024 by Cisco Systems, Inc.",
                "",
                "ROM: IOS-XE ROMMON",
                f"BOOTLDR: System Bootstrap, Version {device.version[:5]}, RELEASE SOFTWARE (P)",
                "",
                f"{device.hostname} uptime is {uptime} minutes",
                "Uptime for this control processor is 1 minute",
                "System returned to ROM by Reload Command",
                'System image file is "flash:packages.conf"',
                "Last reload reason: Reload Command",
                "",
                "Router operating mode: Autonomous",
                "",
                f"cisco {device.model} (X86) processor with 1338934K/6147K bytes of memory.",
                f"Processor board ID {device.serial}",
                "1 Virtual Ethernet interface",
                f"{sum(1 for b in device.interfaces() if interface_type(b.line[10:]) not in VIRTUAL_TYPES)}"
                " Gigabit Ethernet interfaces",
                "2048K bytes of non-volatile configuration memory.",
                "8388608K bytes of physical memory.",
                "",
                f"Base Ethernet MAC Address          : {device.mac}",
                f"Model Number                       : {device.model}",
                f"System Serial Number               : {device.serial}",
                "",
                "Configuration register is 0x102",
            ]
        )

    def show_logging(self):
        trap = self.device.find("logging trap")
        level = trap.line.split()[-1] if trap else "informational"
        hosts = [b.line.split()[-1] for b in self.device.blocks if re.fullmatch(r"logging host \S+", b.line)]
        lines = [
            "Syslog logging: enabled (0 messages dropped, 0 flushes, 0 overruns)",
            "    Console logging: level debugging, 12 messages logged",
            "    Buffer logging:  level debugging, 12 messages logged",
            f"    Trap logging: level {level}, 14 message lines logged",
        ]
        lines += [f"        Logging to {host}  (udp port 514, audit disabled, link up)" for host in hosts]
        return "\n".join(lines)

    def show_vlan(self, brief=False):
        vlans = self.device.vlans()
        ports = self.device.access_ports()
        lines = [
            "",
            "VLAN Name                             Status    Ports",
            "---- -------------------------------- --------- -------------------------------",
        ]
        for vid, (name, status, shut) in vlans.items():
            state = {"active": "act", "suspended": "sus"}.get(status, status) + "/lshut" if shut else status
            members = ports.get(vid, [])
            # Four ports a line on an 80-column terminal; a wide one (network_cli sets 512, then 0)
            # gets long lines, which IOS still breaks after 48 ports.
            per_line = 4 if 0 < self.terminal_width < 132 else 48
            chunks = [", ".join(members[i : i + per_line]) for i in range(0, len(members), per_line)] or [""]
            for index, chunk in enumerate(chunks):
                if index == 0:
                    lines.append(f"{vid:<4} {name[:32]:<32} {state:<9} {chunk}".rstrip())
                else:
                    lines.append(" " * 48 + chunk)
        if brief:
            return "\n".join(lines)
        lines += [
            "",
            "VLAN Type  SAID       MTU   Parent RingNo BridgeNo Stp  BrdgMode Trans1 Trans2",
            "---- ----- ---------- ----- ------ ------ -------- ---- -------- ------ ------",
        ]
        for vid in vlans:
            kind = {1002: "fddi", 1003: "tr", 1004: "fdnet", 1005: "trnet"}.get(vid, "enet")
            lines.append(f"{vid:<4} {kind:<5} {100000 + vid:<10} 1500  -      -      -        -    -        0      0")
        lines += [
            "",
            "Remote SPAN VLANs",
            "------------------------------------------------------------------------------",
            "",
            "",
            "Primary Secondary Type              Ports",
            "------- --------- ----------------- ------------------------------------------",
            "",
        ]
        return "\n".join(lines)

    def show_interfaces_status(self):
        lines = ["", "Port         Name               Status       Vlan       Duplex  Speed Type"]
        for block in self.device.interfaces():
            name = block.line.split(None, 1)[1]
            if interface_type(name) in VIRTUAL_TYPES:
                continue
            description = next((c[12:] for c in block.children if c.startswith("description ")), "")
            status = "disabled" if "shutdown" in block.children else "connected"
            vlan = "trunk" if "switchport mode trunk" in block.children else "1"
            for child in block.children:
                if child.startswith("switchport access vlan ") and vlan != "trunk":
                    vlan = child.rsplit(None, 1)[1]
            if "no switchport" in block.children:
                vlan = "routed"
            lines.append(
                f"{short_interface(name):<12} {description[:18]:<18} {status:<12} {vlan:<10} "
                "a-full  a-1000 10/100/1000BaseTX"
            )
        return "\n".join(lines)

    # --- configuration mode ----------------------------------------------------------------

    def config_command(self, line):
        words = line.split()
        first = words[0]
        if first == "end":
            self.mode, self.context = "exec", None
            return ""
        if first == "exit":
            if self.mode == "config":
                self.mode = "exec"
            else:
                self.mode, self.context = "config", None
            return ""
        if first == "do":
            saved = self.mode
            self.mode = "exec"
            try:
                return self.exec_command(line[2:].strip())
            finally:
                if self.mode == "exec":
                    self.mode = saved
        negate = first in ("no", "default")
        body = " ".join(words[1:]) if negate else line
        if negate and not body:
            raise CliError(INCOMPLETE)
        handled = None
        if self.mode == "config-if":
            handled = self.interface_command(line, words, negate, body)
        elif self.mode == "config-vlan":
            handled = self.vlan_command(line, words, negate, body)
        elif self.mode == "config-line":
            handled = self.line_command(words, negate, body)
        elif self.mode not in ("config",):
            handled = self.generic_command(words, negate, body)
        if handled is not None:
            return handled
        return self.global_command(line, words, negate, body)

    def global_command(self, line, words, negate, body):
        device = self.device
        first = body.split()[0]
        if first not in GLOBAL_WORDS - {"no"}:
            raise invalid_at(line, 1 if negate else 0)
        rest = body.split()[1:]
        if first == "interface":
            if not rest:
                raise CliError(INCOMPLETE)
            name = expand_interface(" ".join(rest))
            block = device.block(f"interface {name}")
            if negate:
                if block is None or interface_type(name) not in VIRTUAL_TYPES:
                    raise invalid_at(line, 2)
                device.blocks.remove(block)
                self.mode = "config"
                return ""
            if block is None:
                if interface_type(name) not in VIRTUAL_TYPES:
                    raise invalid_at(line, 1)
                block = device.add_block(f"interface {name}")
            self.mode, self.context = "config-if", block
            return ""
        if first == "vlan":
            if not rest:
                raise CliError(INCOMPLETE)
            try:
                ids = vlan_ids(rest[0])
            except ValueError:
                raise invalid_at(line, 2 if negate else 1) from None
            if len(rest) > 1:
                raise invalid_at(line, 3 if negate else 2)
            reserved = sorted(ids & (set(RESERVED_VLANS) | {1}))
            if negate:
                if reserved:
                    return f"%Default VLAN {reserved[0]} may not be deleted."
                for vid in sorted(ids):
                    block = device.block(f"vlan {vid}")
                    if block:
                        device.blocks.remove(block)
                self.mode = "config"
                return ""
            for vid in sorted(ids - set(RESERVED_VLANS)):
                device.ensure_vlan(vid)
            self.mode, self.context = "config-vlan", sorted(ids)
            return ""
        if first == "line":
            if negate or not rest:
                raise CliError(INCOMPLETE)
            kind = pick(rest, 0, ["console", "vty"], body)
            numbers = rest[1:]
            if not numbers or not all(n.isdigit() for n in numbers):
                raise CliError(INCOMPLETE)
            label = "con" if kind == "console" else "vty"
            block = device.block(f"line {label} {' '.join(numbers)}") or device.add_block(
                f"line {label} {' '.join(numbers)}"
            )
            self.mode, self.context = "config-line", block
            return ""
        if first == "banner":
            kind = rest[0] if rest else ""
            if kind not in ("motd", "login", "exec"):
                raise invalid_at(line, 2 if negate else 1)
            if negate:
                block = device.block(f"banner {kind}")
                if block:
                    device.blocks.remove(block)
                return ""
            spec = body.split(None, 2)[2] if len(body.split(None, 2)) > 2 else ""
            if not spec:
                raise CliError(INCOMPLETE)
            delimiter, text = spec[0], spec[1:]
            if delimiter in text:
                self.finish_banner(kind, text.split(delimiter)[0])
                return ""
            self.banner = [kind, delimiter, text + "\n", False]  # the line break typed after it is text
            return f"Enter TEXT message.  End with the character '{delimiter}'." + CRLF
        for prefix, mode in GENERIC_SECTIONS:
            if body == prefix or body.startswith(prefix + " "):
                block = device.block(body)
                if negate:
                    if block:
                        device.blocks.remove(block)
                    return ""
                block = block or device.add_block(body)
                self.mode, self.generic_mode, self.context = mode, mode, block
                return ""
        if body.startswith("snmp-server user "):
            return self.snmp_user(line, body.split()[2:], negate)
        if negate:
            device.remove_global(body)
        elif first == "hostname":
            if len(rest) != 1:
                raise invalid_at(line, 2 if rest else 1)
            device.set_global(body)
        else:
            device.set_global(body)
        self.mode, self.context = "config", None
        return ""

    def snmp_user(self, line, words, negate):
        """snmp-server user NAME GROUP v3 [auth sha|md5 KEY [priv aes 128|des KEY]]; "no" removes it."""
        offset = 3 if negate else 2
        if len(words) < 3:
            raise CliError(INCOMPLETE)
        name, group, version = words[:3]
        if version not in ("v1", "v2c", "v3"):
            raise invalid_at(line, offset + 2)
        if negate:
            self.device.snmp_users.pop(name, None)
            return ""
        auth = priv = "None"
        rest = words[3:]
        if rest[:1] == ["auth"]:
            if len(rest) < 3 or rest[1] not in ("sha", "md5"):
                raise invalid_at(line, offset + 4)
            auth, rest = rest[1].upper(), rest[3:]
            if rest[:1] == ["priv"]:
                if rest[1:3] == ["aes", "128"] and len(rest) > 3:
                    priv = "AES128"
                elif rest[1:2] == ["des"] and len(rest) > 2:
                    priv = "DES"
                else:
                    raise invalid_at(line, offset + 7)
        self.device.snmp_users[name] = (group, auth, priv)
        return ""

    def show_snmp_user(self):
        blocks = []
        for name, (group, auth, priv) in sorted(self.device.snmp_users.items()):
            blocks.append(
                f"User name: {name}\nEngine ID: 800000090300{self.device.mac.replace(':', '').upper()}\n"
                f"storage-type: nonvolatile        active\nAuthentication Protocol: {auth}\n"
                f"Privacy Protocol: {priv}\nGroup-name: {group}\n"
            )
        return "\n".join(blocks)

    def interface_command(self, line, words, negate, body):
        first = body.split()[0]
        if first not in INTERFACE_WORDS - {"no", "default"}:
            return None
        block = self.context
        name = block.line.split(None, 1)[1]
        if first == "switchport" and interface_type(name) in ("Vlan", "Loopback"):
            raise invalid_at(line, 1 if negate else 0)
        if negate:
            clear_interface_line(block, body)
            return ""
        if body == "description":
            raise CliError(INCOMPLETE)
        output = ""
        match = re.fullmatch(r"switchport (access|voice) vlan (\S+)", body)
        if match:
            try:
                (vid,) = vlan_ids(match.group(2))
            except ValueError:
                raise invalid_at(line, 3) from None
            if match.group(1) == "access" and self.device.block(f"vlan {vid}") is None and vid != 1:
                self.device.ensure_vlan(vid)
                output = f"% Access VLAN does not exist. Creating vlan {vid}"
        match = re.fullmatch(r"switchport trunk allowed vlan (add |remove |except )?(\S+)", body)
        if match:
            body = self.trunk_allowed(block, match.group(1), match.group(2), line)
            if body is None:
                return ""
        match = re.fullmatch(r"switchport mode (\S+)", body)
        if match and match.group(1) not in ("access", "trunk", "dynamic", "private-vlan"):
            raise invalid_at(line, 2)
        if "no switchport" in block.children and first == "switchport" and body != "switchport":
            return "% Command rejected: Conflicts with the 'no switchport' on this interface."
        set_interface_line(block, body)
        return output

    def trunk_allowed(self, block, operation, value, line):
        """The new allowed-list line of a trunk, or None when the list ends up removed."""
        current = set(range(1, 4095))
        for child in block.children:
            if child.startswith("switchport trunk allowed vlan "):
                spec = child.split()[-1]
                current = set() if spec == "none" else vlan_ids(spec)
        if value in ("all", "none") and not operation:
            result = set(range(1, 4095)) if value == "all" else set()
        else:
            try:
                ids = vlan_ids(value)
            except ValueError:
                raise invalid_at(line, 5 if operation else 4) from None
            op = (operation or "").strip()
            result = {"add": current | ids, "remove": current - ids, "except": set(range(1, 4095)) - ids}.get(op, ids)
        if result == set(range(1, 4095)):
            clear_interface_line(block, "switchport trunk allowed vlan")
            return None
        return "switchport trunk allowed vlan " + (vlan_list(result) if result else "none")

    def vlan_command(self, line, words, negate, body):
        first = body.split()[0]
        if first not in VLAN_WORDS - {"no"}:
            return None
        for vid in self.context:
            if vid in RESERVED_VLANS or vid == 1:
                return f"%Default VLAN {vid} may not have its name changed."
            block = self.device.ensure_vlan(vid)
            if negate:
                clear_interface_line(block, body)
                continue
            if first == "name":
                name = body[5:].strip()
                if not name or " " in name or len(name) > 32:
                    raise invalid_at(line, 2)
                set_line(block, "name", body)
            elif first == "state":
                value = body.split()[1] if len(body.split()) > 1 else ""
                if value not in ("active", "suspend"):
                    raise invalid_at(line, 1)
                set_line(block, "state", None if value == "active" else body)
            elif first == "mtu":
                continue
            else:
                set_line(block, body, body)
        return ""

    def line_command(self, words, negate, body):
        first = body.split()[0]
        if first not in LINE_WORDS - {"no"}:
            return None
        block = self.context
        key = key_of(body, LINE_KEYS)
        block.children = [c for c in block.children if key_of(c, [key]) != key]
        if not negate:
            block.children.append(body)
        return ""

    def generic_command(self, words, negate, body):
        if body.split()[0] in GLOBAL_WORDS - {"no"} and not negate:
            return None
        block = self.context
        if negate:
            block.children = [c for c in block.children if c != body and not c.startswith(body + " ")]
        elif body not in block.children:
            block.children.append(body)
        return ""


def set_line(block, key, line):
    block.children = [c for c in block.children if c != key and not c.startswith(key + " ")]
    if line:
        block.children.append(line)


def pick(words, index, choices, line):
    """The keyword at ``words[index]`` completed among ``choices`` (IOS accepts unique prefixes)."""
    if index >= len(words):
        raise CliError(INCOMPLETE)
    word = words[index].lower()
    if word in choices:
        return word
    found = [c for c in choices if c.startswith(word)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise CliError(AMBIGUOUS.format(line))
    raise invalid_at(line, index)


def apply_filter(text, spec, line):
    """``include``/``exclude``/``begin``/``section`` REGEX, as IOS's output modifiers do."""
    verb, _, pattern = spec.partition(" ")
    verb = pick([verb], 0, ["begin", "exclude", "include", "section", "count"], line)
    try:
        regex = re.compile(pattern.strip())
    except re.error:
        raise CliError("% Invalid regular expression") from None
    lines = text.split("\n")
    if verb == "include":
        return "\n".join(x for x in lines if regex.search(x))
    if verb == "exclude":
        return "\n".join(x for x in lines if not regex.search(x))
    if verb == "count":
        return f"Number of lines which match regexp = {sum(1 for x in lines if regex.search(x))}"
    if verb == "begin":
        for index, x in enumerate(lines):
            if regex.search(x):
                return "\n".join(lines[index:])
        return ""
    # section: a top-level line and its indented lines, kept when the header or one of them matches.
    sections: list[list[str]] = []
    for x in lines:
        if x.startswith(" ") and sections:
            sections[-1].append(x)
        else:
            sections.append([x])
    kept = [s for s in sections if s[0] not in ("!", "") and any(regex.search(x) for x in s)]
    return "\n".join(x for s in kept for x in s)


# ---------------------------------------------------------------------------------------------
# SSH
# ---------------------------------------------------------------------------------------------


class _Auth(paramiko.ServerInterface):
    def __init__(self, users, authorized_keys):
        self.users = users
        self.authorized_keys = authorized_keys
        self.shell_ready = threading.Event()
        self.username = None

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        account = self.users.get(username)
        if account and hmac.compare_digest(account["password"].encode(), password.encode()):
            self.username = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        for allowed in self.authorized_keys.get(username, []):
            if allowed.get_name() == key.get_name() and allowed.asbytes() == key.asbytes():
                self.username = username
                return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes):
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight):
        return True

    def check_channel_shell_request(self, channel):
        self.shell_ready.set()
        return True


def public_key(text):
    """A paramiko key from one OpenSSH public key line."""
    kind, blob = text.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


class FakeIOS:
    """The SSH listener: one thread accepts, one thread per connection runs a Session."""

    def __init__(self, listen, port, device, users, enable_password, authorized_keys=None, host_key=None):
        address = ipaddress.ip_address(listen)
        if address not in ipaddress.ip_network("127.0.0.0/8"):
            raise ValueError(f"fake_ios listens on loopback only (127.0.0.0/8), not {listen}")
        self.device = device
        self.users = users
        self.enable_password = enable_password
        self.authorized_keys = authorized_keys or {}
        self.host_key = host_key or paramiko.ECDSAKey.generate()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((listen, port))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()
        self.transports: list[paramiko.Transport] = []
        self.sessions: list[Session] = []
        self.failed_logins = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"fake-ios-{self.port}", daemon=True)

    @property
    def known_hosts_line(self):
        """The line an OpenSSH/paramiko known_hosts file needs to trust this server."""
        return f"[{self.host}]:{self.port} {self.host_key.get_name()} {self.host_key.get_base64()}"

    def active_sessions(self):
        return [t for t in self.transports if t.is_active()]

    def start(self):
        self._thread.start()
        return self

    def shutdown(self):
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        with contextlib.suppress(OSError):
            self.sock.close()
        for transport in list(self.transports):
            transport.close()
        self._thread.join(timeout=5)

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        transport = paramiko.Transport(conn)
        transport.local_version = "SSH-2.0-Cisco-1.25"
        transport.add_server_key(self.host_key)
        self.transports.append(transport)
        auth = _Auth(self.users, self.authorized_keys)
        try:
            transport.start_server(server=auth)
        except (paramiko.SSHException, EOFError, OSError):
            transport.close()
            return
        channel = transport.accept(20)
        if channel is None:
            if not transport.is_authenticated():
                self.failed_logins += 1
            transport.close()
            return
        if not auth.shell_ready.wait(10):
            transport.close()
            return
        account = self.users.get(auth.username, {})
        session = Session(self.device, self.enable_password, account.get("privilege", 1))
        self.sessions.append(session)
        try:
            channel.sendall(session.greeting().encode())
            while not session.closed:
                data = channel.recv(4096)
                if not data:
                    break
                output = session.feed(data.decode("utf-8", errors="replace"))
                if output:
                    channel.sendall(output.encode())
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                channel.close()
            transport.close()


def serve(listen, port, config_text, users, enable_password, authorized_keys=None, host_key=None, **device_args):
    """Start a fake IOS switch in background threads; returns the FakeIOS (``.port``, ``.device``)."""
    device = Device(config_text, **device_args)
    return FakeIOS(listen, port, device, users, enable_password, authorized_keys, host_key).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.4.11", help="loopback address to bind (127.0.0.0/8)")
    parser.add_argument("--port", type=int, default=2201)
    parser.add_argument("--config", required=True, help="running-config text file the switch starts with")
    parser.add_argument("--save", help="file that 'write memory' writes the startup-config to")
    parser.add_argument("--user", default="admin", help="login name; its password comes from FAKE_IOS_PASSWORD")
    parser.add_argument("--privilege", type=int, default=1, help="privilege level the user logs in with")
    parser.add_argument("--authorized-key", help="OpenSSH public key file the user may also log in with")
    parser.add_argument("--host-key", help="PEM private key file of the server (default: generated)")
    parser.add_argument("--model", default="C9300-24T")
    args = parser.parse_args(argv)
    password = os.environ.get("FAKE_IOS_PASSWORD") or secrets.token_urlsafe(12)
    enable = os.environ.get("FAKE_IOS_ENABLE") or secrets.token_urlsafe(12)
    keys = {}
    if args.authorized_key:
        keys[args.user] = [public_key(Path(args.authorized_key).read_text(encoding="utf-8"))]
    host_key = None
    if args.host_key:
        host_key = paramiko.ECDSAKey.from_private_key_file(args.host_key)
    server = serve(
        args.listen,
        args.port,
        Path(args.config).read_text(encoding="utf-8"),
        {args.user: {"password": password, "privilege": args.privilege}},
        enable,
        keys,
        host_key,
        model=args.model,
        save_path=args.save,
    )
    if not os.environ.get("FAKE_IOS_PASSWORD"):
        print(f"generated login password for {args.user}: {password}", flush=True)
    if not os.environ.get("FAKE_IOS_ENABLE"):
        print(f"generated enable password: {enable}", flush=True)
    print(f"fake IOS {server.device.hostname} listening on {server.host}:{server.port}", flush=True)
    print(server.known_hosts_line, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()

"""Filter of role ``monitoring_agent``: check the Zabbix agent's inputs before anything is changed.

``monitoring_agent_problems(inputs, host='')``
    Return a list of problems (strings), each naming the host, the variable and what is wrong; an
    empty list means the inputs are sound. ``inputs`` is the role's variables as one mapping (built
    in ``vars/main.yml``). Malformed input is reported, never raised. The pre-shared key is never
    quoted in a message, only its length and what is wrong with it. The key is checked only when
    ``inputs`` holds it; the role checks it in a task of its own:
``monitoring_agent_psk_problems(psk, host='')``
    The problem with the pre-shared key alone, as a list of at most one message.

Addresses are read with netaddr. The agent's ``Server`` list is an allow-list of who may ask it
for values, so only IP addresses and networks are accepted there, never DNS names, and never a
network that lets every host in. ``ServerActive`` entries, where the agent connects to, may be
names: the pre-shared key authenticates the server.

Example (roles/monitoring_agent/vars/main.yml)::

    __monitoring_agent_problems: "{{ __monitoring_agent_inputs | monitoring_agent_problems(inventory_hostname) }}"
    __monitoring_agent_psk_problems: "{{ monitoring_agent_psk | monitoring_agent_psk_problems(inventory_hostname) }}"
"""

from __future__ import annotations

import re
from collections.abc import Mapping

try:
    from netaddr import AddrFormatError, IPAddress, IPNetwork
except ImportError as exc:  # reported when the filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

PARSE_ERRORS = (ValueError, TypeError) if NETADDR_IMPORT_ERROR else (AddrFormatError, ValueError, TypeError)

# Zabbix's own limits (Zabbix 6.0 agent and agent 2 documentation).
PSK_MIN_HEX, PSK_MAX_HEX = 32, 512  # 128 to 2048 bits
HOSTNAME_MAX = 128
HOSTNAME_CHARS = re.compile(r"^[0-9A-Za-z._ -]+$")
METADATA_MAX = 255
IDENTITY_MAX = 128
PORT_MIN, PORT_MAX = 1024, 32767  # ListenPort
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HEX = re.compile(r"^[0-9A-Fa-f]*$")


def _where(host: str, variable: str) -> str:
    return f"{host}: {variable}" if host else variable


def _ip(text: str):
    """The IPAddress of text when it is a plain address, else None."""
    try:
        if "/" in text:
            return None
        return IPAddress(text)
    except PARSE_ERRORS:
        return None


def server_problem(entry) -> str | None:
    """What is wrong with one entry of the agent's Server list (an address or a network), or None."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not an IP address or network"
    text = entry.strip()
    if _ip(text) is not None:
        return None
    if "/" not in text:
        return (
            f"{text!r} is not an IP address or network (CIDR); names are refused, the allow-list must not depend on DNS"
        )
    try:
        net = IPNetwork(text)
    except PARSE_ERRORS:
        return f"{text!r} is not an IP network (CIDR)"
    if net.prefixlen == 0:
        return f"{text!r} lets every host ask the agent; name the Zabbix servers or their network"
    if net.ip != net.network:
        return f"{text!r} has host bits set: the address {net.ip} or the network {net.cidr}?"
    return None


def _active_node_problem(node: str) -> str | None:
    """What is wrong with one node of a ServerActive entry (host, host:port, [IPv6]:port), or None."""
    host, port = node, None
    if node.startswith("["):
        match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", node)
        if not match:
            return f"{node!r} is not [IPv6 address]:port"
        host, port = match.group(1), match.group(2)
        if _ip(host) is None or _ip(host).version != 6:
            return f"{node!r}: {host!r} is not an IPv6 address"
    elif node.count(":") == 1:
        host, port = node.split(":")
    elif node.count(":") > 1:
        if _ip(node) is not None:
            return None  # an IPv6 address without a port needs no brackets
        return f"{node!r}: an IPv6 address with a port is written [address]:port"
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"{node!r}: port {port!r} is not a number from 1 to 65535"
    if _ip(host) is not None or node.startswith("["):
        return None
    if re.fullmatch(r"[0-9.]+", host):
        return f"{node!r}: {host!r} is not an IPv4 address"
    if not DNS_NAME.match(host):
        return f"{node!r}: {host!r} is neither an IP address nor a DNS name"
    return None


def active_problem(entry) -> str | None:
    """What is wrong with one ServerActive entry: a server, or a Zabbix HA cluster written node;node."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not a server address"
    for node in entry.strip().split(";"):
        found = _active_node_problem(node.strip())
        if found:
            return found
    return None


def psk_problem(psk) -> str | None:
    """What is wrong with the pre-shared key, without quoting it."""
    if not isinstance(psk, str) or not psk.strip():
        return "is empty; it comes from the vault (32 to 512 hex digits)"
    key = psk.strip()
    if not HEX.match(key):
        return f"has characters that are not hex digits (its {len(key)} characters must all be 0-9, a-f)"
    if len(key) < PSK_MIN_HEX:
        return f"has {len(key)} hex digits; at least {PSK_MIN_HEX} (128 bits) are needed, 64 (256 bits) recommended"
    if len(key) > PSK_MAX_HEX:
        return f"has {len(key)} hex digits; Zabbix takes at most {PSK_MAX_HEX} (2048 bits)"
    if len(key) % 2:
        return f"has an odd number of hex digits ({len(key)}); a key is whole bytes"
    return None


def _as_list(value, where: str, problems: list[str]) -> list:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        problems.append(f"{where} must be a list, not {value!r}")
        return []
    return list(value)


def monitoring_agent_problems(inputs: Mapping, host: str = "") -> list[str]:
    """Every problem with the role's inputs, as messages naming the host and the variable."""
    if NETADDR_IMPORT_ERROR is not None:
        return [f"{host}: the monitoring_agent filters need the Python library netaddr ({NETADDR_IMPORT_ERROR})"]
    if not isinstance(inputs, Mapping):
        return [f"{host}: the role's inputs are not a mapping"]
    problems: list[str] = []

    name = "monitoring_agent_servers"
    servers = _as_list(inputs.get(name), _where(host, name), problems)
    if not servers and isinstance(inputs.get(name), (list, tuple, type(None))):
        problems.append(
            f"{_where(host, name)} is empty: name the Zabbix server (or proxy) addresses that may ask the agent"
        )
    for index, entry in enumerate(servers):
        found = server_problem(entry)
        if found:
            problems.append(f"{_where(host, name)}[{index}]: {found}")

    name = "monitoring_agent_servers_active"
    for index, entry in enumerate(_as_list(inputs.get(name), _where(host, name), problems)):
        found = active_problem(entry)
        if found:
            problems.append(f"{_where(host, name)}[{index}]: {found}")

    name = "monitoring_agent_listen_port"
    port = inputs.get(name)
    if isinstance(port, bool) or not isinstance(port, int) or not PORT_MIN <= port <= PORT_MAX:
        problems.append(f"{_where(host, name)} must be a number from {PORT_MIN} to {PORT_MAX}, not {port!r}")

    name = "monitoring_agent_hostname"
    hostname = inputs.get(name)
    if not isinstance(hostname, str) or not hostname:
        problems.append(f"{_where(host, name)} is empty: the server knows the host by this name")
    elif len(hostname) > HOSTNAME_MAX or not HOSTNAME_CHARS.match(hostname):
        problems.append(
            f"{_where(host, name)} {hostname!r} must be at most {HOSTNAME_MAX} of the characters "
            "A-Z a-z 0-9 . _ - and space"
        )

    name = "monitoring_agent_host_metadata"
    metadata = inputs.get(name)
    if not isinstance(metadata, str):
        problems.append(f"{_where(host, name)} must be a string, not {metadata!r}")
    elif len(metadata) > METADATA_MAX:
        problems.append(f"{_where(host, name)} has {len(metadata)} characters; the agent sends at most {METADATA_MAX}")
    elif CONTROL.search(metadata):
        problems.append(f"{_where(host, name)} {metadata!r} must be one line, without control characters")

    name = "monitoring_agent_psk_identity"
    identity = inputs.get(name)
    if not isinstance(identity, str) or not identity.strip():
        problems.append(f"{_where(host, name)} is empty: the server finds the key by this identity")
    elif len(identity) > IDENTITY_MAX or identity != identity.strip() or CONTROL.search(identity):
        problems.append(
            f"{_where(host, name)} {identity!r} must be at most {IDENTITY_MAX} characters on one line, "
            "without leading or trailing blanks"
        )

    if "monitoring_agent_psk" in inputs:
        problems += monitoring_agent_psk_problems(inputs["monitoring_agent_psk"], host)
    return problems


def monitoring_agent_psk_problems(psk, host: str = "") -> list[str]:
    """The problem with the pre-shared key alone (for a task of its own, with no_log), as a list."""
    found = psk_problem(psk)
    return [f"{_where(host, 'monitoring_agent_psk')} {found}"] if found else []


class FilterModule:
    def filters(self):
        return {
            "monitoring_agent_problems": monitoring_agent_problems,
            "monitoring_agent_psk_problems": monitoring_agent_psk_problems,
        }

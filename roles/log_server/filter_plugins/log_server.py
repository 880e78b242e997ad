"""Filters of the log_server role: input checks of tasks/assert.yml, and values derived for the
rsyslog configuration and the log5651 tool.

Every filter is a pure function. The ``*_problems`` filters never raise on bad input: they return a
list of messages, each naming the host, the variable and what is wrong, and an empty list when the
input is sound (assert.yml joins them into one failure). Secrets (private keys) are read but never
quoted in a message.

Filters:

``log_server_class_problems(classes, rules, host='')``
    Check ``log_server_classes``: names, retention, program names, message prefixes; ``rules``
    maps a class name to ``{min, max}`` retention days (the legal limits, vars/main.yml).
``log_server_cidr_problems(cidrs, key, host='')``
    Check a list of IPv4 networks in CIDR notation (``10.20.0.0/16``).
``log_server_ipv4_ranges(cidrs)``
    The networks as merged ``[first, last]`` integer ranges, for rsyslog's ``ip42num()``.
``log_server_range_problems(ranges, host='')``
    Check integers against ``{key, value, min, max}`` rows.
``log_server_path_problems(paths, host='')``
    Check ``{variable: path}``: absolute, plain characters, and no tree inside another.
``log_server_pem_problems(value, kind, key, host='')``
    Check the PEM shape of a ``certificate``, a ``certificates`` bundle or a ``private_key``. Whether
    the key, the certificate and the CA fit together is then checked by the repository's
    ``pki_tls_problems`` filter (plugins/filter/pki.py).
``log_server_tool_classes(classes)``
    ``{name: {retention_days: N}}``, the ``classes`` object of the log5651 configuration.

Example::

    - name: The 5651 classes are sound
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ log_server_classes | log_server_class_problems(rules, inventory_hostname) }}"
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

try:
    from netaddr import AddrFormatError, IPNetwork, cidr_merge
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

from ansible.errors import AnsibleFilterError

CLASS_KEYS = frozenset({"name", "description", "retention_days", "programnames", "msg_prefixes"})
# Class names become directory names and rsyslog strings.
CLASS_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# rsyslog's $programname stops at ':', '[' and '/'; these characters are also safe in its strings.
PROGRAMNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Prefixes go into a POSIX extended regular expression: no character here is special in one.
PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:=-]{0,63}$")
PATH_RE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
RETENTION_MAX = 3650

PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*\n(.*?)\n\s*-----END \1-----", re.DOTALL)
PEM_LABELS = {
    "certificate": ("CERTIFICATE",),
    "certificates": ("CERTIFICATE",),
    "private_key": ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"),
}
PEM_WHAT = {
    "certificate": "a PEM certificate (-----BEGIN CERTIFICATE-----)",
    "certificates": "one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
    "private_key": "an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)",
}


def _who(host: str, key: str) -> str:
    return f"{host}: {key}" if host else key


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r} ({type(value).__name__})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list_problems(value: object, key: str, pattern: re.Pattern, what: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{key} must be a list of {what}, got {_show(value)}"]
    return [
        f"{key} has {_show(v)}, which is not {what}" for v in value if not isinstance(v, str) or not pattern.match(v)
    ]


# --- 5651 classes ------------------------------------------------------------------------------


def log_server_class_problems(classes: object, rules: Mapping | None = None, host: str = "") -> list[str]:
    """Problems of ``log_server_classes``; an empty list means the classes are sound."""
    where = _who(host, "log_server_classes")
    rules = rules or {}
    if not isinstance(classes, list) or not classes:
        return [f"{where} must be a non-empty list of classes, got {_show(classes)}"]
    problems: list[str] = []
    seen_names: set[str] = set()
    owner: dict[str, str] = {}  # program name or prefix -> class that claims it
    for index, cls in enumerate(classes):
        if not isinstance(cls, Mapping):
            problems.append(f"{where}[{index}] must be a mapping, got {_show(cls)}")
            continue
        name = cls.get("name")
        label = f"{where}[{index}]" if not isinstance(name, str) else f"{where} class '{name}'"
        unknown = sorted(set(cls) - CLASS_KEYS)
        if unknown:
            problems.append(f"{label} has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(CLASS_KEYS))})")
        if not isinstance(name, str) or not CLASS_NAME_RE.match(name):
            problems.append(
                f"{label}: name {_show(name)} must be lower-case letters, digits, '_' and '-', starting with a letter"
            )
        elif name in seen_names:
            problems.append(f"{label} is defined twice")
        else:
            seen_names.add(name)
        description = cls.get("description", "")
        if not isinstance(description, str) or "\n" in description:
            problems.append(f"{label}: description must be one line of text, got {_show(description)}")
        problems += _retention_problems(cls.get("retention_days"), label, name, rules)
        programnames = cls.get("programnames", [])
        prefixes = cls.get("msg_prefixes", [])
        problems += _string_list_problems(programnames, f"{label}: programnames", PROGRAMNAME_RE, "a program name")
        problems += _string_list_problems(
            prefixes, f"{label}: msg_prefixes", PREFIX_RE, "a prefix of letters, digits, '_', ':', '=' and '-'"
        )
        if not programnames and not prefixes:
            problems.append(f"{label} matches nothing: give it programnames or msg_prefixes")
        for kind, values in (("program name", programnames), ("message prefix", prefixes)):
            for value in values if isinstance(values, list) else []:
                if not isinstance(value, str):
                    continue
                claimed = owner.setdefault(f"{kind} {value}", str(name))
                if claimed != str(name):
                    problems.append(f"{label}: {kind} '{value}' is already in class '{claimed}'")
    return problems


def _retention_problems(days: object, label: str, name: object, rules: Mapping) -> list[str]:
    if not _is_int(days) or days < 1:
        return [f"{label}: retention_days must be a positive whole number of days, got {_show(days)}"]
    rule = rules.get(name, {}) if isinstance(name, str) else {}
    low, high = rule.get("min", 1), min(rule.get("max", RETENTION_MAX), RETENTION_MAX)
    if low <= days <= high:
        return []
    why = f" ({rule['why']})" if rule.get("why") else ""
    return [f"{label}: retention_days {days} is outside {low}..{high}{why}"]


def log_server_tool_classes(classes: list) -> dict:
    """The ``classes`` object of /etc/log5651/config.json."""
    try:
        return {c["name"]: {"retention_days": int(c["retention_days"])} for c in classes}
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"log_server_tool_classes: classes are malformed ({exc}); run assert.yml") from None


# --- networks ----------------------------------------------------------------------------------


def _require_netaddr() -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"log_server: the netaddr Python library is required: {NETADDR_IMPORT_ERROR}")


def _parse_ipv4_network(value: object) -> tuple[IPNetwork | None, str | None]:
    if not isinstance(value, str) or "/" not in value:
        return None, "is not a network in CIDR notation such as 10.20.0.0/16"
    try:
        net = IPNetwork(value)
    except (AddrFormatError, ValueError, TypeError):
        return None, "is not a valid network"
    if net.version != 4:
        return None, "is not IPv4 (the plain port filters IPv4 senders only)"
    if net.ip != net.network:
        return None, f"has host bits set (the network is {net.cidr})"
    return net, None


def log_server_cidr_problems(cidrs: object, key: str, host: str = "") -> list[str]:
    """Problems of a list of IPv4 networks; an empty list means every entry is sound."""
    _require_netaddr()
    where = _who(host, key)
    if not isinstance(cidrs, list):
        return [f"{where} must be a list of networks such as 10.20.0.0/16, got {_show(cidrs)}"]
    problems = []
    for value in cidrs:
        _, reason = _parse_ipv4_network(value)
        if reason:
            problems.append(f"{where}: {_show(value)} {reason}")
    return problems


def log_server_ipv4_ranges(cidrs: list) -> list[list[int]]:
    """Merged, sorted ``[first, last]`` address ranges (as integers) of IPv4 networks."""
    _require_netaddr()
    nets = []
    for value in cidrs or []:
        net, reason = _parse_ipv4_network(value)
        if reason:
            raise AnsibleFilterError(f"log_server_ipv4_ranges: {_show(value)} {reason}")
        nets.append(net)
    return [[int(n.first), int(n.last)] for n in cidr_merge(nets)]


# --- numbers and paths -------------------------------------------------------------------------


def log_server_range_problems(ranges: list, host: str = "") -> list[str]:
    """Problems of ``[{key, value, min, max}]`` rows: each value must be a whole number in min..max."""
    problems = []
    for row in ranges:
        value, key = row["value"], _who(host, row["key"])
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            value = int(value)  # an inventory value given as a string of digits is accepted, like int does
        if not _is_int(value):
            problems.append(f"{key} must be a whole number, got {_show(row['value'])}")
        elif not row["min"] <= value <= row["max"]:
            problems.append(f"{key} must be from {row['min']} to {row['max']}, got {value}")
    return problems


def log_server_path_problems(paths: Mapping, host: str = "") -> list[str]:
    """Problems of ``{variable: path}``: each absolute, of plain characters, not /, and none inside another."""
    problems = []
    clean = {}
    for key, path in paths.items():
        where = _who(host, key)
        if not isinstance(path, str) or not PATH_RE.match(path) or {".", ".."} & set(path.split("/")):
            problems.append(
                f"{where} must be an absolute path of letters, digits, '.', '_', '-' and '/', without a trailing"
                f" '/', '.' or '..', got {_show(path)}"
            )
        else:
            clean[key] = path
    for key, path in clean.items():
        for other, other_path in clean.items():
            if key != other and (path == other_path or path.startswith(other_path + "/")):
                problems.append(
                    f"{_who(host, key)} ({path}) lies inside {other} ({other_path}): the trees must be apart"
                )
    return problems


# --- PEM and certificates ----------------------------------------------------------------------


def _pem_blocks(value: str) -> list[tuple[str, str]]:
    return PEM_BLOCK_RE.findall(value.replace("\r\n", "\n"))


def log_server_pem_problems(value: object, kind: str, key: str, host: str = "") -> list[str]:
    """Problems of the PEM shape of a certificate, a bundle of certificates, or a private key.

    Only the shape is checked here (markers, base64 body, what the blocks are); the content is
    never quoted, since a private key is a secret.
    """
    if kind not in PEM_LABELS:
        raise AnsibleFilterError(f"log_server_pem_problems: kind must be one of {', '.join(PEM_LABELS)}, not {kind!r}")
    where = _who(host, key)
    if not isinstance(value, str) or not value.strip():
        return [f"{where} is empty: it must hold {PEM_WHAT[kind]}"]
    if kind == "private_key" and ("BEGIN ENCRYPTED PRIVATE KEY" in value or "Proc-Type: 4,ENCRYPTED" in value):
        return [f"{where} is an encrypted key: rsyslog and log5651 need it unencrypted (keep it in the vault)"]
    blocks = _pem_blocks(value)
    if not blocks:
        return [f"{where} is not PEM: it must hold {PEM_WHAT[kind]}"]
    problems = []
    labels = [label for label, _ in blocks]
    wanted = PEM_LABELS[kind]
    if any(label not in wanted for label in labels):
        problems.append(f"{where} holds PEM blocks of type {', '.join(sorted(set(labels)))}: expected {PEM_WHAT[kind]}")
    if kind == "private_key" and len(blocks) > 1:
        problems.append(f"{where} holds {len(blocks)} PEM blocks: expected exactly one key")
    for label, body in blocks:
        try:
            base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{where}: the body of its {label} block is not base64")
    return problems


class FilterModule:
    """Filters of the log_server role."""

    def filters(self):
        return {
            "log_server_class_problems": log_server_class_problems,
            "log_server_tool_classes": log_server_tool_classes,
            "log_server_cidr_problems": log_server_cidr_problems,
            "log_server_ipv4_ranges": log_server_ipv4_ranges,
            "log_server_range_problems": log_server_range_problems,
            "log_server_path_problems": log_server_path_problems,
            "log_server_pem_problems": log_server_pem_problems,
        }

"""Filter of role ``pardus_desktop``: check the role's inputs before anything changes.

A pure function; nothing here reads facts or touches a host. It never raises on bad input: it
returns a list of messages, each naming the host, the variable and what is wrong, and an empty list
when the inputs are sound (tasks/assert.yml joins them into one failure). Host parts of printer URIs
that look like addresses are checked with netaddr. (Domain membership is role domain_join's.)

Filter:

``pardus_desktop_problems(inputs, host='')``
    Check the role's variables, given as one mapping (``__pardus_desktop_inputs`` in tasks/assert.yml).
``pardus_desktop_admin_removals(getent_group, groups, allowed)``
    From ``getent group`` facts (name -> [password, gid, "user1,user2"]), the members to take out of
    the administrator ``groups``: every member not in ``allowed``, as ``{group, user}`` in a stable
    order. A group the host lacks is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

try:
    from netaddr import AddrFormatError, IPAddress
except ImportError:  # reported as a problem, not a traceback
    IPAddress = None

PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
QUEUE = re.compile(r"^[A-Za-z0-9_-]{1,127}$")
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
PRINTER_SCHEMES = ("ipp", "ipps", "socket", "lpd", "http", "https")


def _host_problem(hostname):
    """None if hostname is an IP address or a DNS host name, else what is wrong."""
    if not hostname:
        return "has no host"
    if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+", hostname):
        if IPAddress is None:
            return "cannot be checked: netaddr is missing on the control node"
        try:
            IPAddress(hostname)
        except (AddrFormatError, ValueError):
            return f"host {hostname} is not a valid IP address"
        return None
    return None if HOST.match(hostname) else f"host {hostname} is not a valid host name"


def _packages(host, var, value):
    if not isinstance(value, list):
        return [f"{host}: {var} must be a list of package names"]
    return [f"{host}: {var}: {p!r} is not a Debian package name" for p in value if not PACKAGE.match(str(p))]


def _printers(host, by_site):
    problems = []
    if not isinstance(by_site, Mapping):
        return [f"{host}: pardus_desktop_printers_by_site must map site keys to lists of queues"]
    for site, queues in by_site.items():
        where = f"{host}: pardus_desktop_printers_by_site.{site}"
        if not isinstance(queues, list):
            problems.append(f"{where} must be a list of queues")
            continue
        names, defaults = set(), 0
        for index, queue in enumerate(queues, start=1):
            if not isinstance(queue, Mapping):
                problems.append(f"{where} entry {index} must be a mapping")
                continue
            name = str(queue.get("name", ""))
            label = f"{where} queue {name or index}"
            if not QUEUE.match(name):
                problems.append(f"{label}: name must be 1-127 letters, digits, - or _")
            elif name.lower() in names:
                problems.append(f"{label}: name appears more than once")
            names.add(name.lower())
            unknown = sorted(set(queue) - {"name", "uri", "description", "location", "driver", "default"})
            if unknown:
                problems.append(f"{label}: unknown keys {', '.join(unknown)}")
            parts = urlsplit(str(queue.get("uri", "")))
            if parts.scheme not in PRINTER_SCHEMES:
                problems.append(f"{label}: uri must start with {', '.join(s + '://' for s in PRINTER_SCHEMES)}")
            else:
                wrong = _host_problem(parts.hostname or "")
                if wrong:
                    problems.append(f"{label}: uri {wrong}")
            defaults += bool(queue.get("default", False))
        if defaults > 1:
            problems.append(f"{where}: only one queue can be the default")
    return problems


def _directorates(host, var, value):
    if not isinstance(value, (list, Mapping)):
        return [f"{host}: {var} must name directorate groups (dir_*)"]
    return [f"{host}: {var}: {d!r} is not a directorate group (dir_*)" for d in value if not str(d).startswith("dir_")]


TIMESPAN = re.compile(r"^([0-9]+ ?(us|ms|s|sec|m|min|h|hr|d|w)? ?)+$")


def _pull_problems(host, v):
    problems = []
    url = str(v.get("pardus_desktop_pull_url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http", "ssh", "git") or not parts.hostname:
        problems.append(
            f"{host}: pardus_desktop_pull_url {url!r} must be an https://, ssh:// or git:// URL with a host"
        )
    elif parts.scheme in ("http", "git") and v.get("pardus_desktop_pull_verify") == "remote":
        problems.append(f"{host}: pardus_desktop_pull_verify remote over {parts.scheme}:// trusts anyone on the path")
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", str(v.get("pardus_desktop_pull_branch") or "")):
        problems.append(f"{host}: pardus_desktop_pull_branch must be a branch name")
    keys = v.get("pardus_desktop_pull_trusted_keys") or []
    if v.get("pardus_desktop_pull_verify") == "signature":
        if not keys:
            problems.append(f"{host}: pardus_desktop_pull_trusted_keys is empty, so no commit could be verified")
        for index, key in enumerate(keys, start=1):
            if "-----BEGIN PGP PUBLIC KEY BLOCK-----" not in str(key):
                problems.append(f"{host}: pardus_desktop_pull_trusted_keys entry {index} is not an armoured public key")
    inventory = str(v.get("pardus_desktop_pull_inventory") or "")
    if not inventory or inventory.startswith("/") or ".." in inventory.split("/"):
        problems.append(f"{host}: pardus_desktop_pull_inventory must be a path inside the repository")
    for var in ("pardus_desktop_pull_boot_delay", "pardus_desktop_pull_interval", "pardus_desktop_pull_random_delay"):
        if not TIMESPAN.match(str(v.get(var, ""))):
            problems.append(f"{host}: {var} {v.get(var)!r} is not a systemd time span such as 2h or 30min")
    return problems


def pardus_desktop_problems(inputs, host=""):
    """Problems of the role's inputs (see the module docstring); [] when they are sound."""
    v = inputs
    problems = []
    if not re.fullmatch(r"[0-9]{2}", str(v.get("pardus_desktop_release", ""))):
        problems.append(f"{host}: pardus_desktop_release must be a major release such as 23")
    problems += _packages(host, "pardus_desktop_apps", v.get("pardus_desktop_apps"))
    problems += _packages(host, "pardus_desktop_apps_absent", v.get("pardus_desktop_apps_absent"))
    by_dir = v.get("pardus_desktop_apps_by_directorate") or {}
    problems += _directorates(host, "pardus_desktop_apps_by_directorate", by_dir)
    for directorate, packages in by_dir.items() if isinstance(by_dir, Mapping) else []:
        problems += _packages(host, f"pardus_desktop_apps_by_directorate.{directorate}", packages)
    both = set(v.get("pardus_desktop_apps") or []) & set(v.get("pardus_desktop_apps_absent") or [])
    if both:
        problems.append(f"{host}: {', '.join(sorted(both))} both wanted and forbidden (pardus_desktop_apps_absent)")
    problems += _printers(host, v.get("pardus_desktop_printers_by_site") or {})

    homepage = str(v.get("pardus_desktop_browser_homepage") or "")
    if homepage and (urlsplit(homepage).scheme not in ("http", "https") or not urlsplit(homepage).hostname):
        problems.append(f"{host}: pardus_desktop_browser_homepage {homepage!r} is not an http(s) URL")
    proxy = str(v.get("pardus_desktop_browser_proxy") or "")
    if proxy:
        name, _, port = proxy.rpartition(":")
        if not (port.isdigit() and 1 <= int(port) <= 65535) or _host_problem(name.strip("[]")):
            problems.append(f"{host}: pardus_desktop_browser_proxy {proxy!r} must be host:port")

    cert = str(v.get("pardus_desktop_ca_cert") or "")
    if cert and "-----BEGIN CERTIFICATE-----" not in cert:
        problems.append(f"{host}: pardus_desktop_ca_cert is not a PEM certificate")
    if not QUEUE.match(str(v.get("pardus_desktop_ca_name", ""))):
        problems.append(f"{host}: pardus_desktop_ca_name must be letters, digits, - or _")

    idle, delay = v.get("pardus_desktop_screenlock_idle_seconds"), v.get("pardus_desktop_screenlock_delay_seconds")
    if not (str(idle).isdigit() and 60 <= int(idle) <= 3600):
        problems.append(f"{host}: pardus_desktop_screenlock_idle_seconds must be 60 to 3600, not {idle}")
    if not (str(delay).isdigit() and 0 <= int(delay) <= 300):
        problems.append(f"{host}: pardus_desktop_screenlock_delay_seconds must be 0 to 300, not {delay}")

    if str(v.get("pardus_desktop_usb_storage_allowed", False)).lower() not in ("true", "false", "yes", "no", "1", "0"):
        problems.append(f"{host}: pardus_desktop_usb_storage_allowed must be true or false")
    for var in ("pardus_desktop_admin_groups", "pardus_desktop_admin_allowed"):
        for name in v.get(var) or []:
            if not ACCOUNT.match(str(name)) or str(name) == "root":
                problems.append(f"{host}: {var}: {name!r} is not a local account or group name (root is never listed)")

    if str(v.get("pardus_desktop_pull_enabled", False)).lower() in ("true", "yes", "1"):
        problems += _pull_problems(host, v)
    return problems


def pardus_desktop_admin_removals(getent_group, groups, allowed):
    """The {group, user} pairs to remove from the local administrator groups (see the module docstring)."""
    removals = []
    for group in groups:
        entry = (getent_group or {}).get(group)
        if not entry or len(entry) < 3:
            continue
        members = [m for m in str(entry[2] or "").split(",") if m]
        removals += [{"group": group, "user": m} for m in sorted(members) if m not in set(allowed or [])]
    return removals


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {
            "pardus_desktop_problems": pardus_desktop_problems,
            "pardus_desktop_admin_removals": pardus_desktop_admin_removals,
        }

"""Filters for the devices driven from the control node: cameras, PDKS terminals, X-ray scanners.

``device_problems(values, family, host, today=None)``
    The cross-field checks of one device's inventory values (``family``: cameras, pdks_terminals or
    xray_scanners), run by playbooks/validate.yml after the family's argument spec
    (playbooks/specs/<family>.yml) has checked types and choices. Returns a list of messages, each
    naming the host and the variable; an empty list means the values are sound. Addresses are
    checked with netaddr. Secrets (passwords, the comm key) are checked, never quoted.

``pdks_terminal_staff(staff, site, today=None)``
    The HR staff list turned into the users of one PDKS attendance terminal (below).

The HR export (``pdks_hr_staff``, vaulted: names and card numbers are personal data under KVKK)
lists everyone who may punch, once, for the whole municipality. A terminal holds the people of its
own site: an entry with ``sites`` (a list of ``ipplan.sites`` keys) goes to the terminals of those
sites, an entry without ``sites`` to every terminal (e.g. the directorate's administrators). An
entry whose ``until`` (last working day, YYYY-MM-DD) has passed is left out, so a leaver is removed
from every terminal by the next run even before HR deletes the row.

Filter:

``pdks_terminal_staff(staff, site, today=None)``
    The entries for a terminal at ``site``, each cut to the keys the ``pdks_users`` module takes
    (sicil, name, privilege, card, password). ``today`` is a date or YYYY-MM-DD (default: today).
    A malformed list raises AnsibleFilterError naming the entry by its position and sicil, never by
    the person's name.
"""

from __future__ import annotations

import datetime as dt
import re

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPAddress
except ImportError:  # reported as a problem, not a traceback
    IPAddress = None

MODULE_KEYS = ("sicil", "name", "privilege", "card", "password")
HR_KEYS = set(MODULE_KEYS) | {"sites", "until", "directorate"}


def _date(value, what):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise AnsibleFilterError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def terminal_staff(staff, site, today=None):
    """The staff list's users for a terminal at ``site`` (see the module docstring)."""
    if not isinstance(staff, list):
        raise AnsibleFilterError(f"pdks_hr_staff: expected a list of staff entries, got {type(staff).__name__}")
    today = _date(today, "today") if today is not None else dt.date.today()
    seen, users = set(), []
    for index, entry in enumerate(staff, start=1):
        if not isinstance(entry, dict):
            raise AnsibleFilterError(f"pdks_hr_staff entry {index}: expected a mapping, got {type(entry).__name__}")
        sicil = str(entry.get("sicil", "")).strip()
        where = f"pdks_hr_staff entry {index} (sicil {sicil or '?'})"
        if not sicil.isdigit():
            raise AnsibleFilterError(f"{where}: sicil must be digits")
        if sicil in seen:
            raise AnsibleFilterError(f"{where}: sicil appears more than once")
        seen.add(sicil)
        unknown = sorted(set(entry) - HR_KEYS)
        if unknown:
            raise AnsibleFilterError(f"{where}: unknown keys {', '.join(unknown)}")
        sites = entry.get("sites")
        if sites is not None and not (isinstance(sites, list) and all(isinstance(s, str) for s in sites)):
            raise AnsibleFilterError(f"{where}: sites must be a list of site keys")
        if "until" in entry and _date(entry["until"], f"{where}: until") < today:
            continue
        if sites is not None and site not in sites:
            continue
        users.append({key: entry[key] for key in MODULE_KEYS if key in entry} | {"sicil": sicil})
    return users


HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _address_problem(value):
    """None if value is an IPv4/IPv6 address, else what is wrong."""
    if IPAddress is None:
        return "cannot be checked: the netaddr library is missing on the control node"
    try:
        IPAddress(str(value))
    except (AddrFormatError, ValueError, TypeError):
        return f"{value!r} is not an IP address"
    return None


def _names_problems(host, var, entries, also_reserved=()):
    """Account lists: every entry has a name, names are unique (case-insensitively), none is reserved."""
    problems, seen = [], set()
    for index, entry in enumerate(entries or [], start=1):
        name = str((entry or {}).get("name", "")).strip()
        if not name:
            problems.append(f"host {host}: {var} entry {index} has no name")
            continue
        if name.lower() in seen:
            problems.append(f"host {host}: {var}: account {name} is listed more than once")
        if name.lower() in {r.lower() for r in also_reserved if r}:
            problems.append(f"host {host}: {var}: account {name} is the administrator the modules log on as")
        seen.add(name.lower())
    return problems


def _camera_problems(host, v):
    problems = []
    policy = v.get("camera_firmware_policy")
    version = str(v.get("camera_firmware_version") or "")
    if policy in ("pinned", "minimum") and not re.search(r"\d", version):
        problems.append(
            f"host {host}: camera_firmware_version must name a version with numbers for policy {policy}"
            f" (got {version!r})"
        )
    problems += _names_problems(host, "camera_accounts", v.get("camera_accounts"), [v.get("camera_admin_user")])
    for server in v.get("camera_ntp_servers") or []:
        if _address_problem(server) and not HOSTNAME.match(str(server)):
            problems.append(f"host {host}: camera_ntp_servers: {server!r} is neither an IP address nor a host name")
    return problems


def _pdks_problems(host, v, today):
    problems = []
    key = v.get("pdks_comm_key")
    if key is not None and not (str(key).isdigit() and 0 <= int(key) <= 999999):
        problems.append(f"host {host}: pdks_comm_key must be a number from 0 to 999999 (value not shown)")
    if "pdks_hr_staff" in v:
        if not v.get("ipplan_site"):
            problems.append(f"host {host}: ipplan_site is not set, so the terminal's staff cannot be chosen")
        try:
            terminal_staff(v["pdks_hr_staff"], v.get("ipplan_site"), today)
        except AnsibleFilterError as exc:
            problems.append(f"host {host}: {exc.message}")
    return problems


def _xray_problems(host, v, today):
    problems = []
    if not str(v.get("xray_licence_number") or "").strip():
        problems.append(f"host {host}: xray_licence_number is empty; every scanner needs its NDK licence number")
    dates = {}
    for var in ("xray_licence_expires", "xray_maintenance_last"):
        if v.get(var) in (None, ""):
            problems.append(f"host {host}: {var} is not set")
            continue
        try:
            dates[var] = _date(v[var], var)
        except AnsibleFilterError as exc:
            problems.append(f"host {host}: {exc.message}")
    if dates.get("xray_maintenance_last") and dates["xray_maintenance_last"] > today:
        problems.append(f"host {host}: xray_maintenance_last {dates['xray_maintenance_last']} is in the future")
    interval = v.get("xray_maintenance_interval_days", 180)
    if not (str(interval).isdigit() and int(interval) > 0):
        problems.append(f"host {host}: xray_maintenance_interval_days must be a positive number of days")
    if v.get("xray_winrm_user"):
        plain = (
            str(v.get("xray_winrm_scheme", "https")) == "http" and str(v.get("xray_winrm_transport", "ntlm")) == "basic"
        )
        if plain and not v.get("xray_winrm_allow_plaintext", False):
            problems.append(
                f"host {host}: xray_winrm_transport basic over xray_winrm_scheme http sends the password readable;"
                " use https or ntlm/kerberos (xray_winrm_allow_plaintext: true only in a lab)"
            )
    problems += _names_problems(host, "xray_local_accounts", v.get("xray_local_accounts"), [v.get("xray_winrm_user")])
    return problems


FAMILIES = ("cameras", "pdks_terminals", "xray_scanners")


def device_problems(values, family, host, today=None):
    """Problems of one device's inventory values (see the module docstring)."""
    if family not in FAMILIES:
        raise AnsibleFilterError(f"device_problems: family must be one of {', '.join(FAMILIES)}, not {family!r}")
    today = _date(today, "today") if today is not None else dt.date.today()
    problems = []
    if "ansible_host" in values:
        wrong = _address_problem(values["ansible_host"])
        if wrong:
            problems.append(f"host {host}: ansible_host {wrong}")
    if family == "cameras":
        problems += _camera_problems(host, values)
    elif family == "pdks_terminals":
        problems += _pdks_problems(host, values, today)
    else:
        problems += _xray_problems(host, values, today)
    return problems


class FilterModule:
    """Ansible entry point: the device filters."""

    def filters(self) -> dict:
        return {"device_problems": device_problems, "pdks_terminal_staff": terminal_staff}

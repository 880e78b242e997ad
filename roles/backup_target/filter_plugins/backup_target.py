"""Filters of the backup_target role: the input checks of tasks/assert.yml and the values the role
derives from the inventory (the clients' repositories, retention and htpasswd salts).

Every filter is a pure function: nothing here reads facts or touches a host. The ``*_problems``
filters return a list of messages, each naming the host, the variable and what is wrong (an empty
list means the input is sound); assert.yml joins them into one failure. Secrets (HTTP and
repository passwords, the salt key, the target's key) are read but never quoted. The TLS
certificate, key and CA are checked by the repository's ``pki_tls_problems`` filter
(plugins/filter/pki.py).

Filters:

``backup_target_problems(inputs, host='')``
    Check the listen address (netaddr), the port, the paths, the calendars, the tape settings, the
    target's own secrets and every client: its name (an htpasswd user and a path segment), its two
    passwords and its retention.
``backup_target_clients(names, hostvars, default_retention, with_secrets=False)``
    One row per client, sorted by name: ``name``, ``retention`` (the client's
    ``backup_client_retention`` over the default) and, only when asked for, ``http_password`` and
    ``repository_password``.
``backup_target_salt(user, key)``
    A stable 22-character bcrypt salt for one htpasswd user: HMAC-SHA256 of the user name under the
    vault secret ``key``, its first 16 bytes written in bcrypt's base64 alphabet. Never derived
    from the password, so that a second run writes the same hash and a changed password a new one.

Example (tasks/assert.yml)::

    - name: Clients, paths, calendars and tape settings are valid
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ __backup_target_inputs | backup_target_problems(inventory_hostname) }}"
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPAddress
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

# A client's name is its htpasswd user and the first segment of its repository's URL path.
CLIENT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$")
LABEL_PREFIX_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
SECRET_MIN = 16
RETENTION_LIMITS = {"daily": 3660, "weekly": 520, "monthly": 240, "yearly": 100}
# Directories that must never become the repositories' root or the tape's file.
SYSTEM_DIRS = frozenset({"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/proc", "/root", "/run", "/sbin",
                         "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/var/tmp"})  # noqa: S108  # fmt: skip
BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _who(host: str, key: str) -> str:
    return f"{host}: {key}" if host else key


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r} ({type(value).__name__})"


def _as_int(value: object) -> int | None:
    """An int from an int or a string of digits (inventory values arrive as either); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value)
    return None


def _one_line(value: object) -> bool:
    return isinstance(value, str) and value.strip() != "" and "\n" not in value and "\r" not in value


# --- input checks --------------------------------------------------------------------------------


def _address_problems(value: object, host: str) -> list[str]:
    where = _who(host, "backup_target_listen_address")
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"backup_target: the netaddr Python library is required: {NETADDR_IMPORT_ERROR}")
    if not isinstance(value, str) or not value:
        return [f"{where} must be an IP address such as 10.50.0.13 or 0.0.0.0 (all addresses), got {_show(value)}"]
    try:
        address = IPAddress(value)
    except (AddrFormatError, ValueError, TypeError):
        return [f"{where}: {_show(value)} is not an IP address (a name cannot be listened on)"]
    if address.is_multicast():
        return [f"{where}: {value} is a multicast address"]
    return []


def _int_problems(inputs: Mapping, key: str, low: int, high: int, host: str) -> list[str]:
    value = _as_int(inputs.get(key))
    if value is None:
        return [f"{_who(host, key)} must be a whole number, got {_show(inputs.get(key))}"]
    if not low <= value <= high:
        return [f"{_who(host, key)} must be from {low} to {high}, got {value}"]
    return []


def _path_problems(inputs: Mapping, key: str, host: str, allow_empty: bool = False) -> list[str]:
    value = inputs.get(key)
    if allow_empty and value == "":
        return []
    if not isinstance(value, str) or not PATH_RE.match(value) or "/../" in value + "/" or "//" in value:
        return [f"{_who(host, key)} must be an absolute path without '..', got {_show(value)}"]
    if value in SYSTEM_DIRS:
        return [f"{_who(host, key)} must not be the system directory {value}"]
    return []


def _secret_problems(inputs: Mapping, key: str, host: str, why: str) -> list[str]:
    value = inputs.get(key)
    if not isinstance(value, str) or len(value) < SECRET_MIN or not _one_line(value):
        # The value itself is never shown.
        return [f"{_who(host, key)} must be one line of at least {SECRET_MIN} characters (from the vault): {why}"]
    return []


def _retention_problems(value: object, where: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{where} must be a mapping such as {{daily: 7, weekly: 4, monthly: 12}}, got {_show(value)}"]
    problems = []
    unknown = sorted(set(value) - set(RETENTION_LIMITS))
    if unknown:
        problems.append(
            f"{where} has unknown keys {', '.join(map(str, unknown))} (known: daily, weekly, monthly, yearly)"
        )
    total = 0
    for key, limit in RETENTION_LIMITS.items():
        if key not in value:
            continue
        number = _as_int(value[key])
        if number is None or not 0 <= number <= limit:
            problems.append(f"{where}.{key} must be a whole number from 0 to {limit}, got {_show(value[key])}")
        else:
            total += number
    if not problems and total == 0:
        problems.append(f"{where} keeps nothing: at least one of daily, weekly, monthly, yearly must be above 0")
    return problems


def _client_problems(clients: object, host: str) -> list[str]:
    where = _who(host, "backup_target_client_names")
    if not isinstance(clients, list):
        return [f"{where} must be a list of rows from backup_target_clients, got {_show(clients)}"]
    problems = []
    seen = set()
    for row in clients:
        name = row.get("name") if isinstance(row, Mapping) else None
        if not isinstance(name, str) or not CLIENT_RE.match(name):
            problems.append(
                f"{where}: client {_show(name)} is not a lower-case host name (letters, digits, '.', '_', '-'):"
                " it becomes the client's htpasswd user and the name of its repository"
            )
            continue
        if name in seen:
            problems.append(f"{where}: client {name} is listed twice")
        seen.add(name)
        for key in ("backup_client_http_password", "backup_client_repository_password"):
            value = row.get(key.removeprefix("backup_client_"))
            if not isinstance(value, str) or len(value) < SECRET_MIN or not _one_line(value):
                problems.append(
                    f"{host + ': ' if host else ''}client {name}: {key} must be one line of at least {SECRET_MIN}"
                    " characters (in the client's vault variables)"
                )
        problems += _retention_problems(row.get("retention"), f"{host + ': ' if host else ''}client {name}: retention")
    return problems


def _calendar_problems(inputs: Mapping, key: str, host: str) -> list[str]:
    value = inputs.get(key)
    if not _one_line(value) or not re.fullmatch(r"[A-Za-z0-9 ,.:*/~+-]+", value):
        return [
            f"{_who(host, key)} must be a systemd calendar expression such as 'Sun *-*-* 06:00:00', got {_show(value)}"
        ]
    return []


def _tape_problems(inputs: Mapping, host: str) -> list[str]:
    problems = []
    device = inputs.get("backup_target_tape_device")
    if not isinstance(device, str) or not PATH_RE.match(device) or "/../" in device + "/":
        problems.append(
            f"{_who(host, 'backup_target_tape_device')} must be an absolute path such as /dev/nst0 (or a file in the"
            f" lab), got {_show(device)}"
        )
    elif device.startswith("/dev/") and not re.match(r"^/dev/(nst|nsa|tape/by-id/.*-nst)", device):
        problems.append(
            f"{_who(host, 'backup_target_tape_device')} {device} is not a non-rewinding tape device (/dev/nstN or"
            " /dev/tape/by-id/...-nst): the tool rewinds the tape itself, and a rewinding device loses the position"
        )
    elif not device.startswith("/dev/") and device.rstrip("/").rsplit("/", 1)[0] in ("", *SYSTEM_DIRS):
        problems.append(
            f"{_who(host, 'backup_target_tape_device')}: a file-backed tape must live in a directory of its own,"
            f" not in {device.rsplit('/', 1)[0] or '/'}"
        )
    changer = inputs.get("backup_target_tape_changer")
    if changer != "" and (not isinstance(changer, str) or not re.match(r"^/dev/[A-Za-z0-9/._-]+$", changer)):
        problems.append(
            f"{_who(host, 'backup_target_tape_changer')} must be empty (no changer) or a device such as /dev/sg3,"
            f" got {_show(changer)}"
        )
    problems += _int_problems(inputs, "backup_target_tape_slot", 1, 9999, host)
    block = _as_int(inputs.get("backup_target_tape_block_size"))
    if block is None or block % 512 or not 10240 <= block <= 1048576:
        problems.append(
            f"{_who(host, 'backup_target_tape_block_size')} must be a multiple of 512 from 10240 to 1048576 bytes,"
            f" got {_show(inputs.get('backup_target_tape_block_size'))}"
        )
    prefix = inputs.get("backup_target_tape_label_prefix")
    if not isinstance(prefix, str) or not LABEL_PREFIX_RE.match(prefix):
        problems.append(
            f"{_who(host, 'backup_target_tape_label_prefix')} must be 1 to 16 upper-case letters, digits or '-',"
            f" got {_show(prefix)}"
        )
    repos = inputs.get("backup_target_tape_repositories")
    names = {r.get("name") for r in inputs.get("backup_target_clients") or [] if isinstance(r, Mapping)}
    if not isinstance(repos, list):
        problems.append(
            f"{_who(host, 'backup_target_tape_repositories')} must be a list of client names (empty: all),"
            f" got {_show(repos)}"
        )
    else:
        for repo in repos:
            if repo not in names:
                problems.append(
                    f"{_who(host, 'backup_target_tape_repositories')} names {_show(repo)}, which is not a client of"
                    " this target (group backup_clients or backup_target_client_names)"
                )
    problems += _calendar_problems(inputs, "backup_target_tape_on_calendar", host)
    return problems


def backup_target_problems(inputs: Mapping, host: str = "") -> list[str]:
    """Problems of the role's inputs; an empty list means they are sound.

    ``backup_target_clients`` holds the rows of ``backup_target_clients(..., with_secrets=True)``.
    """
    problems = _address_problems(inputs.get("backup_target_listen_address"), host)
    problems += _int_problems(inputs, "backup_target_port", 1024, 65535, host)
    problems += _int_problems(inputs, "backup_target_htpasswd_rounds", 4, 12, host)
    problems += _path_problems(inputs, "backup_target_data_dir", host)
    problems += _client_problems(inputs.get("backup_target_clients"), host)
    problems += _retention_problems(
        inputs.get("backup_target_default_retention"), _who(host, "backup_target_default_retention")
    )
    problems += _secret_problems(
        inputs, "backup_target_htpasswd_salt_key", host, "the htpasswd hashes' stable salts are derived from it"
    )
    problems += _secret_problems(
        inputs, "backup_target_prune_password", host, "the target's own key in every repository, used for pruning"
    )
    group_by = inputs.get("backup_target_prune_group_by")
    if not isinstance(group_by, str) or not re.fullmatch(r"(host|paths|tags)(,(host|paths|tags))*", group_by):
        problems.append(
            f"{_who(host, 'backup_target_prune_group_by')} must be a comma-separated list of host, paths and tags,"
            f" got {_show(group_by)}"
        )
    problems += _calendar_problems(inputs, "backup_target_prune_on_calendar", host)
    if inputs.get("backup_target_tape_enabled") in (True, "true", "True", "yes", "1", 1):
        problems += _tape_problems(inputs, host)
    return problems


# --- derived values ------------------------------------------------------------------------------


def _lookup(vars_of_host: object, key: str, default: object) -> object:
    # Membership first: Ansible's hostvars answer an unknown key with an Undefined, not a KeyError.
    try:
        value = vars_of_host[key] if key in vars_of_host else default  # noqa: SIM401 - .get() would give Undefined
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def backup_target_clients(names: object, hostvars: object, default_retention: Mapping, with_secrets: bool = False):
    """One row per client: name and retention, and the two passwords only when ``with_secrets``.

    ``hostvars`` is Ansible's hostvars (or any mapping of host name to its variables). A client
    without ``backup_client_retention`` keeps ``default_retention``; one that sets only some keys
    gets the others from the default.
    """
    if not isinstance(names, list):
        raise AnsibleFilterError(f"backup_target_clients: expected a list of client names, got {_show(names)}")
    rows = []
    for name in names:
        try:
            own = hostvars[name] if name in hostvars else {}  # noqa: SIM401 - as in _lookup
        except (KeyError, TypeError):
            own = {}
        retention = dict(default_retention or {})
        given = _lookup(own, "backup_client_retention", {})
        if isinstance(given, Mapping):
            retention.update(given)
        else:
            retention = given  # reported by backup_target_problems
        row = {"name": name, "retention": retention}
        if with_secrets:
            row["http_password"] = _lookup(own, "backup_client_http_password", "")
            row["repository_password"] = _lookup(own, "backup_client_repository_password", "")
        rows.append(row)
    return sorted(rows, key=lambda r: str(r["name"]))


def backup_target_salt(user: object, key: object) -> str:
    """A stable bcrypt salt (22 characters) for one htpasswd user, from the vault secret and the user name."""
    if not isinstance(user, str) or not user or not isinstance(key, str) or not key:
        raise AnsibleFilterError("backup_target_salt: needs the user name and a non-empty salt key (run assert.yml)")
    digest = hmac.new(key.encode(), user.encode(), hashlib.sha256).digest()[:16]
    number = int.from_bytes(digest, "big") << 4  # 128 bits and 4 zero padding bits: 22 characters of 6 bits
    return "".join(BCRYPT_ALPHABET[(number >> shift) & 63] for shift in range(126, -1, -6))


class FilterModule:
    """Filters of the backup_target role."""

    def filters(self):
        return {
            "backup_target_problems": backup_target_problems,
            "backup_target_clients": backup_target_clients,
            "backup_target_salt": backup_target_salt,
        }

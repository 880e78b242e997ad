"""Filters of role ``backup_client``: check its inputs and its secrets.

Both are pure functions; nothing here reads facts or touches a host. They never raise on bad input:
they return a list of messages, each naming the host, the variable and what is wrong, and an empty
list when the inputs are sound (tasks/assert.yml joins them into one failure). Secrets are read,
never quoted in a message.

Filters:

``backup_client_problems(inputs, host='')``
    Check the role's variables, given as one mapping (``__backup_client_inputs`` in vars/main.yml):
    a target to send to, absolute plain paths (the dump folder outside nothing it must not be in),
    database lists, whole numbers within their ranges, plausible calendar expressions (the host
    checks them again with ``systemd-analyze calendar``) and the retention the target keeps.
``backup_client_secret_problems(http_password, repository_password, ca_cert, host='')``
    Both passwords present, one line, long enough and different from each other; the CA a PEM
    certificate.

Example (roles/backup_client/tasks/assert.yml)::

    - name: The backup inputs are sound
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ __backup_client_inputs | backup_client_problems(inventory_hostname) }}"
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PATH_RE = re.compile(r"^/[A-Za-z0-9._+@:/ -]*$")
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_RE = re.compile(rf"^([0-9a-fA-F:.]+|{LABEL}(\.{LABEL})*)$")
DB_NAME_RE = re.compile(r"^[^\x00-\x1f/\\]{1,63}$")
CALENDAR_WORDS = frozenset(
    ["minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually"]
)
CALENDAR_RE = re.compile(r"^[A-Za-z0-9*:.,/~ _+-]+$")
WEEKDAYS = frozenset(
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday", "thursday", "friday",
     "saturday", "sunday"]
)  # fmt: skip
RANGES = {
    "backup_client_target_port": (1, 65535),
    "backup_client_randomized_delay_sec": (0, 86400),
    "backup_client_timeout_hours": (1, 72),
    "backup_client_max_age_hours": (1, 8760),
    "backup_client_restore_sample": (1, 10000),
}
# As role backup_target accepts them (restic forget --keep-*); a key left out comes from the target's default.
RETENTION_LIMITS = {"daily": 3660, "weekly": 520, "monthly": 240, "yearly": 100}
ENGINES = ("postgresql", "mariadb")
# Folders whose backup would be pointless or harmful as a whole, or where the dumps must not go.
SYSTEM_DIRS = frozenset(["/", "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/usr", "/bin", "/sbin", "/lib"])  # noqa: S108
MAIL_RE = re.compile(r"^[A-Za-z0-9._+-]+(@[A-Za-z0-9.-]+)?$")


def _prefix(host: str) -> str:
    return f"{host}: " if host else ""


def path_problem(value) -> str | None:
    """Why value is not a plain absolute path, or None."""
    if not isinstance(value, str) or not PATH_RE.match(value):
        return f"must be an absolute path of plain characters, not {value!r}"
    if value != "/" and value.endswith("/"):
        return f"must not end in '/': {value!r}"
    if any(part in (".", "..") for part in value.split("/")) or "//" in value:
        return f"must be a normalised path, not {value!r}"
    return None


def calendar_problem(value) -> str | None:
    """Why value cannot be a systemd calendar expression, or None (a plausibility check only)."""
    if not isinstance(value, str) or not value.strip():
        return f"must be a systemd calendar expression such as '*-*-* 01:30:00' or 'daily', not {value!r}"
    text = value.strip()
    if text.lower() in CALENDAR_WORDS:
        return None
    if not CALENDAR_RE.match(text):
        return f"is not a systemd calendar expression (characters outside A-Z 0-9 * : . , / ~ - +): {value!r}"
    bad = [w for w in re.split(r"[ ,.]+", text) if w.isalpha() and w.lower() not in WEEKDAYS and w.upper() != "UTC"]
    if bad:
        return f"is not a systemd calendar expression (unknown word {bad[0]!r}): {value!r}"
    if not re.search(r"[0-9*]", text):
        return f"names no date or time: {value!r}"
    return None


def _whole(value, low: int, high: int) -> bool:
    if isinstance(value, bool):
        return False
    text = str(value).strip()
    return text.isdigit() and low <= int(text) <= high


def _under(path: str, parent: str) -> bool:
    return parent == "/" or path == parent or path.startswith(parent + "/")


def backup_client_problems(inputs, host: str = "") -> list[str]:
    """Every problem of the role's inputs, each naming the host and the variable; [] when sound."""
    p = _prefix(host)
    if not isinstance(inputs, Mapping):
        return [f"{p}the backup_client inputs must be a mapping, not {type(inputs).__name__}"]
    problems: list[str] = []

    target = inputs.get("backup_client_target")
    if not target:
        problems.append(
            f"{p}backup_client_target is empty and group backup_targets has no host: name the backup target"
        )
    address = inputs.get("backup_client_target_address")
    if target and (not isinstance(address, str) or not HOST_RE.match(address or "")):
        problems.append(
            f"{p}backup_client_target_address must be a host name or address in the target's certificate, "
            f"not {address!r}"
        )

    for key, (low, high) in RANGES.items():
        value = inputs.get(key)
        if not _whole(value, low, high):
            problems.append(f"{p}{key} must be a whole number from {low} to {high}, not {value!r}")

    good_paths: list[str] = []
    for key in ("backup_client_paths", "backup_client_exclude"):
        values = inputs.get(key)
        if not isinstance(values, list):
            problems.append(f"{p}{key} must be a list, not {values!r}")
            continue
        for i, value in enumerate(values):
            if key == "backup_client_exclude":
                if not isinstance(value, str) or not value.strip() or "\n" in value:
                    problems.append(f"{p}{key}[{i}] must be a restic exclude pattern such as /srv/*/tmp, not {value!r}")
                continue
            why = path_problem(value)
            if why:
                problems.append(f"{p}{key}[{i}] {why}")
            elif value in SYSTEM_DIRS:
                problems.append(f"{p}{key}[{i}] is {value}: back up the folders that hold data, not a system tree")
            else:
                good_paths.append(value)
        if key == "backup_client_paths" and isinstance(values, list) and not values:
            problems.append(f"{p}backup_client_paths must name at least one folder")

    databases = inputs.get("backup_client_databases")
    any_db = False
    if not isinstance(databases, Mapping):
        problems.append(
            f"{p}backup_client_databases must be a mapping of postgresql and mariadb lists, not {databases!r}"
        )
    else:
        for engine in sorted(set(databases) - set(ENGINES)):
            problems.append(f"{p}backup_client_databases.{engine} is not a supported engine (postgresql, mariadb)")
        for engine in ENGINES:
            names = databases.get(engine) or []
            if not isinstance(names, list):
                problems.append(f"{p}backup_client_databases.{engine} must be a list of database names, not {names!r}")
                continue
            any_db = any_db or bool(names)
            for i, name in enumerate(names):
                if not isinstance(name, str) or not DB_NAME_RE.match(name):
                    problems.append(f"{p}backup_client_databases.{engine}[{i}] is not a database name: {name!r}")
            if "all" in names and len(names) > 1:
                problems.append(f"{p}backup_client_databases.{engine} names 'all' and single databases; choose one")

    dump_dir = inputs.get("backup_client_dump_dir")
    why = path_problem(dump_dir)
    if why:
        problems.append(f"{p}backup_client_dump_dir {why}")
    elif any(_under(dump_dir, s) for s in SYSTEM_DIRS - {"/"}) or dump_dir == "/":
        problems.append(f"{p}backup_client_dump_dir must not be in a system or temporary tree: {dump_dir!r}")
    elif any_db and dump_dir.count("/") < 2:
        problems.append(f"{p}backup_client_dump_dir must be a dedicated folder such as /var/backups/belediye/db")

    scratch = inputs.get("backup_client_restore_scratch_dir")
    why = path_problem(scratch)
    if why:
        problems.append(f"{p}backup_client_restore_scratch_dir {why}")
    elif scratch == "/" or scratch.count("/") < 2 or scratch in SYSTEM_DIRS:
        problems.append(f"{p}backup_client_restore_scratch_dir must be a dedicated folder, not {scratch!r}")
    else:
        for path in good_paths:
            if _under(scratch, path) or _under(path, scratch):
                problems.append(
                    f"{p}backup_client_restore_scratch_dir ({scratch}) must be outside the backed-up path {path}"
                )

    for key in ("backup_client_on_calendar", "backup_client_restore_verify_on_calendar"):
        why = calendar_problem(inputs.get(key))
        if why:
            problems.append(f"{p}{key} {why}")

    retention = inputs.get("backup_client_retention")
    if not isinstance(retention, Mapping):
        problems.append(
            f"{p}backup_client_retention must be a mapping of daily, weekly, monthly (and yearly), not {retention!r}"
        )
    else:
        for key in sorted(set(retention) - set(RETENTION_LIMITS), key=str):
            problems.append(f"{p}backup_client_retention.{key} is not known (daily, weekly, monthly, yearly)")
        given = {k: retention[k] for k in RETENTION_LIMITS if k in retention}
        for key, value in given.items():
            if not _whole(value, 0, RETENTION_LIMITS[key]):
                problems.append(
                    f"{p}backup_client_retention.{key} must be a whole number from 0 to {RETENTION_LIMITS[key]}, "
                    f"not {value!r}"
                )
        complete = all(k in given for k in ("daily", "weekly", "monthly"))
        if complete and all(_whole(v, 0, 100000) and int(v) == 0 for v in given.values()):
            problems.append(
                f"{p}backup_client_retention keeps nothing: "
                "at least one of daily, weekly, monthly, yearly must be above 0"
            )

    mail = inputs.get("backup_client_alarm_mail_to")
    if mail not in ("", None) and (not isinstance(mail, str) or not MAIL_RE.match(mail)):
        problems.append(
            f"{p}backup_client_alarm_mail_to must be an address such as root or yedek@ornek.bel.tr, not {mail!r}"
        )
    return problems


def backup_client_secret_problems(http_password, repository_password, ca_cert, host: str = "") -> list[str]:
    """Problems of the secrets and the CA, naming the variable, never the value."""
    p = _prefix(host)
    problems = []
    for key, value, minimum in (
        ("backup_client_http_password", http_password, 16),
        ("backup_client_repository_password", repository_password, 20),
    ):
        if not isinstance(value, str) or not value:
            problems.append(f"{p}{key} is not set: put it in the vault")
        elif "\n" in value or "\r" in value or value != value.strip():
            problems.append(f"{p}{key} must be one line without leading or trailing spaces")
        elif len(value) < minimum:
            problems.append(f"{p}{key} is too short: at least {minimum} characters")
    if isinstance(http_password, str) and http_password and http_password == repository_password:
        problems.append(f"{p}backup_client_http_password and backup_client_repository_password must differ")
    if (
        not isinstance(ca_cert, str)
        or "-----BEGIN CERTIFICATE-----" not in ca_cert
        or "-----END CERTIFICATE-----" not in ca_cert
    ):
        problems.append(
            f"{p}backup_client_tls_ca_cert must be the PEM certificate of the CA that issued the target's certificate"
        )
    return problems


class FilterModule:
    def filters(self):
        return {
            "backup_client_problems": backup_client_problems,
            "backup_client_secret_problems": backup_client_secret_problems,
        }

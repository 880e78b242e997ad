"""Filters of role ``antivirus``: check its inputs, and turn paths into clamd's exclusion patterns.

Both are pure functions; nothing here reads facts or touches a host. ``antivirus_problems`` never
raises on bad input: it returns a list of messages, each naming the host, the variable and what is
wrong, and an empty list when the inputs are sound (tasks/assert.yml joins them into one failure).

Filters:

``antivirus_problems(inputs, host='')``
    Check the role's variables, given as one mapping (``__antivirus_inputs`` in vars/main.yml):
    URLs are http(s) with a host (and a database file name for custom databases), paths absolute
    and plain, numbers within their ranges, the calendar expression plausible (the host checks it
    again with ``systemd-analyze calendar``), the quarantine outside the scanned paths.
``antivirus_path_regex(path)``
    clamd's ``ExcludePath`` regular expression for a path and everything under it:
    ``/srv/yedek`` -> ``^/srv/yedek(/|$)``.

Example (roles/antivirus/tasks/assert.yml)::

    - name: The antivirus inputs are sound
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ __antivirus_inputs | antivirus_problems(inventory_hostname) }}"
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

# Database files clamd loads (docs.clamav.net, "Signature Writing"), by extension.
DATABASE_EXTENSIONS = frozenset(
    [
        "cud",
        "cvd",
        "cld",
        "ndb",
        "ndu",
        "ldb",
        "ldu",
        "hdb",
        "hdu",
        "hsb",
        "hsu",
        "mdb",
        "mdu",
        "msb",
        "msu",
        "ndb",
        "cdb",
        "cfg",
        "crb",
        "cat",
        "fp",
        "sfp",
        "ftm",
        "idb",
        "ign",
        "ign2",
        "info",
        "pdb",
        "gdb",
        "wdb",
        "yar",
        "yara",
        "pwdb",
    ]
)
# A plain absolute path: no spaces, quotes, glob or shell characters, no "." or ".." parts.
PATH_RE = re.compile(r"^/[A-Za-z0-9._+@:/-]*$")
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST_RE = re.compile(rf"^([0-9a-f:.]+|{LABEL}(\.{LABEL})*)$")
# systemd calendar shorthands and the characters a calendar expression is made of.
CALENDAR_WORDS = frozenset(
    ["minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually"]
)
CALENDAR_RE = re.compile(r"^[A-Za-z0-9*:.,/~ _+-]+$")
WEEKDAYS = frozenset(
    [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
RANGES = {
    "antivirus_freshclam_checks": (1, 50),
    "antivirus_database_wait_seconds": (10, 3600),
    "antivirus_max_signature_age_hours": (1, 8760),
    "antivirus_scan_randomized_delay_sec": (0, 86400),
}
PATH_LISTS = ("antivirus_scan_paths", "antivirus_scan_exclude", "antivirus_onaccess_paths")


def _prefix(host: str) -> str:
    return f"{host}: " if host else ""


def url_problem(value) -> str | None:
    """Why value is not an http(s) URL with a host, or None."""
    if not isinstance(value, str) or not value:
        return f"must be an http:// or https:// URL, not {value!r}"
    if any(c.isspace() for c in value):
        return f"must be a URL without spaces, not {value!r}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"must be an http:// or https:// URL, not {value!r}"
    try:
        port = parts.port
    except ValueError:
        return f"has a bad port: {value!r}"
    if port == 0 or not parts.hostname or not HOST_RE.match(parts.hostname):
        return f"has no valid host name: {value!r}"
    if parts.username or parts.password:
        return f"must not carry credentials: {value!r}"
    return None


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
        return f"must be a systemd calendar expression such as '*-*-* 03:00:00' or 'daily', not {value!r}"
    text = value.strip()
    if text.lower() in CALENDAR_WORDS:
        return None
    if not CALENDAR_RE.match(text):
        return f"is not a systemd calendar expression (characters outside A-Z 0-9 * : . , / ~ - +): {value!r}"
    words = [w for w in re.split(r"[ ,.]+", text) if w.isalpha()]
    bad = [w for w in words if w.lower() not in WEEKDAYS and w.upper() != "UTC"]
    if bad:
        return f"is not a systemd calendar expression (unknown word {bad[0]!r}): {value!r}"
    if not re.search(r"[0-9*]", text):
        return f"names no date or time: {value!r}"
    return None


def _under(path: str, parent: str) -> bool:
    return parent == "/" or path == parent or path.startswith(parent + "/")


def antivirus_problems(inputs, host: str = "") -> list[str]:
    """Every problem of the role's inputs, each naming the host and the variable; [] when sound."""
    p = _prefix(host)
    if not isinstance(inputs, Mapping):
        return [f"{p}the antivirus inputs must be a mapping, not {type(inputs).__name__}"]
    problems: list[str] = []

    mirror = inputs.get("antivirus_private_mirror", "")
    if mirror not in ("", None):
        why = url_problem(mirror)
        if why:
            problems.append(f"{p}antivirus_private_mirror {why}")
        elif (urlsplit(mirror).hostname or "").lower().rstrip(".").endswith("clamav.net"):
            problems.append(
                f"{p}antivirus_private_mirror must be the organisation's own mirror, not a clamav.net host "
                f"(freshclam refuses it): {mirror!r}"
            )

    urls = inputs.get("antivirus_custom_database_urls", [])
    if not isinstance(urls, list):
        problems.append(f"{p}antivirus_custom_database_urls must be a list of URLs, not {urls!r}")
        urls = []
    names: dict[str, int] = {}
    for i, url in enumerate(urls):
        why = url_problem(url)
        if why:
            problems.append(f"{p}antivirus_custom_database_urls[{i}] {why}")
            continue
        name = posixpath.basename(urlsplit(url).path)
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in DATABASE_EXTENSIONS:
            problems.append(
                f"{p}antivirus_custom_database_urls[{i}] must end in a database file name such as belediye.cud "
                f"or belediye.ndb, not {url!r}"
            )
            continue
        if name.rsplit(".", 1)[0] in ("daily", "main", "bytecode", "safebrowsing", "test", "valhalla"):
            problems.append(
                f"{p}antivirus_custom_database_urls[{i}] uses the name of an official database ({name}); "
                "give the custom database a name of its own"
            )
        if name in names:
            problems.append(
                f"{p}antivirus_custom_database_urls[{i}] has the same file name ({name}) as entry {names[name]}; "
                "one would overwrite the other"
            )
        names.setdefault(name, i)

    official = inputs.get("antivirus_official_databases", True)
    if str(official).lower() in ("false", "no", "0") and not urls:
        problems.append(
            f"{p}antivirus_official_databases is false, so antivirus_custom_database_urls must name at least one "
            "database: clamd cannot start without signatures"
        )

    for key, (low, high) in RANGES.items():
        value = inputs.get(key)
        try:
            number = int(value)
            ok = str(value).strip().lstrip("-").isdigit() and low <= number <= high
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"{p}{key} must be a whole number from {low} to {high}, not {value!r}")

    paths_ok = {}
    for key in PATH_LISTS:
        values = inputs.get(key, [])
        if not isinstance(values, list):
            problems.append(f"{p}{key} must be a list of absolute paths, not {values!r}")
            continue
        good = []
        for i, value in enumerate(values):
            why = path_problem(value)
            if why:
                problems.append(f"{p}{key}[{i}] {why}")
            else:
                good.append(value)
        paths_ok[key] = good
    if isinstance(inputs.get("antivirus_scan_paths"), list) and not inputs["antivirus_scan_paths"]:
        problems.append(f"{p}antivirus_scan_paths must name at least one path")

    quarantine = inputs.get("antivirus_quarantine_dir")
    why = path_problem(quarantine)
    if why:
        problems.append(f"{p}antivirus_quarantine_dir {why}")
    else:
        if quarantine == "/":
            problems.append(f"{p}antivirus_quarantine_dir must not be '/'")
        for scanned in paths_ok.get("antivirus_scan_paths", []) + paths_ok.get("antivirus_onaccess_paths", []):
            if _under(scanned, quarantine) or scanned == quarantine:
                problems.append(
                    f"{p}antivirus_quarantine_dir ({quarantine}) must not be or contain the scanned path {scanned}"
                )

    why = calendar_problem(inputs.get("antivirus_scan_on_calendar"))
    if why:
        problems.append(f"{p}antivirus_scan_on_calendar {why}")
    return problems


def antivirus_path_regex(path: str) -> str:
    """clamd's ExcludePath pattern (POSIX extended regular expression) for path and what is under it."""
    escaped = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", str(path).rstrip("/"))
    return f"^{escaped}(/|$)"


class FilterModule:
    def filters(self):
        return {"antivirus_problems": antivirus_problems, "antivirus_path_regex": antivirus_path_regex}

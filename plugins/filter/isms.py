"""Filters for the ISMS (BGYS) control catalogue: decide which controls a host enforces, check
inventory exceptions, and turn audit probes into one result line per control.

The catalogue is ``roles/isms_baseline/controls.yml``; its format and the exception format are
described in ``roles/isms_baseline/README.md``. Every filter is a pure function: "today" is an
argument, so a test can move the clock.

Filters:

``isms_exception_problems(exceptions, catalogue, host='')``
    Return a list of problems (strings) in a host's exceptions; empty means they are sound.
``isms_plan(catalogue, toggles, host_class, exceptions, today)``
    Return ``{control id: decision}``. A decision says whether the control applies to the host,
    whether the role enforces it, and which exception (if any) covers it, active or expired.
``isms_toggle_problems(catalogue, values, host='')``, ``isms_range_problems(ranges, host='')``,
``isms_name_list_problems(lists, host='')``, ``isms_sysctl_problems(settings, host='')``
    Input checks of the role's assert.yml, one call per kind instead of one task per item:
    each returns a list of messages naming the host, the variable and what is wrong.
``isms_ownership_drift(wanted, found, owner=None, group=None, mode=None)``
    Of the wanted owners and modes (mappings with path, owner, group, mode, or plain paths that
    take the keyword defaults), those whose file is among ``found`` (the ``files`` of
    ansible.builtin.find) and differs: what the role's file tasks still have to change.
``isms_results(plan, probes, mode)``
    Join the plan with the audit probe's outcome per control into result lines:
    pass, fail, exception or not_applicable, with a finding where an auditor must look.

Rules, in order:

* A control that does not apply to the host's class (server or desktop) is ``not_applicable``.
* Catalogue status ``exception`` is an organisation-wide exception: never enforced, reported as
  ``exception`` with the catalogue's note.
* An inventory exception that has not expired switches the control off on that host and is
  reported as ``exception`` with its justification, owner and expiry date.
* An expired inventory exception is ignored: the control is enforced again, and the audit line
  carries a finding saying that the exception expired.
* ``verify-only`` controls are checked by the audit but never changed by the role.
* ``opt-in`` controls are enforced only when their toggle is on; when it is off they are
  ``not_applicable`` (the SoA says why).
* A mandatory (``implemented``) control whose toggle is off without an exception is still
  audited, and the line carries a finding: switching a control off is never silent.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

CLASSES = ("server", "desktop")
STATUSES = ("implemented", "opt-in", "exception", "verify-only")
EXCEPTION_REQUIRED = ("justification", "owner", "expires")
EXCEPTION_OPTIONAL = ("talep",)
ID_RE = re.compile(r"^BGYS-[A-Z]{2,4}-\d{2}$")


def _date(value) -> datetime.date | None:
    """A date from YAML (already a date) or from an ISO string; None when it is neither."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _truthy(value) -> bool:
    """A toggle as Ansible's bool filter reads it: "false", "no", "0" and "off" are false."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on", "y", "t")
    return bool(value)


def _controls(catalogue) -> dict[str, Mapping]:
    if isinstance(catalogue, Mapping):
        catalogue = catalogue.get("controls")
    if not isinstance(catalogue, list):
        raise AnsibleFilterError("isms: the catalogue must be a list of controls (controls.yml: controls)")
    out = {}
    for control in catalogue:
        if not isinstance(control, Mapping) or not ID_RE.match(str(control.get("id", ""))):
            raise AnsibleFilterError(f"isms: catalogue entry {control!r} has no valid id (BGYS-XXX-NN)")
        if control.get("status") not in STATUSES:
            raise AnsibleFilterError(
                f"isms: control {control['id']} has status {control.get('status')!r}; expected one of {STATUSES}"
            )
        out[control["id"]] = control
    return out


def isms_exception_problems(exceptions, catalogue, host: str = "") -> list[str]:
    """Every problem in one host's exceptions, each naming the host, the control and the field."""
    where = f"{host}: " if host else ""
    if exceptions in (None, ""):
        return []
    if not isinstance(exceptions, Mapping):
        return [f"{where}isms_baseline_exceptions must be a mapping of control id to exception, not {exceptions!r}"]
    controls = _controls(catalogue)
    problems = []
    for cid, exc in exceptions.items():
        prefix = f"{where}isms_baseline_exceptions[{cid}]"
        if cid not in controls:
            problems.append(f"{prefix}: no control with this id in the catalogue")
            continue
        if not isinstance(exc, Mapping):
            problems.append(f"{prefix}: must be a mapping with {', '.join(EXCEPTION_REQUIRED)}")
            continue
        unknown = sorted(set(exc) - set(EXCEPTION_REQUIRED) - set(EXCEPTION_OPTIONAL))
        if unknown:
            problems.append(f"{prefix}: unknown keys {', '.join(unknown)}")
        for key in ("justification", "owner"):
            value = exc.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{prefix}.{key}: must be a non-empty text (an exception is never anonymous)")
        if "expires" not in exc:
            problems.append(f"{prefix}.expires: missing (every exception has an expiry date, YYYY-MM-DD)")
        elif _date(exc["expires"]) is None:
            problems.append(f"{prefix}.expires: {exc['expires']!r} is not a date (YYYY-MM-DD)")
        if controls[cid].get("status") == "exception":
            problems.append(f"{prefix}: the catalogue already lists this control as an organisation-wide exception")
    return problems


def merge_exceptions(sources) -> dict:
    """Merge a list of exception mappings (from several variables); a control excepted twice is an error."""
    merged: dict = {}
    if isinstance(sources, Mapping):
        sources = [sources]
    for source in sources:
        if not source:
            continue
        if not isinstance(source, Mapping):
            raise AnsibleFilterError(f"isms: exceptions must be mappings of control id to exception, not {source!r}")
        for cid, exc in source.items():
            if cid in merged and merged[cid] != exc:
                raise AnsibleFilterError(
                    f"isms: control {cid} has two different exceptions (isms_baseline_exceptions*): keep one"
                )
            merged[cid] = exc
    return merged


def _inventory_exception(exc: Mapping, expired: bool) -> dict:
    """An inventory exception as the plan and the report carry it."""
    return {
        "source": "inventory",
        "justification": exc["justification"],
        "owner": exc["owner"],
        "expires": _date(exc["expires"]).isoformat(),
        "talep": str(exc.get("talep", "")),
        "expired": expired,
    }


def isms_plan(catalogue, toggles, host_class, exceptions, today) -> dict:
    if host_class not in CLASSES:
        raise AnsibleFilterError(f"isms: host class must be one of {CLASSES}, not {host_class!r}")
    day = _date(today)
    if day is None:
        raise AnsibleFilterError(f"isms: today must be a date (YYYY-MM-DD), not {today!r}")
    controls = _controls(catalogue)
    exceptions = exceptions or {}
    problems = isms_exception_problems(exceptions, catalogue)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    toggles = toggles or {}
    plan = {}
    for cid, control in controls.items():
        status = control["status"]
        toggle = _truthy(toggles.get(cid, status in ("implemented", "verify-only")))
        applies = host_class in (control.get("applies_to") or CLASSES)
        decision = {
            "id": cid,
            "status": status,
            "applies": applies,
            "toggle": toggle,
            "enforce": False,
            "audit": applies,
            "exception": None,
            "finding": "",
            "reason": "",
        }
        exc = exceptions.get(cid)
        if not applies:
            decision["reason"] = f"applies to {', '.join(control.get('applies_to') or CLASSES)} hosts only"
        elif status == "exception":
            note = control.get("status_note") or {}
            decision["exception"] = {
                "source": "catalogue",
                "justification": note.get("en", "") if isinstance(note, Mapping) else str(note),
                "owner": "",
                "expires": "",
                "expired": False,
            }
        elif exc is not None and _date(exc["expires"]) >= day:
            decision["exception"] = _inventory_exception(exc, expired=False)
        else:
            expired_note = ""
            if exc is not None:
                decision["exception"] = _inventory_exception(exc, expired=True)
                expired_note = f"exception expired on {_date(exc['expires']).isoformat()}"
            if status == "opt-in" and not toggle:
                decision["audit"] = False
                decision["reason"] = "opt-in control, not switched on for this host"
                decision["finding"] = expired_note
            elif status == "verify-only":
                decision["reason"] = "verify-only: checked, not changed by this role"
                decision["finding"] = expired_note
            elif not toggle:
                off = f"switched off ({control.get('toggle', cid)}: false) without an exception"
                decision["finding"] = f"{expired_note}; {off}" if expired_note else off
            else:
                decision["enforce"] = True
                decision["finding"] = f"{expired_note}; control enforced again" if expired_note else ""
        plan[cid] = decision
    return plan


def isms_results(plan, probes, mode: str) -> list[dict]:
    """One audit line per control, from the plan and the probe's ``{id: {passed, evidence, mode}}``."""
    if not isinstance(plan, Mapping):
        raise AnsibleFilterError("isms_results: the plan must be the mapping made by isms_plan")
    probes = probes or {}
    lines = []
    for cid, decision in plan.items():
        probe = probes.get(cid) or {}
        line = {"id": cid, "result": "", "mode": "", "evidence": list(probe.get("evidence", []))}
        if decision.get("finding"):
            line["finding"] = decision["finding"]
        if decision.get("exception"):
            line["exception"] = dict(decision["exception"])
        if not decision["applies"] or not decision["audit"]:
            line["result"] = "not_applicable"
            line["reason"] = decision["reason"]
        elif decision["exception"] and not decision["exception"]["expired"]:
            line["result"] = "exception"
            line["mode"] = probe.get("mode", "catalogue") if probe else "catalogue"
        else:
            if not probe:
                line["result"] = "fail"
                line["finding"] = line.get("finding") or "no audit check ran for this control"
            else:
                line["result"] = "pass" if probe.get("passed") else "fail"
                line["mode"] = probe.get("mode", mode)
        lines.append(line)
    return lines


NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9@._+-]*$")
SYSCTL_KEY_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_*-]+)+$")
SYSCTL_VALUE_RE = re.compile(r"^[A-Za-z0-9 _.:-]+$")


def _where(host: str) -> str:
    return f"{host}: " if host else ""


def isms_toggle_problems(catalogue, values, host: str = "") -> list[str]:
    """Every control's toggle is named after its id and set to a boolean (values: toggle -> value)."""
    problems = []
    values = values or {}
    for cid, control in _controls(catalogue).items():
        toggle = control.get("toggle", "")
        if toggle != "isms_baseline_" + cid.lower().replace("-", "_"):
            problems.append(f"{_where(host)}control {cid} has toggle {toggle!r}; it must be named after its id")
            continue
        value = values.get(toggle, "(undefined)")
        if not (isinstance(value, bool) or str(value).strip().lower() in ("true", "false", "yes", "no")):
            problems.append(f"{_where(host)}{toggle} (toggle of {cid}) must be true or false, not {value!r}")
    return problems


def isms_range_problems(ranges, host: str = "") -> list[str]:
    """Each item {key, value, min, max}: the value is a whole number within [min, max]."""
    problems = []
    for item in ranges or []:
        try:
            number = int(str(item["value"]).strip())
        except ValueError:
            problems.append(f"{_where(host)}{item['key']} must be a whole number, not {item['value']!r}")
            continue
        if not item["min"] <= number <= item["max"]:
            problems.append(
                f"{_where(host)}{item['key']} is {number}; it must be between {item['min']} and {item['max']}"
            )
    return problems


def isms_name_list_problems(lists, host: str = "") -> list[str]:
    """Each item {key, value, empty_ok}: the value is a list of names (letters, digits, @ . _ + -)."""
    problems = []
    for item in lists or []:
        value = item["value"]
        if not isinstance(value, list):
            problems.append(f"{_where(host)}{item['key']} must be a list of names, not {value!r}")
            continue
        if not value and not item.get("empty_ok"):
            problems.append(f"{_where(host)}{item['key']} must not be empty")
        bad = [v for v in value if not isinstance(v, str) or not NAME_RE.match(v)]
        if bad:
            problems.append(f"{_where(host)}{item['key']} has invalid names {bad} (letters, digits, @ . _ + - only)")
    return problems


def isms_sysctl_problems(settings, host: str = "") -> list[str]:
    """A mapping of sysctl key to a number or word."""
    problems = []
    if not isinstance(settings, Mapping):
        return [f"{_where(host)}sysctl settings must be a mapping of key to value, not {settings!r}"]
    for key, value in settings.items():
        ok_value = isinstance(value, int) or (isinstance(value, str) and SYSCTL_VALUE_RE.match(value))
        if not isinstance(key, str) or not SYSCTL_KEY_RE.match(key) or not ok_value or isinstance(value, bool):
            problems.append(f"{_where(host)}sysctl setting '{key}: {value}' is not a valid key with a number or word")
    return problems


def _octal(mode, what: str) -> int:
    """A mode as the file module reads it: text is octal ("0640"), a number is the bits (0o640)."""
    if isinstance(mode, int) and not isinstance(mode, bool):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise AnsibleFilterError(f"isms_ownership_drift: {what} has mode {mode!r}, not an octal number") from None


def isms_ownership_drift(wanted, found, owner=None, group=None, mode=None) -> list:
    """The entries of `wanted` whose file exists (is in `found`) with another owner, group or mode."""
    by_path = {f["path"]: f for f in found or []}
    drift = []
    for entry in wanted or []:
        want = {"path": entry, "owner": owner, "group": group, "mode": mode}
        if isinstance(entry, Mapping):
            want = {**want, **entry}
        have = by_path.get(want["path"])
        if have is None:
            continue
        if (
            have.get("pw_name") != want["owner"]
            or have.get("gr_name") != want["group"]
            or _octal(have.get("mode"), want["path"]) != _octal(want["mode"], want["path"])
        ):
            drift.append(want if not isinstance(entry, Mapping) else entry)
    return drift


class FilterModule:
    def filters(self):
        return {
            "isms_exception_problems": isms_exception_problems,
            "isms_merge_exceptions": merge_exceptions,
            "isms_plan": isms_plan,
            "isms_results": isms_results,
            "isms_ownership_drift": isms_ownership_drift,
            "isms_toggle_problems": isms_toggle_problems,
            "isms_range_problems": isms_range_problems,
            "isms_name_list_problems": isms_name_list_problems,
            "isms_sysctl_problems": isms_sysctl_problems,
        }

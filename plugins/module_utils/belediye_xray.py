"""Pure functions behind the X-ray scanner modules (xray_snmp_facts, xray_compliance, xray_workstation).

Nothing here talks to a device: the modules read state, these functions shape it and compute the
difference, and the modules apply it. None of it reads or changes X-ray generator, conveyor or
detection settings; there is no interface for them and they are manual-only by policy.
"""

from __future__ import annotations

import csv
import datetime
import io
import json

STATUS_ORDER = ("ok", "due_soon", "overdue", "expired")

# --- licence (NDK) and maintenance -----------------------------------------------------------


class InventoryError(ValueError):
    """Inventory data of a scanner that cannot be evaluated; the message names the scanner."""


def parse_date(value, what, name):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InventoryError(f"X-ray scanner {name}: {what} {value!r} is not a date (YYYY-MM-DD)") from None


def scanner_status(scanner, today, warn_days=60):
    """Licence and maintenance status of one scanner from its inventory record.

    Returns a dict with status ok | due_soon | overdue | expired and the reasons. An expired NDK
    licence outranks overdue maintenance, which outranks anything due within warn_days.
    """
    name = scanner.get("name") or "(unnamed)"
    licence = scanner.get("licence") or {}
    maintenance = scanner.get("maintenance") or {}
    if not licence.get("expires"):
        raise InventoryError(f"X-ray scanner {name}: licence.expires is missing")
    if not maintenance.get("last") or not maintenance.get("interval_days"):
        raise InventoryError(f"X-ray scanner {name}: maintenance.last and maintenance.interval_days are required")
    try:
        interval = int(maintenance["interval_days"])
    except (TypeError, ValueError):
        raise InventoryError(f"X-ray scanner {name}: maintenance.interval_days must be a number") from None
    if interval <= 0:
        raise InventoryError(f"X-ray scanner {name}: maintenance.interval_days must be positive")
    expires = parse_date(licence["expires"], "licence.expires", name)
    last = parse_date(maintenance["last"], "maintenance.last", name)
    due = last + datetime.timedelta(days=interval)
    licence_left = (expires - today).days
    maintenance_left = (due - today).days
    # Every finding is a reason; the status is the worst of them.
    findings = []
    number = licence.get("number", "?")
    if licence_left < 0:
        findings.append(("expired", f"NDK licence {number} expired on {expires.isoformat()}"))
    elif licence_left <= warn_days:
        findings.append(("due_soon", f"NDK licence {number} expires on {expires.isoformat()}"))
    if maintenance_left < 0:
        findings.append(("overdue", f"maintenance overdue since {due.isoformat()} ({-maintenance_left} days)"))
    elif maintenance_left <= warn_days:
        findings.append(("due_soon", f"maintenance due on {due.isoformat()}"))
    findings.sort(key=lambda finding: -STATUS_ORDER.index(finding[0]))
    status = findings[0][0] if findings else "ok"
    reasons = [text for _, text in findings]
    return {
        "name": name,
        "model": scanner.get("model", ""),
        "serial": scanner.get("serial", ""),
        "location": scanner.get("location", ""),
        "licence_number": licence.get("number", ""),
        "licence_authority": licence.get("authority", "NDK"),
        "licence_expires": expires.isoformat(),
        "licence_days_left": licence_left,
        "maintenance_last": last.isoformat(),
        "maintenance_due": due.isoformat(),
        "maintenance_days_left": maintenance_left,
        "status": status,
        "reasons": reasons,
    }


def compliance(scanners, today, warn_days=60):
    """Status of every scanner, worst first, then by name."""
    results = [scanner_status(scanner, today, warn_days) for scanner in scanners]
    return sorted(results, key=lambda item: (-STATUS_ORDER.index(item["status"]), item["name"]))


def summary_counts(results):
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for item in results:
        counts[item["status"]] += 1
    return counts


def report_markdown(results, today, warn_days):
    counts = summary_counts(results)
    lines = [
        f"# X-ray scanners: NDK licence and maintenance ({today.isoformat()})",
        "",
        f"Warning window: {warn_days} days. " + ", ".join(f"{status}: {counts[status]}" for status in STATUS_ORDER),
        "",
        "| Scanner | Model | Serial | Location | NDK licence | Expires | Maintenance due | Status | Reasons |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for item in results:
        cells = [
            item["name"],
            item["model"],
            item["serial"],
            item["location"],
            item["licence_number"],
            item["licence_expires"],
            item["maintenance_due"],
            item["status"],
            "; ".join(item["reasons"]) or "-",
        ]
        lines.append("| " + " | ".join(str(cell).replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


CSV_FIELDS = (
    "name",
    "model",
    "serial",
    "location",
    "licence_number",
    "licence_authority",
    "licence_expires",
    "licence_days_left",
    "maintenance_last",
    "maintenance_due",
    "maintenance_days_left",
    "status",
    "reasons",
)


def report_csv(results):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for item in results:
        writer.writerow([("; ".join(item[f]) if f == "reasons" else item[f]) for f in CSV_FIELDS])
    return out.getvalue()


# --- SNMP shaping -------------------------------------------------------------------------------

HR_STORAGE_TYPES = {
    "1.3.6.1.2.1.25.2.1.1": "other",
    "1.3.6.1.2.1.25.2.1.2": "ram",
    "1.3.6.1.2.1.25.2.1.3": "virtual_memory",
    "1.3.6.1.2.1.25.2.1.4": "fixed_disk",
    "1.3.6.1.2.1.25.2.1.5": "removable_disk",
    "1.3.6.1.2.1.25.2.1.7": "compact_disc",
}
HR_STORAGE_COLUMNS = {1: "index", 2: "type", 3: "descr", 4: "allocation_units", 5: "size", 6: "used"}


def timeticks_to_seconds(ticks):
    return int(ticks) // 100 if ticks not in (None, "") else None


def storage_rows(pairs, base="1.3.6.1.2.1.25.2.3.1"):
    """Group (oid text, value) pairs from a walk of hrStorageEntry into rows keyed by index."""
    rows = {}
    prefix = base + "."
    for oid, value in pairs:
        if not oid.startswith(prefix):
            continue
        column, _, index = oid[len(prefix) :].partition(".")
        if not index or int(column) not in HR_STORAGE_COLUMNS:
            continue
        rows.setdefault(int(index), {})[HR_STORAGE_COLUMNS[int(column)]] = value
    return rows


def shape_storage(rows):
    """hrStorage rows to [{index, descr, type, size_bytes, used_bytes, used_percent}], by index."""
    shaped = []
    for index in sorted(rows):
        row = rows[index]
        units = int(row.get("allocation_units") or 0)
        size = int(row.get("size") or 0) * units
        used = int(row.get("used") or 0) * units
        shaped.append(
            {
                "index": index,
                "descr": str(row.get("descr", "")),
                "type": HR_STORAGE_TYPES.get(str(row.get("type", "")), "other"),
                "size_bytes": size,
                "used_bytes": used,
                "used_percent": round(100.0 * used / size, 1) if size else None,
            }
        )
    return shaped


def health_summary(uptime_seconds, storage, disk_warn=85.0, disk_crit=95.0):
    """ok | warning | critical from fixed-disk usage, with one problem line per finding."""
    status, problems = "ok", []
    for item in storage:
        if item["type"] != "fixed_disk" or item["used_percent"] is None:
            continue
        label = item["descr"].split(" Label:")[0].strip() or f"storage {item['index']}"
        if item["used_percent"] >= disk_crit:
            status = "critical"
            problems.append(f"disk {label} {item['used_percent']}% used (critical at {disk_crit}%)")
        elif item["used_percent"] >= disk_warn:
            status = "warning" if status == "ok" else status
            problems.append(f"disk {label} {item['used_percent']}% used (warning at {disk_warn}%)")
    if uptime_seconds is not None and uptime_seconds < 600:
        status = "warning" if status == "ok" else status
        problems.append(f"restarted {uptime_seconds} s ago")
    return {"status": status, "problems": problems}


def shape_facts(system, hr_uptime_ticks, pairs, disk_warn=85.0, disk_crit=95.0):
    """The xray_snmp facts from the system group values, hrSystemUptime and the hrStorage walk."""
    uptime = timeticks_to_seconds(hr_uptime_ticks)
    if uptime is None:
        uptime = timeticks_to_seconds(system.get("sysUpTime"))
    storage = shape_storage(storage_rows(pairs))
    return {
        "sysdescr": str(system.get("sysDescr", "")),
        "sysobjectid": str(system.get("sysObjectID", "")),
        "syscontact": str(system.get("sysContact", "")),
        "sysname": str(system.get("sysName", "")),
        "syslocation": str(system.get("sysLocation", "")),
        "uptime_seconds": uptime,
        "storage": storage,
        "health": health_summary(uptime, storage, disk_warn, disk_crit),
    }


# --- Windows baseline (operator workstation) -------------------------------------------------------

USBSTOR_DISABLED = 4
USBSTOR_ENABLED = 3


def normalise_peer(peer):
    """A w32time NtpServer entry without its ,0x.. flags, lower-cased."""
    return str(peer).split(",")[0].strip().lower()


def desired_account_state(spec):
    state = spec.get("state", "present")
    if state not in ("present", "absent", "disabled"):
        raise ValueError(f"account {spec.get('name')}: state must be present, absent or disabled, not {state}")
    return state


def baseline_diff(current, desired):
    """Compare the workstation's state with the desired baseline.

    current: {"time": {"type", "peers"}, "accounts": [{"name", "enabled"}], "usbstor_start": int|None}
    desired: {"time_peers": list|None, "accounts": list of {name, state, password, update_password},
              "usb_storage": "enabled"|"disabled"|None}
    Returns (changed, plan, diff). The plan is what the apply step sends; it carries a password only
    for accounts being created or re-set. diff has before/after without any password.
    """
    plan = {"time": None, "accounts": [], "usbstor_start": None}
    before, after = {}, {}

    peers = desired.get("time_peers")
    if peers is not None:
        have = [normalise_peer(peer) for peer in current.get("time", {}).get("peers", [])]
        want = [normalise_peer(peer) for peer in peers]
        source = current.get("time", {}).get("type", "")
        before["time"] = {"type": source, "peers": have}
        after["time"] = {"type": "NTP", "peers": want}
        if have != want or source != "NTP":
            plan["time"] = {"peers": want}

    existing = {item["name"].lower(): item for item in current.get("accounts", [])}
    before_accounts, after_accounts = {}, {}
    for spec in desired.get("accounts") or []:
        name = spec["name"]
        state = desired_account_state(spec)
        found = existing.get(name.lower())
        was = "absent" if found is None else ("present" if found.get("enabled", True) else "disabled")
        before_accounts[name] = was
        after_accounts[name] = state
        if state == "absent":
            if found is not None:
                plan["accounts"].append({"name": found["name"], "action": "remove"})
            continue
        if found is None:
            if not spec.get("password"):
                raise ValueError(f"account {name} does not exist and has no password to create it with")
            plan["accounts"].append(
                {"name": name, "action": "create", "enabled": state == "present", "password": spec["password"]}
            )
            continue
        if was != state:
            plan["accounts"].append({"name": found["name"], "action": "enable" if state == "present" else "disable"})
        if spec.get("update_password", "on_create") == "always" and spec.get("password"):
            plan["accounts"].append({"name": found["name"], "action": "password", "password": spec["password"]})
            after_accounts[name] = f"{state} (password re-set)"
    if before_accounts:
        before["accounts"], after["accounts"] = before_accounts, after_accounts

    usb = desired.get("usb_storage")
    if usb is not None:
        if usb not in ("enabled", "disabled"):
            raise ValueError(f"usb_storage must be enabled or disabled, not {usb}")
        start = current.get("usbstor_start")
        have_usb = "disabled" if start == USBSTOR_DISABLED else "enabled"
        before["usb_storage"] = f"{have_usb} (USBSTOR Start={start})"
        want_start = USBSTOR_DISABLED if usb == "disabled" else USBSTOR_ENABLED
        after["usb_storage"] = f"{usb} (USBSTOR Start={want_start if have_usb != usb else start})"
        if have_usb != usb:
            plan["usbstor_start"] = want_start

    changed = bool(plan["time"] or plan["accounts"] or plan["usbstor_start"] is not None)
    return changed, plan, {"before": before, "after": after}


def plan_summary(plan):
    """The plan without passwords, for results and logs."""
    return {
        "time": plan["time"],
        "accounts": [{k: v for k, v in step.items() if k != "password"} for step in plan["accounts"]],
        "usbstor_start": plan["usbstor_start"],
    }


def plan_json(plan):
    """The plan as compact JSON for the apply script's here-string (cannot contain a line '@)."""
    return json.dumps(plan, separators=(",", ":"), sort_keys=True)

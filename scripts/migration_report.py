#!/usr/bin/env python3
"""The Pardus migration report (Pardus Göç Süreci, regulation 15/2e), per directorate and per site.

    scripts/migration_report.py build --inventory INVENTORY.json [--facts FACTS.json] --out DIR
                                      [--today YYYY-MM-DD] [--stamp STAMP.json]

INVENTORY.json is the output of `ansible-inventory -i INVENTORY --list`. The desktops are the hosts
of `pardus_desktops` (running Pardus) and `windows_desktops` (still on Windows, never connected).
A Windows desktop says `pardus_migration: planned` (it moves by its directorate's date) or
`exception` with `pardus_migration_reason` (it stays, e.g. software that runs only on Windows).
Every desktop is in one `dir_*` and one `site_*` group; the schedule is `pardus_migration_schedule`
(directorate group -> target date) in the inventory's group_vars/all.

FACTS.json (optional, written by playbooks/pardus-migration-report.yml) maps a host to the
`distribution` and `distribution_version` its facts reported, or to null when it could not be reached.
A Pardus desktop whose facts say otherwise is flagged.

build writes into --out (mode 0750, files 0640):
    report.json                          the numbers below, for machines
    report.tr.md, report.en.md           per directorate and per site: Pardus, Windows planned,
    report.tr.html, report.en.html       Windows exceptions, target date, percent done, behind schedule;
                                         then the machines behind schedule and the exceptions
    directorates.tr.csv, directorates.en.csv, sites.tr.csv, sites.en.csv, machines.tr.csv, machines.en.csv
Percent done is Pardus / (Pardus + Windows planned): an exception is outside the plan and listed apart.
A Windows desktop is behind schedule when its directorate's target date has passed (--today).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reportfiles import csv_text, write_files  # noqa: E402 - scripts/ is not a package

LANGS = ("tr", "en")
GROUP_COLUMNS = ("name", "pardus", "planned", "exception", "total", "target", "percent", "behind")
MACHINE_COLUMNS = ("host", "directorate", "site", "os", "migration", "target", "behind", "seen", "note")

LABELS = {
    "tr": {
        "title": "Pardus göç raporu",
        "as_of": "Tarih",
        "stamp": "Kaynak",
        "by_directorate": "Müdürlüklere göre",
        "by_site": "Yerleşkelere göre",
        "behind_title": "Takvimin gerisindeki makineler",
        "exceptions_title": "İstisnalar (Windows'ta kalacak makineler)",
        "flagged_title": "Envanterle uyuşmayan makineler",
        "none": "Yok.",
        "summary": "{total} masaüstü: {pardus} Pardus, {planned} Windows (göç planlı), {exception} Windows (istisna);"
        " plana göre %{percent} tamam, {behind} makine takvimin gerisinde.",
        "columns": {
            "name": "Birim",
            "pardus": "Pardus",
            "planned": "Windows (planlı)",
            "exception": "Windows (istisna)",
            "total": "Toplam",
            "target": "Hedef tarih",
            "percent": "Tamamlanan (%)",
            "behind": "Geride",
            "host": "Makine",
            "directorate": "Müdürlük",
            "site": "Yerleşke",
            "os": "İşletim sistemi",
            "migration": "Göç",
            "seen": "Olgu",
            "note": "Not",
        },
        "values": {
            "pardus": "Pardus",
            "windows": "Windows",
            "planned": "planlı",
            "exception": "istisna",
            "done": "tamam",
            "yes": "evet",
            "no": "hayır",
            "unreachable": "ulaşılamadı",
            "not_gathered": "toplanmadı",
        },
    },
    "en": {
        "title": "Pardus migration report",
        "as_of": "As of",
        "stamp": "Source",
        "by_directorate": "By directorate",
        "by_site": "By site",
        "behind_title": "Machines behind schedule",
        "exceptions_title": "Exceptions (machines that stay on Windows)",
        "flagged_title": "Machines that disagree with the inventory",
        "none": "None.",
        "summary": "{total} desktops: {pardus} Pardus, {planned} Windows (migration planned), {exception} Windows"
        " (exception); {percent}% of the plan done, {behind} machines behind schedule.",
        "columns": {
            "name": "Unit",
            "pardus": "Pardus",
            "planned": "Windows (planned)",
            "exception": "Windows (exception)",
            "total": "Total",
            "target": "Target date",
            "percent": "Done (%)",
            "behind": "Behind",
            "host": "Machine",
            "directorate": "Directorate",
            "site": "Site",
            "os": "Operating system",
            "migration": "Migration",
            "seen": "Facts",
            "note": "Note",
        },
        "values": {
            "pardus": "Pardus",
            "windows": "Windows",
            "planned": "planned",
            "exception": "exception",
            "done": "done",
            "yes": "yes",
            "no": "no",
            "unreachable": "unreachable",
            "not_gathered": "not gathered",
        },
    },
}


class ReportError(Exception):
    """Inventory data the report cannot use; the message names the host or group."""


def _groups_of(inventory: dict) -> dict[str, set[str]]:
    """Group name -> every host in it, children included (ansible-inventory --list's shape)."""
    memo: dict[str, set[str]] = {}

    def hosts(group: str, seen: frozenset = frozenset()) -> set[str]:
        if group in memo:
            return memo[group]
        if group in seen:
            return set()
        entry = inventory.get(group) or {}
        found = set(entry.get("hosts") or [])
        for child in entry.get("children") or []:
            found |= hosts(child, seen | {group})
        memo[group] = found
        return found

    for name in inventory:
        if name != "_meta":
            hosts(name)
    return memo


def desktops_from_inventory(inventory: dict, facts: dict | None = None) -> tuple[dict, dict]:
    """(schedule, machines) from ansible-inventory --list output and optional facts."""
    groups = _groups_of(inventory)
    hostvars = (inventory.get("_meta") or {}).get("hostvars") or {}
    pardus, windows = groups.get("pardus_desktops", set()), groups.get("windows_desktops", set())
    both = pardus & windows
    if both:
        raise ReportError(f"in both pardus_desktops and windows_desktops: {', '.join(sorted(both))}")
    schedule = {}
    machines = {}
    for host in sorted(pardus | windows):
        hv = hostvars.get(host) or {}
        schedule = schedule or hv.get("pardus_migration_schedule") or {}
        dirs = sorted(g for g, members in groups.items() if g.startswith("dir_") and host in members)
        sites = sorted(g for g, members in groups.items() if g.startswith("site_") and host in members)
        if len(dirs) != 1 or len(sites) != 1:
            raise ReportError(f"{host}: must be in exactly one dir_* and one site_* group (dir: {dirs}, site: {sites})")
        migration = "done" if host in pardus else str(hv.get("pardus_migration") or "")
        if host in windows and migration not in ("planned", "exception"):
            raise ReportError(f"{host}: pardus_migration must be planned or exception, not {migration!r}")
        machines[host] = {
            "directorate": dirs[0],
            "site": sites[0],
            "os": "pardus" if host in pardus else "windows",
            "migration": migration,
            "reason": str(hv.get("pardus_migration_reason") or ""),
            "seen": (facts or {}).get(host, "not_gathered") if facts is not None else "not_gathered",
        }
    for directorate in {m["directorate"] for m in machines.values()}:
        if directorate not in schedule:
            raise ReportError(f"pardus_migration_schedule has no target date for {directorate}")
    return schedule, machines


def _date(value, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ReportError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def _note(machine: dict) -> str:
    seen = machine["seen"]
    if machine["os"] == "pardus" and isinstance(seen, dict) and seen.get("distribution") != "Pardus":
        return f"facts say {seen.get('distribution')} {seen.get('distribution_version', '')}".strip()
    return machine["reason"]


def build_report(schedule: dict, machines: dict, today: dt.date) -> dict:
    """The report's numbers: rows per directorate and per site, and one row per machine."""
    rows = []
    for host, m in sorted(machines.items()):
        target = _date(schedule[m["directorate"]], f"pardus_migration_schedule.{m['directorate']}")
        behind = m["migration"] == "planned" and target < today
        seen = m["seen"]
        if isinstance(seen, dict):
            seen = f"{seen.get('distribution', '')} {seen.get('distribution_version', '')}".strip()
        elif seen is None:
            seen = "unreachable"
        rows.append({
            "host": host, "directorate": m["directorate"], "site": m["site"], "os": m["os"],
            "migration": m["migration"], "target": target.isoformat(), "behind": behind, "seen": seen,
            "note": _note(m),
        })  # fmt: skip

    def grouped(key: str) -> list[dict]:
        out = []
        for name in sorted({r[key] for r in rows}):
            mine = [r for r in rows if r[key] == name]
            pardus = sum(r["os"] == "pardus" for r in mine)
            planned = sum(r["migration"] == "planned" for r in mine)
            out.append({
                "name": name,
                "pardus": pardus,
                "planned": planned,
                "exception": sum(r["migration"] == "exception" for r in mine),
                "total": len(mine),
                "target": max(r["target"] for r in mine),
                "percent": round(100 * pardus / (pardus + planned), 1) if pardus + planned else 100.0,
                "behind": sum(r["behind"] for r in mine),
            })  # fmt: skip
        return out

    pardus = sum(r["os"] == "pardus" for r in rows)
    planned = sum(r["migration"] == "planned" for r in rows)
    return {
        "as_of": today.isoformat(),
        "totals": {
            "total": len(rows),
            "pardus": pardus,
            "planned": planned,
            "exception": sum(r["migration"] == "exception" for r in rows),
            "percent": round(100 * pardus / (pardus + planned), 1) if pardus + planned else 100.0,
            "behind": sum(r["behind"] for r in rows),
        },
        "directorates": grouped("directorate"),
        "sites": grouped("site"),
        "machines": rows,
    }


def _value(value, column: str, lang: str) -> str:
    words = LABELS[lang]["values"]
    if isinstance(value, bool):
        return words["yes" if value else "no"]
    if column in ("os", "migration", "seen") and value in words:
        return words[value]
    return str(value)


def _table(rows: list[dict], columns: tuple, lang: str) -> tuple[list[str], list[list[str]]]:
    header = [LABELS[lang]["columns"][c] for c in columns]
    return header, [[_value(r[c], c, lang) for c in columns] for r in rows]


def render_md(report: dict, stamp: str, lang: str) -> str:
    labels = LABELS[lang]
    lines = [f"# {labels['title']}", "", f"- {labels['as_of']}: {report['as_of']}", f"- {labels['stamp']}: {stamp}", ""]
    lines += [labels["summary"].format(**report["totals"]), ""]

    def table(rows, columns):
        header, body = _table(rows, columns, lang)
        cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]
        return out + [""]

    lines += [f"## {labels['by_directorate']}", ""] + table(report["directorates"], GROUP_COLUMNS)
    lines += [f"## {labels['by_site']}", ""] + table(report["sites"], GROUP_COLUMNS)
    for title, rows in _lists(report):
        lines += [f"## {labels[title]}", ""]
        lines += table(rows, MACHINE_COLUMNS) if rows else [labels["none"], ""]
    return "\n".join(lines)


def _lists(report: dict) -> list[tuple[str, list[dict]]]:
    machines = report["machines"]
    return [
        ("behind_title", [m for m in machines if m["behind"]]),
        ("exceptions_title", [m for m in machines if m["migration"] == "exception"]),
        ("flagged_title", [m for m in machines if m["os"] == "pardus" and m["note"]]),
    ]


def render_html(report: dict, stamp: str, lang: str) -> str:
    labels = LABELS[lang]
    esc = html.escape

    def table(rows, columns):
        header, body = _table(rows, columns, lang)
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        cells = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in body)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"

    parts = [
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{esc(labels["title"])}</title>',
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;"
        "padding:2px 6px}</style></head><body>",
        f"<h1>{esc(labels['title'])}</h1>",
        f"<p>{esc(labels['as_of'])}: {esc(report['as_of'])}<br>{esc(labels['stamp'])}: {esc(stamp)}</p>",
        f"<p>{esc(labels['summary'].format(**report['totals']))}</p>",
        f"<h2>{esc(labels['by_directorate'])}</h2>{table(report['directorates'], GROUP_COLUMNS)}",
        f"<h2>{esc(labels['by_site'])}</h2>{table(report['sites'], GROUP_COLUMNS)}",
    ]
    for title, rows in _lists(report):
        body = table(rows, MACHINE_COLUMNS) if rows else f"<p>{esc(labels['none'])}</p>"
        parts.append(f"<h2>{esc(labels[title])}</h2>{body}")
    return "\n".join(parts) + "\n</body></html>\n"


def render_csv(rows: list[dict], columns: tuple, lang: str) -> str:
    return csv_text(*_table(rows, columns, lang))


def write_report(report: dict, stamp: str, out: Path) -> list[Path]:
    files = {"report.json": json.dumps({**report, "stamp": stamp}, indent=2, ensure_ascii=False) + "\n"}
    for lang in LANGS:
        files[f"report.{lang}.md"] = render_md(report, stamp, lang)
        files[f"report.{lang}.html"] = render_html(report, stamp, lang)
        files[f"directorates.{lang}.csv"] = render_csv(report["directorates"], GROUP_COLUMNS, lang)
        files[f"sites.{lang}.csv"] = render_csv(report["sites"], GROUP_COLUMNS, lang)
        files[f"machines.{lang}.csv"] = render_csv(report["machines"], MACHINE_COLUMNS, lang)
    return write_files(out, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write the report")
    build.add_argument("--inventory", type=Path, required=True, help="ansible-inventory --list output")
    build.add_argument("--facts", type=Path, help="host -> {distribution, distribution_version} or null")
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--today", help="the report's date, YYYY-MM-DD (default: today)")
    build.add_argument("--stamp", default="", help="where the data came from (commit, inventory)")
    args = parser.parse_args(argv)
    try:
        inventory = json.loads(args.inventory.read_text(encoding="utf-8"))
        facts = json.loads(args.facts.read_text(encoding="utf-8")) if args.facts else None
        today = _date(args.today, "--today") if args.today else dt.date.today()
        schedule, machines = desktops_from_inventory(inventory, facts)
        report = build_report(schedule, machines, today)
    except (OSError, ValueError, ReportError) as exc:
        print(f"migration_report: {exc}", file=sys.stderr)
        return 2
    for path in write_report(report, args.stamp, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

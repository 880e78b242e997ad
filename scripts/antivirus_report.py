#!/usr/bin/env python3
"""Turn the antivirus status files of the Linux hosts into one report, in Turkish and English.

    scripts/antivirus_report.py build --inventory INVENTORY.json --status-dir DIR --out DIR

INVENTORY.json is written by playbooks/antivirus-report.yml:
    {"stamp": {"commit", "dirty", "date", "generated", "inventory", "playbook"},
     "hosts": {"<host>": {"collected": true|false, "problem": "...", "max_signature_age_hours": 48}}}
and DIR/<host>.json is the status file each host's /usr/local/lib/belediye/antivirus-status wrote
(/var/lib/belediye/antivirus/status.json).

build writes into --out:
    report.json                          the rows below, for machines
    report.tr.md, report.en.md           per host: signature age (flagged when older than the
                                         host's antivirus_max_signature_age_hours), clamd and
                                         freshclam, the last scan; then every detection
    hosts.tr.csv, hosts.en.csv           the host rows
    detections.tr.csv, detections.en.csv the detections
Detections name files, and paths can name people (KVKK personal data): every file is written mode
0640 in a directory of mode 0750.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reportfiles import csv_text, write_files  # noqa: E402 - scripts/ is not a package

LANGS = ("tr", "en")
HOST_COLUMNS = (
    "host",
    "state",
    "signature_age_hours",
    "max_age_hours",
    "newest_database",
    "database_version",
    "clamd",
    "freshclam",
    "last_scan_end",
    "last_scan_result",
    "files_scanned",
    "detections",
    "quarantine_files",
)
DETECTION_COLUMNS = ("host", "time", "signature", "path", "quarantine")

LABELS = {
    "tr": {
        "title": "Antivirüs durum raporu",
        "commit": "Commit",
        "dirty": "kaydedilmemiş değişiklikler var",
        "clean": "temiz",
        "date": "Rapor tarihi",
        "generated": "Üretim zamanı",
        "inventory": "Envanter",
        "playbook": "Playbook",
        "hosts": "Makineler",
        "detections_title": "Tespitler",
        "no_detections": "Tespit yok.",
        "personal_data": "Bu rapor dosya yolları içerir; yollar kişi adı taşıyabilir (KVKK kişisel verisi).",
        "summary": "{hosts} makine: {ok} sorunsuz, {stale} eski imza, {problem} sorunlu, {missing} veri yok;"
        " {detections} tespit.",
        "columns": {
            "host": "Makine",
            "state": "Durum",
            "signature_age_hours": "İmza yaşı (saat)",
            "max_age_hours": "Azami yaş (saat)",
            "newest_database": "En yeni veritabanı",
            "database_version": "Sürüm",
            "clamd": "clamd",
            "freshclam": "freshclam",
            "last_scan_end": "Son tarama bitişi",
            "last_scan_result": "Son tarama sonucu",
            "files_scanned": "Taranan dosya",
            "detections": "Tespit",
            "quarantine_files": "Karantinadaki dosya",
            "time": "Zaman",
            "signature": "İmza",
            "path": "Dosya yolu",
            "quarantine": "Karantina yolu",
        },
        "states": {
            "ok": "sorunsuz",
            "stale": "ESKİ İMZA",
            "no_signatures": "İMZA YOK",
            "clamd_down": "CLAMD ÇALIŞMIYOR",
            "not_collected": "VERİ YOK",
            "detections": "TESPİT VAR",
        },
        "results": {
            "clean": "temiz",
            "infected": "virüslü dosya bulundu",
            "error": "hata",
            "nothing to scan": "taranacak yol yok",
            "never": "hiç taranmadı",
        },
        "units": {"active": "çalışıyor", "inactive": "durmuş", "failed": "hatalı", "unknown": "bilinmiyor"},
    },
    "en": {
        "title": "Antivirus status report",
        "commit": "Commit",
        "dirty": "uncommitted changes",
        "clean": "clean",
        "date": "Report date",
        "generated": "Generated",
        "inventory": "Inventory",
        "playbook": "Playbook",
        "hosts": "Hosts",
        "detections_title": "Detections",
        "no_detections": "No detections.",
        "personal_data": "This report holds file paths, which can name people (KVKK personal data).",
        "summary": "{hosts} hosts: {ok} fine, {stale} stale signatures, {problem} with problems, {missing} without"
        " data; {detections} detections.",
        "columns": {
            "host": "Host",
            "state": "State",
            "signature_age_hours": "Signature age (hours)",
            "max_age_hours": "Maximum age (hours)",
            "newest_database": "Newest database",
            "database_version": "Version",
            "clamd": "clamd",
            "freshclam": "freshclam",
            "last_scan_end": "Last scan end",
            "last_scan_result": "Last scan result",
            "files_scanned": "Files scanned",
            "detections": "Detections",
            "quarantine_files": "Files in quarantine",
            "time": "Time",
            "signature": "Signature",
            "path": "Path",
            "quarantine": "Quarantine path",
        },
        "states": {
            "ok": "fine",
            "stale": "STALE SIGNATURES",
            "no_signatures": "NO SIGNATURES",
            "clamd_down": "CLAMD NOT RUNNING",
            "not_collected": "NO DATA",
            "detections": "DETECTIONS",
        },
        "results": {
            "clean": "clean",
            "infected": "infected files found",
            "error": "error",
            "nothing to scan": "no path to scan",
            "never": "never scanned",
        },
        "units": {"active": "running", "inactive": "stopped", "failed": "failed", "unknown": "unknown"},
    },
}
DEFAULT_MAX_AGE = 48


class ReportError(Exception):
    """The report cannot be built; the message says why."""


def read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"{what} {path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{what} {path}: not valid JSON: {exc}") from None


def host_state(entry: dict, status: dict | None) -> tuple[str, dict]:
    """The host's overall state and its row values (language-neutral)."""
    max_age = int(entry.get("max_signature_age_hours") or DEFAULT_MAX_AGE)
    row: dict = dict.fromkeys(HOST_COLUMNS, "")
    row["max_age_hours"] = max_age
    if not entry.get("collected") or not isinstance(status, dict):
        return "not_collected", row
    sig = status.get("signatures") or {}
    age = sig.get("age_hours")
    dbs = {d.get("file"): d for d in status.get("databases") or [] if isinstance(d, dict)}
    newest = sig.get("newest_database") or ""
    row["signature_age_hours"] = age if age is not None else ""
    row["newest_database"] = newest
    version = (dbs.get(newest) or {}).get("version")
    row["database_version"] = version if version is not None else ""
    row["clamd"] = (status.get("clamd") or {}).get("active", "unknown")
    row["freshclam"] = (status.get("freshclam") or {}).get("active", "unknown")
    last = (status.get("scan") or {}).get("last") or {}
    row["last_scan_end"] = last.get("end", "")
    row["last_scan_result"] = last.get("result", "never")
    row["files_scanned"] = last.get("files_scanned", "")
    row["detections"] = len(status.get("detections") or [])
    row["quarantine_files"] = (status.get("quarantine") or {}).get("files") or 0
    clamd = status.get("clamd") or {}
    if age is None:
        state = "no_signatures"
    elif float(age) > max_age:
        state = "stale"
    elif clamd.get("active") != "active" or clamd.get("ping") is False:
        state = "clamd_down"
    elif row["detections"]:
        state = "detections"
    else:
        state = "ok"
    return state, row


def build_report(inventory: dict, status_dir: Path) -> dict:
    """Host rows and detection rows, sorted by host (and detections by time)."""
    if not isinstance(inventory, dict) or not isinstance(inventory.get("hosts"), dict):
        raise ReportError("the inventory file needs a 'hosts' mapping")
    hosts, detections = [], []
    for host in sorted(inventory["hosts"]):
        entry = inventory["hosts"][host] or {}
        status = None
        if entry.get("collected"):
            path = status_dir / f"{host}.json"
            status = read_json(path, f"status of {host}") if path.exists() else None
        state, row = host_state(entry, status)
        row["host"] = host
        row["state"] = state
        if entry.get("problem"):
            row["problem"] = entry["problem"]
        hosts.append(row)
        for det in (status or {}).get("detections") or []:
            if isinstance(det, dict):
                detections.append(
                    {
                        "host": host,
                        "time": det.get("time", ""),
                        "signature": det.get("signature", ""),
                        "path": det.get("path", ""),
                        "quarantine": det.get("quarantine") or "",
                    }
                )
    detections.sort(key=lambda d: (d["host"], d["time"], d["path"]))
    counts = {state: sum(1 for r in hosts if r["state"] == state) for state in LABELS["en"]["states"]}
    return {"stamp": inventory.get("stamp") or {}, "hosts": hosts, "detections": detections, "counts": counts}


def md_cell(value) -> str:
    """A value on one line of a Markdown table: separators escaped, HTML neutralised."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def localise(row: dict, lang: str) -> list[str]:
    labels = LABELS[lang]
    out = []
    for col in HOST_COLUMNS:
        value = row.get(col, "")
        if col == "state":
            value = labels["states"].get(value, value)
        elif col == "last_scan_result":
            value = labels["results"].get(value, value)
        elif col in ("clamd", "freshclam"):
            value = labels["units"].get(value, value)
        out.append("" if value is None else str(value))
    return out


def render_md(report: dict, lang: str) -> str:
    labels = LABELS[lang]
    cols = labels["columns"]
    stamp = report["stamp"]
    counts = report["counts"]
    problem = sum(counts[s] for s in ("no_signatures", "clamd_down", "detections"))
    lines = [
        f"# {labels['title']}",
        "",
        "| | |",
        "|---|---|",
        f"| {labels['commit']} | `{md_cell(stamp.get('commit', ''))}` "
        f"({labels['dirty'] if stamp.get('dirty') else labels['clean']}) |",
        f"| {labels['date']} | {md_cell(stamp.get('date', ''))} |",
        f"| {labels['generated']} | {md_cell(stamp.get('generated', ''))} |",
        f"| {labels['inventory']} | {md_cell(stamp.get('inventory', ''))} |",
        f"| {labels['playbook']} | {md_cell(stamp.get('playbook', ''))} |",
        "",
        labels["summary"].format(
            hosts=len(report["hosts"]),
            ok=counts["ok"],
            stale=counts["stale"],
            problem=problem,
            missing=counts["not_collected"],
            detections=len(report["detections"]),
        ),
        "",
        f"_{labels['personal_data']}_",
        "",
        f"## {labels['hosts']}",
        "",
        "| " + " | ".join(cols[c] for c in HOST_COLUMNS) + " |",
        "|" + "---|" * len(HOST_COLUMNS),
    ]
    for row in report["hosts"]:
        cells = [md_cell(v) for v in localise(row, lang)]
        if row["state"] != "ok":
            cells[1] = f"**{cells[1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"## {labels['detections_title']}", ""]
    if report["detections"]:
        lines.append("| " + " | ".join(cols[c] for c in DETECTION_COLUMNS) + " |")
        lines.append("|" + "---|" * len(DETECTION_COLUMNS))
        for det in report["detections"]:
            lines.append("| " + " | ".join(md_cell(det[c]) for c in DETECTION_COLUMNS) + " |")
    else:
        lines.append(labels["no_detections"])
    return "\n".join(lines) + "\n"


def render_csv(rows: list[list[str]], header: list[str]) -> str:
    return csv_text(header, rows)


def write_report(report: dict, out: Path) -> list[Path]:
    files = {"report.json": json.dumps(report, ensure_ascii=False, indent=2) + "\n"}
    for lang in LANGS:
        cols = LABELS[lang]["columns"]
        files[f"report.{lang}.md"] = render_md(report, lang)
        files[f"hosts.{lang}.csv"] = render_csv(
            [localise(r, lang) for r in report["hosts"]], [cols[c] for c in HOST_COLUMNS]
        )
        files[f"detections.{lang}.csv"] = render_csv(
            [[str(d[c]) for c in DETECTION_COLUMNS] for d in report["detections"]],
            [cols[c] for c in DETECTION_COLUMNS],
        )
    return write_files(out, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write the report from the collected status files")
    build.add_argument("--inventory", type=Path, required=True, help="hosts and stamp (JSON)")
    build.add_argument("--status-dir", type=Path, required=True, help="directory of <host>.json status files")
    build.add_argument("--out", type=Path, required=True, help="directory to write the report into")
    args = parser.parse_args(argv)
    try:
        report = build_report(read_json(args.inventory, "inventory file"), args.status_dir)
        written = write_report(report, args.out)
    except ReportError as exc:
        print(f"antivirus_report: {exc}", file=sys.stderr)
        return 1
    c = report["counts"]
    print(
        f"antivirus_report: wrote {len(written)} files to {args.out}: {len(report['hosts'])} hosts, "
        f"{c['stale']} stale, {c['not_collected']} without data, {len(report['detections'])} detections"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
